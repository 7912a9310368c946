package translate

import (
	"net"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	corsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/cors/v3"
	faultv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/fault/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tcpproxyv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/lateenmesh/lateen/internal/mesh"
	"github.com/lateenmesh/lateen/internal/registry"
)

const (
	hcmFilterName      = "envoy.filters.network.http_connection_manager"
	tcpProxyFilterName = "envoy.filters.network.tcp_proxy"
	routerFilterName   = "envoy.filters.http.router"
	wildcardAddress    = "0.0.0.0"
)

func (b *builder) interceptNone() bool {
	return b.view.Proxy.InterceptionMode == mesh.InterceptNone
}

// sidecarListeners builds a sidecar's listeners. Without traffic capture
// (INTERCEPTION_MODE NONE) the app uses virtualOutbound as its HTTP proxy
// and the proxy binds each Sidecar ingress port itself; with iptables
// capture (REDIRECT) virtualOutbound and virtualInbound receive the
// redirected connections (capture.go).
func (b *builder) sidecarListeners() {
	if !b.interceptNone() {
		b.captureListeners()
		return
	}
	b.httpProxyListener()
	b.sidecarIngressListeners()
}

// httpProxyListener is virtualOutbound in capture NONE mode: an HTTP proxy
// that routes by the request's authority over every visible service.
func (b *builder) httpProxyListener() {
	port := uint32(b.view.Mesh.GetProxyListenPort())
	b.routes = append(b.routes, b.httpProxyRouteConfig())
	hcm := b.httpConnectionManager("outbound_"+ListenerName(wildcardAddress, port), HTTPProxyRouteConfig, nil)
	b.listeners = append(b.listeners, &listenerv3.Listener{
		Name:             VirtualOutboundListener,
		Address:          socketAddress(b.view.Proxy.IP(), port),
		TrafficDirection: corev3.TrafficDirection_OUTBOUND,
		FilterChains:     []*listenerv3.FilterChain{{Filters: []*listenerv3.Filter{hcm}}},
	})
}

// sidecarIngressListeners binds each Sidecar ingress port on the workload's
// address (or the listener's bind) and forwards to its default endpoint.
func (b *builder) sidecarIngressListeners() {
	if b.view.Sidecar == nil {
		return
	}
	for _, in := range b.view.Sidecar.Ingress {
		if !b.boundIngress(in) {
			continue // captured: a chain of virtualInbound
		}
		port := in.Port.GetNumber()
		proto := registry.ParseProtocol(in.Port.GetProtocol(), in.Port.GetName())
		appHost, appPort := b.defaultEndpoint(in)
		b.inboundCluster(port, proto, appHost, appPort)
		bind := in.Bind
		if bind == "" {
			bind = b.view.Proxy.IP()
		}
		newFilter := func() *listenerv3.Filter {
			if proto.IsHTTP() {
				return b.httpConnectionManager("inbound_"+ListenerName(bind, port), "", inboundRouteConfig(port))
			}
			return tcpProxy("inbound|"+strconv.Itoa(int(port))+"||", InboundCluster(port))
		}
		chains, inspect := b.inboundChains(ListenerName(bind, port), port, proto, newFilter)
		l := &listenerv3.Listener{
			Name:             ListenerName(bind, port),
			Address:          socketAddress(bind, port),
			TrafficDirection: corev3.TrafficDirection_INBOUND,
			FilterChains:     chains,
		}
		b.inboundListenerFilters(l, inspect)
		b.listeners = append(b.listeners, l)
	}
}

// defaultEndpoint resolves a Sidecar ingress defaultEndpoint: 0.0.0.0 means
// the workload's own address, as Istio does; 127.0.0.1 is kept.
func (b *builder) defaultEndpoint(in *networking.IstioIngressListener) (string, uint32) {
	host, portStr, err := net.SplitHostPort(in.DefaultEndpoint)
	port, perr := strconv.ParseUint(portStr, 10, 32)
	if err != nil || perr != nil {
		return b.view.Proxy.IP(), in.Port.GetNumber()
	}
	if host == "0.0.0.0" || host == "::" {
		host = b.view.Proxy.IP()
	}
	return host, uint32(port)
}

func inboundRouteConfig(port uint32) *routev3.RouteConfiguration {
	cluster := InboundCluster(port)
	return &routev3.RouteConfiguration{
		Name: cluster,
		VirtualHosts: []*routev3.VirtualHost{{
			Name:    "inbound|http|" + strconv.Itoa(int(port)),
			Domains: []string{"*"},
			Routes: []*routev3.Route{{
				Name:  DefaultRouteName,
				Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
				Action: &routev3.Route_Route{Route: &routev3.RouteAction{
					ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: cluster},
					Timeout:          zeroDuration(),
					// gRPC requests are bounded by their grpc-timeout only.
					MaxStreamDuration: &routev3.RouteAction_MaxStreamDuration{
						MaxStreamDuration: zeroDuration(), GrpcTimeoutHeaderMax: zeroDuration()},
				}},
			}},
		}},
	}
}

// httpConnectionManager builds an HCM filter using RDS (rds != "") or an
// inline route configuration.
func (b *builder) httpConnectionManager(statPrefix, rds string, inline *routev3.RouteConfiguration) *listenerv3.Filter {
	hcm := &hcmv3.HttpConnectionManager{
		StatPrefix:        statPrefix,
		CodecType:         hcmv3.HttpConnectionManager_AUTO,
		HttpFilters:       b.httpFilters(),
		GenerateRequestId: wrapperspb.Bool(true),
		NormalizePath:     wrapperspb.Bool(true),
		UpgradeConfigs:    []*hcmv3.HttpConnectionManager_UpgradeConfig{{UpgradeType: "websocket"}},
	}
	hcm.HttpFilters = b.telemetryHTTPFilters(statPrefix, hcm.HttpFilters)
	hcm.AccessLog = b.accessLogs(statPrefix)
	hcm.Tracing = b.tracing(statPrefix, rds, inline)
	clientCertDetails(hcm)
	if strings.HasPrefix(statPrefix, "outbound_") || b.view.Proxy.Type == mesh.Router {
		hcm.UseRemoteAddress = wrapperspb.Bool(b.view.Proxy.Type == mesh.Router)
	}
	if rds != "" {
		hcm.RouteSpecifier = &hcmv3.HttpConnectionManager_Rds{Rds: &hcmv3.Rds{ConfigSource: adsConfigSource(), RouteConfigName: rds}}
	} else {
		hcm.RouteSpecifier = &hcmv3.HttpConnectionManager_RouteConfig{RouteConfig: inline}
	}
	return &listenerv3.Filter{Name: hcmFilterName, ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: mustAny(hcm)}}
}

// httpFilters is the HTTP filter chain of every connection manager, in
// Istio's order: fault injection and CORS (their per-route configs come
// from virtual services), then the router, always last.
func (b *builder) httpFilters() []*hcmv3.HttpFilter {
	return []*hcmv3.HttpFilter{
		{Name: faultFilterName, ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(&faultv3.HTTPFault{})}},
		{Name: corsFilterName, ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(&corsv3.Cors{})}},
		{Name: routerFilterName, ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(&routerv3.Router{})}},
	}
}

func tcpProxy(statPrefix, cluster string) *listenerv3.Filter {
	tp := &tcpproxyv3.TcpProxy{StatPrefix: statPrefix, ClusterSpecifier: &tcpproxyv3.TcpProxy_Cluster{Cluster: cluster}}
	return &listenerv3.Filter{Name: tcpProxyFilterName, ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: mustAny(tp)}}
}
