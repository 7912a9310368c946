package translate

import (
	"strconv"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/lateenmesh/lateen/internal/hostname"
	"github.com/lateenmesh/lateen/internal/mesh"
	"github.com/lateenmesh/lateen/internal/registry"
)

// httpProxyRouteConfig serves capture NONE's HTTP proxy: a virtual host per
// visible HTTP service port, reachable by every name a client in the proxy's
// namespace may use with the port ("reviews:9080"; port 80 also without it),
// then allow_any or block_all for everything else.
func (b *builder) httpProxyRouteConfig() *routev3.RouteConfiguration {
	rc := &routev3.RouteConfiguration{Name: HTTPProxyRouteConfig}
	for _, svc := range b.view.Services {
		for _, port := range svc.Ports {
			if !port.Protocol.IsHTTP() {
				continue
			}
			vh := &routev3.VirtualHost{
				Name:    VirtualHostName(svc.Hostname, port.Number),
				Domains: b.serviceDomains(svc, port.Number),
				Routes:  b.meshRoutes(svc.Hostname, port.Number),
			}
			rc.VirtualHosts = append(rc.VirtualHosts, vh)
		}
	}
	rc.VirtualHosts = append(rc.VirtualHosts, b.fallbackVirtualHost())
	return rc
}

func (b *builder) serviceDomains(svc *registry.Service, port uint32) []string {
	p := ":" + strconv.FormatUint(uint64(port), 10)
	var out []string
	names := append(hostname.ShortNames(svc.Hostname, b.view.Proxy.Namespace, b.view.DomainSuffix), svc.Addresses...)
	for _, n := range names {
		out = append(out, n+p)
		if port == 80 {
			out = append(out, n)
		}
	}
	return out
}

// fallbackVirtualHost handles hosts the registry does not know: passed
// through under ALLOW_ANY, refused with 502 under REGISTRY_ONLY.
func (b *builder) fallbackVirtualHost() *routev3.VirtualHost {
	if b.registryOnly() {
		return &routev3.VirtualHost{
			Name:    BlockAllVirtualHost,
			Domains: []string{"*"},
			Routes: []*routev3.Route{{
				Name:   BlockAllVirtualHost,
				Match:  &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
				Action: &routev3.Route_DirectResponse{DirectResponse: &routev3.DirectResponseAction{Status: 502}},
			}},
		}
	}
	return &routev3.VirtualHost{
		Name:    AllowAnyVirtualHost,
		Domains: []string{"*"},
		Routes: []*routev3.Route{{
			Name:  AllowAnyVirtualHost,
			Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
			Action: &routev3.Route_Route{Route: &routev3.RouteAction{
				ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: PassthroughCluster},
				Timeout:          zeroDuration(),
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

// meshRoutes returns the routes for host:port on a sidecar: those of the
// virtual service for the host, or the default route to the service.
func (b *builder) meshRoutes(host string, port uint32) []*routev3.Route {
	if vs := sidecarVirtualService(b.view.VirtualServices, host); vs != nil {
		routes := b.virtualServiceRoutes(vs, routeContext{port: port, gateway: mesh.MeshGateway, host: host})
		if len(routes) > 0 {
			return routes
		}
	}
	return []*routev3.Route{b.defaultRoute(OutboundCluster(port, "", host))}
}

// sidecarVirtualService picks the virtual service for a host on sidecars:
// the one with the most specific matching host, oldest first. (Istio merges
// several virtual services for one host only on gateways.)
func sidecarVirtualService(list []*mesh.VirtualService, host string) *mesh.VirtualService {
	var best *mesh.VirtualService
	bestRank := -1
	for _, vs := range list {
		for _, h := range vs.Hosts {
			if !hostname.Matches(h, host) {
				continue
			}
			if r := hostname.Specificity(h); r > bestRank {
				best, bestRank = vs, r
			}
		}
	}
	return best
}

func (b *builder) defaultRoute(cluster string) *routev3.Route {
	return &routev3.Route{
		Name:  DefaultRouteName,
		Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
		Action: &routev3.Route_Route{Route: &routev3.RouteAction{
			ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: cluster},
			Timeout:          zeroDuration(),
			RetryPolicy:      b.defaultRetryPolicy(),
		}},
	}
}

// zeroDuration disables a timeout (Envoy's route timeout otherwise defaults
// to 15s; Istio has none unless a VirtualService sets one).
func zeroDuration() *durationpb.Duration { return durationpb.New(0) }
