package xdsclient

import (
	"net/netip"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// decodeBindConfig reads upstream_bind_config: the source address of the
// cluster's upstream connections (Istio's 127.0.0.6 for inbound
// passthrough, which the capture rules let through). The port is the OS's.
func decodeBindConfig(pb *clusterv3.Cluster, c *resource.Cluster) error {
	bc := pb.GetUpstreamBindConfig()
	if bc == nil {
		return nil
	}
	sa := bc.GetSourceAddress()
	if sa == nil {
		return fieldErr("upstream_bind_config.source_address", "required")
	}
	if sa.GetPortValue() != 0 {
		return fieldErr("upstream_bind_config.source_address.port_value", "only 0 (any port) is supported")
	}
	addr, err := netip.ParseAddr(sa.GetAddress())
	if err != nil {
		return fieldErr("upstream_bind_config.source_address.address", "%q is not an IP address", sa.GetAddress())
	}
	c.Pool.SourceAddress = addr.String()
	return nil
}
