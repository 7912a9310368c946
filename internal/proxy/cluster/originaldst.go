package cluster

import (
	"net"

	"github.com/lateenmesh/lateen/internal/proxy/lb"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// originalDst is the CLUSTER_PROVIDED picker of ORIGINAL_DST clusters: the
// upstream is the connection's original destination or, with
// use_http_header, the request's authority (port 80 when absent).
type originalDst struct{ useHeader bool }

var _ lb.Picker = originalDst{}

func (o originalDst) Pick(req *lb.Request) (resource.Endpoint, bool) {
	if req == nil {
		return resource.Endpoint{}, false
	}
	addr := req.OriginalDst
	if o.useHeader && req.HTTP != nil && req.HTTP.Host != "" {
		addr = req.HTTP.Host
		if _, _, err := net.SplitHostPort(addr); err != nil {
			addr = net.JoinHostPort(addr, "80")
		}
	}
	if addr == "" {
		return resource.Endpoint{}, false
	}
	return resource.Endpoint{Address: addr, Weight: 1}, true
}

// sourceAddr is the local address a cluster's upstream connections bind
// (upstream_bind_config): Istio's 127.0.0.6 for inbound passthrough, which
// the capture rules let through. nil: the OS picks. An upstream of the
// other IP family cannot be reached from it: the dial fails.
func sourceAddr(cfg *resource.Cluster) net.Addr {
	if cfg.Pool.SourceAddress == "" {
		return nil
	}
	return &net.TCPAddr{IP: net.ParseIP(cfg.Pool.SourceAddress)}
}
