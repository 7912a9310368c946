package translate

import (
	"slices"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/lateenmesh/lateen/internal/hostname"
	"github.com/lateenmesh/lateen/internal/mesh"
	"github.com/lateenmesh/lateen/internal/sortedmap"
)

// gatewayServer is one server of one Gateway selecting this proxy.
type gatewayServer struct {
	gateway *mesh.Gateway
	server  *networking.Server
}

func (s gatewayServer) gatewayName() string {
	return s.gateway.Key.Namespace + "/" + s.gateway.Key.Name
}

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

// gatewayRouteConfig binds the virtual services of the port's gateways: a
// virtual host per host in both a virtual service and a server, with the
// routes of every virtual service for that host, oldest first.
func (b *builder) gatewayRouteConfig(name string, port uint32, servers []gatewayServer) *routev3.RouteConfiguration {
	vhosts := map[string]*routev3.VirtualHost{}
	for _, srv := range servers {
		gwName := srv.gatewayName()
		for _, vs := range b.view.GatewayVirtualServices {
			for _, h := range vs.Hosts {
				for _, sh := range srv.server.Hosts {
					host := serverHostFor(sh, h, vs.Namespace, srv.gateway.Key.Namespace)
					if host == "" {
						continue
					}
					routes := b.virtualServiceRoutes(vs, routeContext{port: port, gateway: gwName, host: host})
					if len(routes) == 0 {
						continue
					}
					vh := vhosts[host]
					if vh == nil {
						vh = &routev3.VirtualHost{Name: VirtualHostName(host, port), Domains: gatewayDomains(host, port)}
						vhosts[host] = vh
					}
					vh.Routes = append(vh.Routes, routes...)
				}
			}
		}
	}
	rc := &routev3.RouteConfiguration{Name: name}
	for _, h := range sortedmap.Keys(vhosts) {
		rc.VirtualHosts = append(rc.VirtualHosts, vhosts[h])
	}
	return rc
}

// serverHostFor intersects a virtual service host with a server host
// ("[namespace/]host", where namespace "*" is any and "." the gateway's),
// returning "" when the server does not admit it.
func serverHostFor(serverHost, vsHost, vsNS, gatewayNS string) string {
	ns, h, ok := strings.Cut(serverHost, "/")
	if !ok {
		ns, h = "*", serverHost
	}
	if ns == "." {
		ns = gatewayNS
	}
	if ns != "*" && ns != vsNS {
		return ""
	}
	return hostname.Intersect(h, vsHost)
}

func gatewayDomains(host string, port uint32) []string {
	if host == "*" {
		return []string{"*"}
	}
	return slices.Clip([]string{host, VirtualHostName(host, port)})
}
