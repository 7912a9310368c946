package metrics

import (
	"fmt"
	nethttp "net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/cluster"
	proxyhttp "github.com/lateenmesh/lateen/internal/proxy/http"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/telemetry/attrs"
	"github.com/lateenmesh/lateen/internal/proxy/telemetry/peer"
)

// httpObserver reports Istio's HTTP metrics for one connection manager.
// Standard label sets are cached by what determines them (a connection
// manager, hence its clusters, is fixed for the observer's life).
type httpObserver struct {
	s         *Stats
	cfg       *Config
	server    bool
	clusters  *cluster.Set
	direction string
	labels    boundedCache[httpKey, *labelSet]
	endpoints boundedCache[endpointKey, *peer.Workload]
}

// httpKey is what a request's standard labels depend on.
type httpKey struct {
	peer                      *peer.Workload
	authority, route, cluster string
	peerSAN, localSAN         string
	grpc                      bool
	code                      int
	grpcStatus                string
	flags                     proxyhttp.ResponseFlag
}

type endpointKey struct{ cluster, host string }

// maxCachedLabelSets bounds an observer's label set cache (authorities are
// client-chosen); past it label sets are computed per request.
const maxCachedLabelSets = 4096

// httpObserver builds the observer of a connection manager whose filter
// chain has istio.stats (nil otherwise).
func (s *Stats) httpObserver(cfg *resource.HTTPConnectionManager, bc proxyhttp.BuildContext) (proxyhttp.Observer, error) {
	for _, f := range cfg.Filters {
		if f.TypeURL != resource.StatsTypeURL {
			continue
		}
		c, err := Compile(f.Config.(*resource.StatsConfig))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		return &httpObserver{s: s, cfg: c, server: bc.Direction == "INBOUND", clusters: bc.Clusters,
			direction: bc.Direction}, nil
	}
	return nil, nil
}

func (o *httpObserver) Begin(r *nethttp.Request, info *proxyhttp.Info) func() {
	return func() { o.record(r, info) }
}

func (o *httpObserver) record(r *nethttp.Request, info *proxyhttp.Info) {
	labels := o.labelSet(info)
	ov := o.cfg.overrides
	values := evaluate(ov, func(b *attrs.Bag) { attrs.FromHTTP(b, r, info, o.s.node, o.direction) })
	o.s.record(ov, RequestsTotal, labels, values, 1)
	o.s.record(ov, RequestDuration, labels, values, float64(info.Duration/time.Millisecond))
	req := attrs.Request{Method: r.Method, Path: r.URL.RequestURI(), Protocol: r.Proto, Headers: r.Header, Size: info.BytesReceived}
	resp := attrs.Response{Code: info.ResponseCode, Headers: info.ResponseHeader, Size: info.BytesSent}
	o.s.record(ov, RequestBytes, labels, values, float64(req.TotalSize()))
	o.s.record(ov, ResponseBytes, labels, values, float64(resp.TotalSize()))
}

// labelSet returns the request's standard labels, cached.
func (o *httpObserver) labelSet(info *proxyhttp.Info) *labelSet {
	sd := side{server: o.server, node: o.s.node}
	if o.server {
		sd.peer = info.DownstreamWorkload
	} else if sd.peer = info.UpstreamWorkload; sd.peer == nil {
		sd.peer = o.endpointPeer(info.Cluster, info.UpstreamHost)
	}
	if o.server {
		sd.tls(info.Peer)
	} else {
		sd.tls(info.UpstreamPeer)
	}
	grpcStatus := ""
	if info.GRPC {
		resp := attrs.Response{Headers: info.ResponseHeader}
		if st, ok := resp.GRPCStatus(); ok {
			grpcStatus = strconv.Itoa(st)
		}
	}
	key := httpKey{peer: sd.peer, authority: info.Authority, route: info.RouteName, cluster: info.Cluster,
		peerSAN: sd.peerSAN, localSAN: sd.localSAN, grpc: info.GRPC, code: info.ResponseCode,
		grpcStatus: grpcStatus, flags: info.Flags}
	if ls, ok := o.labels.get(key); ok {
		return ls
	}
	sd.service(info.Authority, info.RouteName, info.Cluster, o.clusters.Get(info.Cluster), o.cfg.DisableHostHeaderFallback)
	ls := newLabelSet(sd.httpLabels(info.GRPC, info.ResponseCode, grpcStatus, info.Flags.String()))
	return o.labels.put(key, ls)
}

// endpointPeer is endpointPeer, cached.
func (o *httpObserver) endpointPeer(clusterName, host string) *peer.Workload {
	if clusterName == "" || host == "" {
		return nil
	}
	key := endpointKey{clusterName, host}
	if w, ok := o.endpoints.get(key); ok {
		return w
	}
	return o.endpoints.put(key, endpointPeer(o.clusters.Get(clusterName), host))
}

// boundedCache is a concurrent map that stops growing at
// maxCachedLabelSets entries (lookups of new keys then miss).
type boundedCache[K comparable, V any] struct {
	m sync.Map
	n atomic.Int64
}

func (c *boundedCache[K, V]) get(k K) (V, bool) {
	v, ok := c.m.Load(k)
	if !ok {
		var zero V
		return zero, false
	}
	return v.(V), true
}

// put stores v unless the cache is full, and returns the cached value.
func (c *boundedCache[K, V]) put(k K, v V) V {
	if c.n.Load() >= maxCachedLabelSets {
		return v
	}
	actual, loaded := c.m.LoadOrStore(k, v)
	if !loaded {
		c.n.Add(1)
	}
	return actual.(V)
}
