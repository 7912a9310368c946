package metrics

import (
	nethttp "net/http"
	"sync/atomic"

	"github.com/lateenmesh/lateen/internal/proxy/cluster"
	proxyhttp "github.com/lateenmesh/lateen/internal/proxy/http"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/tcp"
	"github.com/lateenmesh/lateen/internal/proxy/telemetry/attrs"
	"github.com/lateenmesh/lateen/internal/proxy/telemetry/peer"
)

// Stats is the istio.stats filter of one proxy: the registry of Istio's
// standard metrics and the observers that fill it.
type Stats struct {
	reg  *Registry
	node *peer.Workload
	fams map[string]*Family
}

// New returns the stats of the proxy running for node.
func New(node *peer.Workload) *Stats {
	s := &Stats{reg: NewRegistry(), node: node, fams: map[string]*Family{}}
	for i, f := range []struct {
		name    string
		kind    Kind
		buckets []float64
	}{
		{RequestsTotal, Counter, nil}, {RequestDuration, Histogram, DurationBuckets},
		{RequestBytes, Histogram, SizeBuckets}, {ResponseBytes, Histogram, SizeBuckets},
		{TCPConnectionsOpened, Counter, nil}, {TCPConnectionsClosed, Counter, nil},
		{TCPSentBytes, Counter, nil}, {TCPReceivedBytes, Counter, nil},
	} {
		fam := s.reg.Family("istio_"+f.name, f.kind, f.buckets)
		fam.idx = i
		s.fams[f.name] = fam
	}
	return s
}

// Registry returns the registry holding the istio_* metrics.
func (s *Stats) Registry() *Registry { return s.reg }

// Register adds the istio.stats filter to the proxy's registries: the
// HTTP filter (its observer does the work) and the TCP network filter.
func (s *Stats) Register(hf *proxyhttp.Filters, tf *tcp.Filters) {
	hf.Register(resource.StatsTypeURL, func(any, proxyhttp.BuildContext) (proxyhttp.Filter, error) {
		return func(next nethttp.Handler) nethttp.Handler { return next }, nil
	})
	hf.RegisterObserver("istio.stats", s.httpObserver)
	tf.Register(resource.StatsTypeURL, func(cfg any, bc tcp.BuildContext) (tcp.Filter, error) {
		c, err := Compile(cfg.(*resource.StatsConfig))
		if err != nil {
			return tcp.Filter{}, err
		}
		return tcp.Filter{Observer: &tcpObserver{s: s, cfg: c, server: bc.Direction == "INBOUND",
			clusters: bc.Clusters, direction: bc.Direction}}, nil
	})
}

// labelSet is a request's or connection's standard labels, with their
// series key computed once for every metric they are recorded under, and
// the series found for each metric (label sets are cached per observer,
// so a request finds its series without building a key).
type labelSet struct {
	labels []Label
	key    string
	series [numFamilies]atomic.Pointer[Series]
}

// numFamilies is the number of Istio's standard metrics (New).
const numFamilies = 8

// seriesOf returns the labels' series in f.
func (ls *labelSet) seriesOf(f *Family) *Series {
	if s := ls.series[f.idx].Load(); s != nil {
		return s
	}
	s := f.withKey(ls.key, ls.labels)
	ls.series[f.idx].Store(s)
	return s
}

func newLabelSet(labels []Label) *labelSet { return &labelSet{labels: labels, key: seriesKey(labels)} }

// record adds one observation of metric (value for histograms, amount
// for counters) under labels, with the overrides applied.
func (s *Stats) record(o *overrides, metric string, ls *labelSet, values []string, v float64) {
	if o.dropped(metric) {
		return
	}
	f := s.fams[metric]
	var ser *Series
	if o != nil && o.metrics[metric] != nil {
		ser = f.With(o.apply(metric, ls.labels, values))
	} else {
		ser = ls.seriesOf(f)
	}
	if f.kind == Histogram {
		f.Observe(ser, v)
		return
	}
	ser.Add(uint64(v))
}

// evaluate computes the override expressions over the bag fill returns
// (only when there are any).
func evaluate(o *overrides, fill func(*attrs.Bag)) []string {
	if o == nil || len(o.exprs) == 0 {
		return nil
	}
	var bag attrs.Bag
	fill(&bag)
	values := make([]string, len(o.exprs))
	for i, e := range o.exprs {
		v, ok := e.Text(&bag)
		if !ok {
			v = unknown
		}
		values[i] = v
	}
	return values
}

// endpointPeer is the client side's fallback when metadata exchange told
// nothing: the workload name in the endpoint's metadata.
func endpointPeer(cl *cluster.Cluster, host string) *peer.Workload {
	if cl == nil || host == "" {
		return nil
	}
	for _, ep := range cl.Endpoints {
		if ep.Address == host && ep.Workload != "" {
			return peer.New(peer.Workload{Workload: ep.Workload})
		}
	}
	return nil
}
