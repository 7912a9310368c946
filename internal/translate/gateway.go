package translate

import (
	"slices"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/lateenmesh/lateen/internal/mesh"
	"github.com/lateenmesh/lateen/internal/sortedmap"
)

// gatewayServer is one server of one Gateway selecting this proxy.
type gatewayServer struct {
	gateway *mesh.Gateway
	server  *networking.Server
}

func (s gatewayServer) gatewayName() string { return s.gateway.Name() }

// gatewayListeners builds a listener per server port of the Gateways that
// select this router, each with the route configuration http.<port>.
func (b *builder) gatewayListeners() {
	byPort := map[uint32][]gatewayServer{}
	for _, gw := range b.view.Gateways {
		for _, srv := range gw.Spec.Servers {
			n := srv.GetPort().GetNumber()
			byPort[n] = append(byPort[n], gatewayServer{gw, srv})
		}
	}
	for _, port := range sortedmap.Keys(byPort) {
		servers := byPort[port]
		bind := servers[0].server.Bind
		if bind == "" {
			bind = wildcardAddress
		}
		name := GatewayRouteConfig(port)
		b.routes = append(b.routes, b.gatewayRouteConfig(name, port, servers))
		hcm := b.httpConnectionManager("outbound_"+ListenerName(bind, port), name, nil)
		b.listeners = append(b.listeners, &listenerv3.Listener{
			Name:             ListenerName(bind, port),
			Address:          socketAddress(bind, port),
			TrafficDirection: corev3.TrafficDirection_OUTBOUND,
			FilterChains:     []*listenerv3.FilterChain{{Filters: []*listenerv3.Filter{hcm}}},
		})
	}
}

// gatewayRouteConfig binds the virtual services of the port's gateways as
// Istio does: for each server (in order) and each virtual service bound to
// its gateway (in the view's order), a virtual host per host both admit.
// Virtual services sharing a host are merged: their routes are
// concatenated in that order, each cut after its first catch-all, and the
// catch-alls moved last, so a later virtual service's specific routes still
// match. Without any virtual host, a blackhole virtual host answers 404.
func (b *builder) gatewayRouteConfig(name string, port uint32, servers []gatewayServer) *routev3.RouteConfiguration {
	vhosts := map[string]*routev3.VirtualHost{}
	cache := map[string][]*routev3.Route{} // gateway + virtual service → routes
	for _, srv := range servers {
		gwName := srv.gatewayName()
		for _, vs := range b.view.GatewayVirtualServices {
			if !slices.Contains(vs.Gateways, gwName) {
				continue
			}
			hosts := serverHosts(srv, vs)
			if len(hosts) == 0 {
				continue
			}
			key := gwName + "|" + vs.Key.String()
			routes, ok := cache[key]
			if !ok {
				routes = b.boundRoutes(vs, routeContext{port: port, gateway: gwName})
				cache[key] = routes
			}
			if len(routes) == 0 {
				continue
			}
			for _, host := range hosts {
				vh := vhosts[host]
				if vh == nil {
					vh = &routev3.VirtualHost{Name: VirtualHostName(host, port), Domains: gatewayDomains(host, port),
						IncludeRequestAttemptCount: true}
					vhosts[host] = vh
				}
				vh.Routes = append(vh.Routes, routes...)
			}
		}
	}
	rc := &routev3.RouteConfiguration{Name: name}
	for _, h := range sortedmap.Keys(vhosts) {
		vh := vhosts[h]
		vh.Routes = catchAllsLast(vh.Routes)
		rc.VirtualHosts = append(rc.VirtualHosts, vh)
	}
	if len(rc.VirtualHosts) == 0 {
		rc.VirtualHosts = []*routev3.VirtualHost{{Name: VirtualHostName("blackhole", port), Domains: []string{"*"}}}
	}
	return rc
}

// serverHosts intersects a server's hosts with a virtual service's, in
// Istio's order (server hosts first), lower case and without duplicates.
func serverHosts(srv gatewayServer, vs *mesh.VirtualService) []string {
	var out []string
	for _, sh := range srv.server.Hosts {
		for _, h := range vs.Hosts {
			host := strings.ToLower(mesh.ServerHostFor(sh, h, vs.Namespace, srv.gateway.Key.Namespace))
			if host != "" && !slices.Contains(out, host) {
				out = append(out, host)
			}
		}
	}
	return out
}

// catchAllsLast moves catch-all routes after the others, keeping the
// relative order within both groups.
func catchAllsLast(routes []*routev3.Route) []*routev3.Route {
	out := make([]*routev3.Route, 0, len(routes))
	var last []*routev3.Route
	for _, r := range routes {
		if isCatchAllRoute(r) {
			last = append(last, r)
		} else {
			out = append(out, r)
		}
	}
	return append(out, last...)
}

// gatewayDomains are a gateway virtual host's domains: the host with and
// without the port (Istio ignores the port in host matching on gateways;
// lateen-proxy matches the Host header as sent), "*" alone.
func gatewayDomains(host string, port uint32) []string {
	if host == "*" {
		return []string{"*"}
	}
	return []string{host, VirtualHostName(host, port)}
}
