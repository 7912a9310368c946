package translate

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	originaldstv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/listener/original_dst/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/lateenmesh/lateen/internal/registry"
)

// Listeners of a sidecar under iptables capture (INTERCEPTION_MODE
// REDIRECT), in Istio's shapes. The application's outbound connections
// arrive at virtualOutbound (15001), which hands each one to the listener
// for its original destination: 0.0.0.0_<port> for an HTTP port (routes by
// Host from the route configuration named <port>), <vip>_<port> for a TCP
// service port (0.0.0.0_<port> for a TCP service without an address);
// anything else goes to PassthroughCluster (BlackHoleCluster under
// REGISTRY_ONLY). Those per-port listeners are not bound. Inbound
// connections arrive at virtualInbound (15006), whose filter chains match
// the original destination port: the workload's service ports with their
// PeerAuthentication mode, anything else passed through to the original
// destination (InboundPassthroughCluster). The proxy reaches the
// application on the address the client used, from 127.0.0.6, which the
// capture rules let through.

// InboundPassthroughSource is the source address of the proxy's
// connections to its own application (Istio's inbound passthrough bind).
const InboundPassthroughSource = "127.0.0.6"

// Listener filter and filter chain names, as Istio's.
const (
	originalDstFilterName = "envoy.filters.listener.original_dst"
	outboundBlackholeName = "virtualOutbound-blackhole"
	outboundCatchAllName  = "virtualOutbound-catchall-tcp"
	inboundBlackholeName  = "virtualInbound-blackhole"
	inboundPassthroughFC  = "virtualInbound"
)

// captureListeners builds a sidecar's listeners under iptables capture.
func (b *builder) captureListeners() {
	httpPorts := b.outboundHTTPPorts()
	for _, port := range httpPorts {
		b.routes = append(b.routes, b.portRouteConfig(port))
		hcm := b.httpConnectionManager("outbound_"+ListenerName(wildcardAddress, port), portRouteName(port), nil)
		b.listeners = append(b.listeners, unboundListener(ListenerName(wildcardAddress, port), wildcardAddress, port, hcm))
	}
	b.outboundTCPListeners(httpPorts)
	b.virtualOutbound()
	b.virtualInbound()
	b.sidecarIngressListeners() // ingress ports with captureMode NONE stay bound
}

func portRouteName(port uint32) string { return strconv.FormatUint(uint64(port), 10) }

// unboundListener is a per-destination outbound listener that only
// virtualOutbound's hand-off reaches (Envoy's bind_to_port false).
func unboundListener(name, address string, port uint32, filter *listenerv3.Filter) *listenerv3.Listener {
	return &listenerv3.Listener{
		Name:             name,
		Address:          socketAddress(address, port),
		TrafficDirection: corev3.TrafficDirection_OUTBOUND,
		BindToPort:       wrapperspb.Bool(false),
		FilterChains:     []*listenerv3.FilterChain{{Filters: []*listenerv3.Filter{filter}}},
	}
}

// outboundHTTPPorts are the ports the sidecar routes HTTP on, ascending:
// the HTTP ports of its services and the ports bound for VirtualService
// hosts without a service.
func (b *builder) outboundHTTPPorts() []uint32 {
	var ports []uint32
	for _, sh := range b.view.SidecarHosts {
		for _, p := range sidecarHostPorts(sh) {
			if !slices.Contains(ports, p) {
				ports = append(ports, p)
			}
		}
	}
	slices.Sort(ports)
	return ports
}

// portRouteConfig is the route configuration of one outbound HTTP port: a
// virtual host per sidecar host served on that port, reachable by every
// name (and address) a client may use, with or without the port, as
// Istio's per-port route configurations; then allow_any or block_all.
func (b *builder) portRouteConfig(port uint32) *routev3.RouteConfiguration {
	set := newVhostSet(b.knownServiceNames())
	for _, sh := range b.view.SidecarHosts {
		if slices.Contains(sidecarHostPorts(sh), port) {
			b.addSidecarVirtualHost(set, sh, port, func(d []string) []string { return withBare(d, port) })
		}
	}
	vhosts := append(set.sorted(), b.fallbackVirtualHost())
	return &routev3.RouteConfiguration{Name: portRouteName(port), VirtualHosts: vhosts}
}

// withBare adds, before each name:port, the bare name: on a route
// configuration of one port a Host without the port means that port.
func withBare(domains []string, port uint32) []string {
	suffix := ":" + strconv.FormatUint(uint64(port), 10)
	out := make([]string, 0, 2*len(domains))
	for _, d := range domains {
		if bare, ok := strings.CutSuffix(d, suffix); ok && !slices.Contains(domains, bare) && !slices.Contains(out, bare) {
			out = append(out, bare)
		}
		out = append(out, d)
	}
	return out
}

