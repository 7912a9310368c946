package metrics

import (
	"fmt"
	nethttp "net/http"
	"strconv"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/cluster"
	proxyhttp "github.com/lateenmesh/lateen/internal/proxy/http"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/telemetry/attrs"
)

// httpObserver reports Istio's HTTP metrics for one connection manager.
type httpObserver struct {
	s         *Stats
	cfg       *Config
	server    bool
	clusters  *cluster.Set
	direction string
}

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
	sd := side{server: o.server, node: o.s.node}
	cl := o.clusters.Get(info.Cluster)
	if o.server {
		sd.peer = info.DownstreamWorkload
	} else if sd.peer = info.UpstreamWorkload; sd.peer == nil {
		sd.peer = endpointPeer(cl, info.UpstreamHost)
	}
	sd.service(info.Authority, info.RouteName, info.Cluster, cl, o.cfg.DisableHostHeaderFallback)
	sd.tls(info.Peer)
	grpcStatus := ""
	if info.GRPC {
		resp := attrs.Response{Headers: info.ResponseHeader}
		if st, ok := resp.GRPCStatus(); ok {
			grpcStatus = strconv.Itoa(st)
		}
	}
	labels := newLabelSet(sd.httpLabels(info.GRPC, info.ResponseCode, grpcStatus, info.Flags.String()))
	ov := o.cfg.overrides
	values := evaluate(ov, func(b *attrs.Bag) { attrs.FromHTTP(b, r, info, o.s.node, o.direction) })
	o.s.record(ov, RequestsTotal, labels, values, 1)
	o.s.record(ov, RequestDuration, labels, values, float64(info.Duration/time.Millisecond))
	req := attrs.Request{Method: r.Method, Path: r.URL.RequestURI(), Protocol: r.Proto, Headers: r.Header, Size: info.BytesReceived}
	resp := attrs.Response{Code: info.ResponseCode, Headers: info.ResponseHeader, Size: info.BytesSent}
	o.s.record(ov, RequestBytes, labels, values, float64(req.TotalSize()))
	o.s.record(ov, ResponseBytes, labels, values, float64(resp.TotalSize()))
}
