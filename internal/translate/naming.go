package translate

import (
	"fmt"
	"strconv"
)

// Names of resources, as Istio names them so that proxy-config output is
// familiar and comparable.
const (
	PassthroughCluster        = "PassthroughCluster"
	BlackHoleCluster          = "BlackHoleCluster"
	InboundPassthroughCluster = "InboundPassthroughCluster"
	VirtualOutboundListener   = "virtualOutbound"
	VirtualInboundListener    = "virtualInbound"
	HTTPProxyRouteConfig      = "http_proxy"
	AllowAnyVirtualHost       = "allow_any"
	BlockAllVirtualHost       = "block_all"
	DefaultRouteName          = "default"
)

// OutboundCluster names the cluster for host:port, optionally one subset:
// outbound|9080|v1|reviews.default.svc.cluster.local.
func OutboundCluster(port uint32, subset, host string) string {
	return fmt.Sprintf("outbound|%d|%s|%s", port, subset, host)
}

// InboundCluster names the cluster that reaches the local app on a port.
func InboundCluster(port uint32) string { return fmt.Sprintf("inbound|%d||", port) }

// ListenerName is Istio's <address>_<port>.
func ListenerName(address string, port uint32) string {
	return address + "_" + strconv.FormatUint(uint64(port), 10)
}

// GatewayRouteConfig names the route configuration of a gateway port.
func GatewayRouteConfig(port uint32) string { return "http." + strconv.FormatUint(uint64(port), 10) }

// VirtualHostName is Istio's <host>:<port>.
func VirtualHostName(host string, port uint32) string {
	return host + ":" + strconv.FormatUint(uint64(port), 10)
}
