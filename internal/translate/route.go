package translate

import (
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/lateenmesh/lateen/internal/mesh"
)

// httpProxyRouteConfig serves capture NONE's HTTP proxy: a virtual host
// per port of each host the sidecar routes by name (mesh.SidecarHost: its
// visible services' HTTP ports, and VirtualService hosts without a service
// on port 80 and their services' ports), reachable by every name a client
// in the proxy's namespace may use with the port (port 80 also without
// it), then allow_any or block_all for everything else. No name or domain
// is used twice; the first host to claim one keeps it.
func (b *builder) httpProxyRouteConfig() *routev3.RouteConfiguration {
	if b.class == nil {
		return b.buildHTTPProxyRouteConfig()
	}
	rc := b.cache.classRoute(b)
	if b.predecorated == nil {
		b.predecorated = map[*routev3.RouteConfiguration]bool{}
	}
	b.predecorated[rc] = true
	return rc
}

// buildHTTPProxyRouteConfig builds httpProxyRouteConfig for the view.
func (b *builder) buildHTTPProxyRouteConfig() *routev3.RouteConfiguration {
	set := newVhostSet(b.knownServiceNames())
	for _, sh := range b.view.SidecarHosts {
		for _, port := range sidecarHostPorts(sh) {
			b.addSidecarVirtualHost(set, sh, port, func(d []string) []string { return d })
		}
	}
	vhosts := append(set.sorted(), b.fallbackVirtualHost())
	return &routev3.RouteConfiguration{Name: HTTPProxyRouteConfig, VirtualHosts: vhosts}
}

// addSidecarVirtualHost adds the virtual host of a sidecar host on port to
// set, unless it has no routes or its name is taken: reachable by every
// name (and address) a client may use for the host, as domains maps them.
func (b *builder) addSidecarVirtualHost(set *vhostSet, sh mesh.SidecarHost, port uint32, domains func([]string) []string) {
	name := VirtualHostName(sh.Host, port)
	routes := b.meshRoutes(sh, port)
	if len(routes) == 0 || !set.claim(name) {
		return
	}
	names, alt := withPort(nil, sh.Host, port), []string(nil)
	if sh.Service != nil {
		names, alt = b.serviceDomains(sh.Service, port)
	}
	set.add(&routev3.VirtualHost{Name: name, Domains: domains(names), Routes: routes, IncludeRequestAttemptCount: true},
		domains(alt))
}

// sidecarHostPorts are the ports a sidecar host gets virtual hosts on: a
// service's HTTP ports, or the ports bound for a VirtualService host.
func sidecarHostPorts(sh mesh.SidecarHost) []uint32 {
	if sh.Service == nil {
		return sh.Ports
	}
	var out []uint32
	for _, p := range sh.Service.Ports {
		if p.Protocol.IsHTTP() {
			out = append(out, p.Number)
		}
	}
	return out
}

// knownServiceNames are the full names of the visible services, bare and
// with each HTTP port.
func (b *builder) knownServiceNames() map[string]bool {
	known := map[string]bool{}
	for _, svc := range b.view.Services {
		known[svc.Hostname] = true
		for _, p := range svc.Ports {
			known[VirtualHostName(svc.Hostname, p.Number)] = true
		}
	}
	return known
}

// fallbackVirtualHost handles hosts the registry does not know: passed
// through under ALLOW_ANY, refused with 502 under REGISTRY_ONLY.
func (b *builder) fallbackVirtualHost() *routev3.VirtualHost {
	if b.registryOnly() {
		return &routev3.VirtualHost{
			Name:                       BlockAllVirtualHost,
			Domains:                    []string{"*"},
			IncludeRequestAttemptCount: true,
			Routes: []*routev3.Route{{
				Name:   BlockAllVirtualHost,
				Match:  &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
				Action: &routev3.Route_DirectResponse{DirectResponse: &routev3.DirectResponseAction{Status: 502}},
			}},
		}
	}
	return &routev3.VirtualHost{
		Name:                       AllowAnyVirtualHost,
		Domains:                    []string{"*"},
		IncludeRequestAttemptCount: true,
		Routes: []*routev3.Route{{
			Name:  AllowAnyVirtualHost,
			Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
			Action: &routev3.Route_Route{Route: &routev3.RouteAction{
				ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: PassthroughCluster},
				Timeout:          zeroDuration(),
				MaxGrpcTimeout:   zeroDuration(),
			}},
		}},
	}
}

func (b *builder) registryOnly() bool {
	if sc := b.view.Sidecar; sc != nil && sc.OutboundTrafficPolicy != nil {
		return sc.OutboundTrafficPolicy.Mode == networking.OutboundTrafficPolicy_REGISTRY_ONLY
	}
	return b.view.Mesh.GetOutboundTrafficPolicy().GetMode() == meshv1alpha1.MeshConfig_OutboundTrafficPolicy_REGISTRY_ONLY
}

// meshRoutes returns the routes for a sidecar host on a port: those of the
// first bound virtual service that has routes there, else (for a service)
// the default route to it; nil for a VirtualService host without routes.
func (b *builder) meshRoutes(sh mesh.SidecarHost, port uint32) []*routev3.Route {
	if b.cache != nil {
		return b.cache.meshRoutes(b.routesInput(sh, port), b.keys())
	}
	return b.buildMeshRoutes(sh, port)
}

// buildMeshRoutes builds meshRoutes for the view.
func (b *builder) buildMeshRoutes(sh mesh.SidecarHost, port uint32) []*routev3.Route {
	for _, vs := range sh.VirtualServices {
		if routes := b.boundRoutes(vs, routeContext{port: port, gateway: mesh.MeshGateway, host: sh.Host}); len(routes) > 0 {
			return routes
		}
	}
	if sh.Service == nil {
		return nil
	}
	return []*routev3.Route{b.defaultRoute(OutboundCluster(port, "", sh.Host))}
}

func (b *builder) defaultRoute(cluster string) *routev3.Route {
	return &routev3.Route{
		Name:  DefaultRouteName,
		Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
		Action: &routev3.Route_Route{Route: &routev3.RouteAction{
			ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: cluster},
			Timeout:          zeroDuration(),
			MaxGrpcTimeout:   zeroDuration(),
			RetryPolicy:      b.defaultRetryPolicy(),
			HashPolicy:       b.defaultHashPolicy(cluster),
		}},
	}
}

// zeroDuration disables a timeout (Envoy's route timeout otherwise defaults
// to 15s; Istio has none unless a VirtualService sets one).
func zeroDuration() *durationpb.Duration { return durationpb.New(0) }

// outboundDecorate reports whether the proxy's outbound routes carry
// tracing decorators: whether its outbound connection managers trace
// (see tracing), which decorates the routes of their route configurations.
func (b *builder) outboundDecorate() bool {
	if b.decorateOut == 0 {
		b.decorateOut = 1
		if b.view.Proxy.Type != mesh.Router && b.view.Tracing(telemetryMode(classOutbound)) != nil {
			b.decorateOut = 2
		}
	}
	return b.decorateOut == 2
}