// outboundTCPListeners gives each TCP port of each service a listener per
// service address (<vip>_<port>), or the wildcard one (0.0.0.0_<port>)
// when the service has none and no HTTP port or other service took it.
func (b *builder) outboundTCPListeners(httpPorts []uint32) {
	taken := map[string]bool{}
	for _, p := range httpPorts {
		taken[ListenerName(wildcardAddress, p)] = true
	}
	for _, svc := range b.view.Services {
		for _, p := range svc.Ports {
			if p.Protocol.IsHTTP() {
				continue
			}
			cluster := OutboundCluster(p.Number, "", svc.Hostname)
			for _, addr := range serviceVIPs(svc) {
				name := ListenerName(addr, p.Number)
				if taken[name] || !b.hasCluster(cluster) {
					continue
				}
				taken[name] = true
				b.listeners = append(b.listeners, unboundListener(name, addr, p.Number, tcpProxy(cluster, cluster)))
			}
		}
	}
}

// serviceVIPs are a service's addresses a connection can be sent to (not
// CIDR ranges nor the unspecified address), else the wildcard address.
func serviceVIPs(svc *registry.Service) []string {
	var out []string
	for _, a := range svc.Addresses {
		if addr, err := netip.ParseAddr(a); err == nil && !addr.IsUnspecified() {
			out = append(out, addr.String())
		}
	}
	if len(out) == 0 {
		return []string{wildcardAddress}
	}
	return out
}

// virtualOutbound receives every captured outbound connection and hands it
// to the listener of its original destination; it passes the others
// through, and never connects to itself (a connection sent to 15001).
func (b *builder) virtualOutbound() {
	port := uint32(b.view.Mesh.GetProxyListenPort())
	fallback := PassthroughCluster
	if b.registryOnly() {
		fallback = BlackHoleCluster
	}
	b.listeners = append(b.listeners, &listenerv3.Listener{
		Name:             VirtualOutboundListener,
		Address:          socketAddress(wildcardAddress, port),
		TrafficDirection: corev3.TrafficDirection_OUTBOUND,
		UseOriginalDst:   wrapperspb.Bool(true),
		FilterChains: []*listenerv3.FilterChain{
			blackholeChain(outboundBlackholeName, port),
			{Name: outboundCatchAllName, Filters: []*listenerv3.Filter{tcpProxy(fallback, fallback)}},
		},
	})
}

func blackholeChain(name string, port uint32) *listenerv3.FilterChain {
	return &listenerv3.FilterChain{Name: name,
		FilterChainMatch: &listenerv3.FilterChainMatch{DestinationPort: wrapperspb.UInt32(port)},
		Filters:          []*listenerv3.Filter{tcpProxy(BlackHoleCluster, BlackHoleCluster)}}
}

// virtualInbound receives every captured inbound connection, restores its
// original destination and picks the chain of its port.
func (b *builder) virtualInbound() {
	port := uint32(b.view.Mesh.GetProxyInboundListenPort())
	chains := []*listenerv3.FilterChain{blackholeChain(inboundBlackholeName, port)}
	inspect := false
	for _, in := range b.capturedInboundPorts() {
		cs, need := b.inboundChains(ListenerName(wildcardAddress, in.port), in.port, in.protocol, in.filter)
		chains, inspect = append(chains, cs...), inspect || need
	}
	cs, need := b.inboundPassthroughChains()
	chains, inspect = append(chains, cs...), inspect || need
	l := &listenerv3.Listener{
		Name:             VirtualInboundListener,
		Address:          socketAddress(wildcardAddress, port),
		TrafficDirection: corev3.TrafficDirection_INBOUND,
		FilterChains:     chains,
	}
	b.inboundListenerFilters(l, inspect)
	l.ListenerFilters = append([]*listenerv3.ListenerFilter{{Name: originalDstFilterName,
		ConfigType: &listenerv3.ListenerFilter_TypedConfig{TypedConfig: mustAny(&originaldstv3.OriginalDst{})}}},
		l.ListenerFilters...)
	b.listeners = append(b.listeners, l)
	b.inboundPassthroughCluster()
}

// inboundPort is one port of the workload that virtualInbound serves.
type inboundPort struct {
	port     uint32
	protocol registry.Protocol
	filter   func() *listenerv3.Filter
}

// capturedInboundPorts are the workload's inbound ports, each with its
// inbound cluster: the Sidecar's ingress ports (except captureMode NONE,
// bound by the proxy), else the ports its services reach it on.
func (b *builder) capturedInboundPorts() []inboundPort {
	if b.view.Sidecar != nil && len(b.view.Sidecar.Ingress) > 0 {
		var out []inboundPort
		for _, in := range b.view.Sidecar.Ingress {
			if b.boundIngress(in) {
				continue
			}
			proto := registry.ParseProtocol(in.Port.GetProtocol(), in.Port.GetName())
			port := in.Port.GetNumber()
			appHost, appPort := b.defaultEndpoint(in)
			b.inboundCluster(port, proto, appHost, appPort)
			if a, err := netip.ParseAddr(appHost); err == nil && !a.IsLoopback() {
				b.clusters[InboundCluster(port)].UpstreamBindConfig = passthroughBind()
			}
			out = append(out, b.inboundPortOf(port, proto))
		}
		return out
	}
	return b.instancePorts()
}

// instancePorts are the ports the workload's services send to it (the
// endpoint port: the WorkloadEntry's named port, else the target port,
// else the service port), the first service naming one setting its
// protocol; each reaches the application on the original destination.
func (b *builder) instancePorts() []inboundPort {
	var out []inboundPort
	seen := map[uint32]bool{}
	for _, svc := range b.view.Instances {
		for _, p := range svc.Ports {
			port := endpointPort(p, b.view.Workload)
			if seen[port] {
				continue
			}
			seen[port] = true
			b.passthroughInboundCluster(InboundCluster(port), p.Protocol, b.inboundServiceMetadata(port))
			out = append(out, b.inboundPortOf(port, p.Protocol))
		}
	}
	slices.SortFunc(out, func(a, c inboundPort) int { return int(a.port) - int(c.port) })
	return out
}

func endpointPort(p registry.Port, w *registry.Workload) uint32 {
	if w != nil && w.Ports[p.Name] != 0 {
		return w.Ports[p.Name]
	}
	if p.TargetPort != 0 {
		return p.TargetPort
	}
	return p.Number
}

// inboundPortOf builds the network filter of an inbound port: a connection
// manager with the inbound route configuration, or a TCP proxy.
func (b *builder) inboundPortOf(port uint32, proto registry.Protocol) inboundPort {
	name := ListenerName(wildcardAddress, port)
	return inboundPort{port: port, protocol: proto, filter: func() *listenerv3.Filter {
		if proto.IsHTTP() {
			return b.httpConnectionManager("inbound_"+name, "", inboundRouteConfig(port))
		}
		return tcpProxy(InboundCluster(port), InboundCluster(port))
	}}
}

// inboundPassthroughChains serve ports no service declares: passed through
// to the original destination, with the workload's mTLS mode.
func (b *builder) inboundPassthroughChains() ([]*listenerv3.FilterChain, bool) {
	chains, inspect := b.inboundChains(inboundPassthroughFC, 0, registry.TCP, func() *listenerv3.Filter {
		return tcpProxy(InboundPassthroughCluster, InboundPassthroughCluster)
	})
	for _, fc := range chains {
		fc.FilterChainMatch.DestinationPort = nil
	}
	return chains, inspect
}

// inboundPassthroughCluster is InboundPassthroughCluster: the connection's
// original destination, from 127.0.0.6.
func (b *builder) inboundPassthroughCluster() {
	b.passthroughInboundCluster(InboundPassthroughCluster, registry.TCP, nil)
}

func (b *builder) passthroughInboundCluster(name string, proto registry.Protocol, md *corev3.Metadata) {
	c := &clusterv3.Cluster{
		Name:                 name,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_ORIGINAL_DST},
		LbPolicy:             clusterv3.Cluster_CLUSTER_PROVIDED,
		UpstreamBindConfig:   passthroughBind(),
		Metadata:             md,
	}
	setProtocolOptions(c, b.applyConnectionPool(c, nil, upstreamProtocol(proto, nil, nil)))
	b.addCluster(c)
}

func passthroughBind() *corev3.BindConfig {
	return &corev3.BindConfig{SourceAddress: &corev3.SocketAddress{Address: InboundPassthroughSource,
		PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 0}}}
}

// boundIngress reports whether the proxy binds a Sidecar ingress port
// itself: always without capture, and for captureMode NONE with it.
func (b *builder) boundIngress(in *networking.IstioIngressListener) bool {
	return b.interceptNone() || in.CaptureMode == networking.CaptureMode_NONE
}
