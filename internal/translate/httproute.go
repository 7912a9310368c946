package translate

import (
	"slices"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/lateenmesh/lateen/internal/hostname"
	"github.com/lateenmesh/lateen/internal/mesh"
	"github.com/lateenmesh/lateen/internal/registry"
)

// routeContext is where a virtual service's routes are being placed: the
// port of the listener and the gateway ("mesh" for sidecars) serving it.
type routeContext struct {
	port    uint32
	gateway string
	host    string // the service host the virtual host is for
}

// virtualServiceRoutes translates a virtual service's http section for one
// context. Each match of a rule becomes its own route (matches are ORed),
// kept in order so the first matching rule wins; matches that cannot apply
// here (another port, gateway, source) are left out.
func (b *builder) virtualServiceRoutes(vs *mesh.VirtualService, rc routeContext) []*routev3.Route {
	var routes []*routev3.Route
	for _, hr := range vs.Spec.Http {
		if len(hr.Match) == 0 {
			if slices.Contains(vs.Gateways, rc.gateway) {
				routes = append(routes, b.httpRoute(vs, hr, nil, rc))
			}
			continue
		}
		for _, m := range hr.Match {
			if b.matchApplies(vs, m, rc) {
				routes = append(routes, b.httpRoute(vs, hr, m, rc))
			}
		}
	}
	return routes
}

// matchApplies evaluates the parts of a match that depend on where the
// route is placed rather than on the request.
func (b *builder) matchApplies(vs *mesh.VirtualService, m *networking.HTTPMatchRequest, rc routeContext) bool {
	if m.Port != 0 && m.Port != rc.port {
		return false
	}
	gateways := vs.Gateways
	if len(m.Gateways) > 0 {
		gateways = mesh.ResolveGateways(m.Gateways, vs.Namespace)
	}
	if !slices.Contains(gateways, rc.gateway) {
		return false
	}
	p := b.view.Proxy
	if len(m.SourceLabels) > 0 && !registry.SelectorMatches(m.SourceLabels, p.Labels) {
		return false
	}
	return m.SourceNamespace == "" || m.SourceNamespace == p.Namespace
}

func (b *builder) httpRoute(vs *mesh.VirtualService, hr *networking.HTTPRoute, m *networking.HTTPMatchRequest, rc routeContext) *routev3.Route {
	r := &routev3.Route{Name: routeName(hr, m), Match: translateMatch(m)}
	r.RequestHeadersToAdd, r.RequestHeadersToRemove = headerOps(hr.GetHeaders().GetRequest())
	r.ResponseHeadersToAdd, r.ResponseHeadersToRemove = headerOps(hr.GetHeaders().GetResponse())
	switch {
	case hr.Redirect != nil:
		r.Action = &routev3.Route_Redirect{Redirect: translateRedirect(hr.Redirect)}
	case hr.DirectResponse != nil:
		r.Action = &routev3.Route_DirectResponse{DirectResponse: translateDirectResponse(hr.DirectResponse)}
	default:
		r.Action = &routev3.Route_Route{Route: b.routeAction(vs, hr, rc)}
	}
	return r
}

func routeName(hr *networking.HTTPRoute, m *networking.HTTPMatchRequest) string {
	switch {
	case m != nil && m.Name != "" && hr.Name != "":
		return hr.Name + "." + m.Name
	case m != nil && m.Name != "":
		return m.Name
	default:
		return hr.Name
	}
}

func (b *builder) routeAction(vs *mesh.VirtualService, hr *networking.HTTPRoute, rc routeContext) *routev3.RouteAction {
	a := &routev3.RouteAction{Timeout: zeroDuration(), RetryPolicy: b.retryPolicy(hr.Retries)}
	if hr.Timeout != nil {
		a.Timeout = hr.Timeout
	}
	b.setDestinations(a, vs, hr.Route, rc)
	if rw := hr.Rewrite; rw != nil {
		setRewrite(a, rw, hr.Match)
	}
	return a
}

func (b *builder) setDestinations(a *routev3.RouteAction, vs *mesh.VirtualService, dsts []*networking.HTTPRouteDestination, rc routeContext) {
	var weighted []*routev3.WeightedCluster_ClusterWeight
	for _, d := range dsts {
		if len(dsts) > 1 && d.Weight == 0 {
			continue // a zero weight among several sends no traffic
		}
		cw := &routev3.WeightedCluster_ClusterWeight{Name: b.destinationCluster(vs, d.Destination, rc)}
		if len(dsts) > 1 {
			cw.Weight = wrapUInt32(uint32(d.Weight))
		}
		cw.RequestHeadersToAdd, cw.RequestHeadersToRemove = headerOps(d.GetHeaders().GetRequest())
		cw.ResponseHeadersToAdd, cw.ResponseHeadersToRemove = headerOps(d.GetHeaders().GetResponse())
		weighted = append(weighted, cw)
	}
	if len(weighted) == 1 && !hasHeaderOps(weighted[0]) {
		a.ClusterSpecifier = &routev3.RouteAction_Cluster{Cluster: weighted[0].Name}
		return
	}
	if len(weighted) == 1 {
		weighted[0].Weight = wrapUInt32(100)
	}
	a.ClusterSpecifier = &routev3.RouteAction_WeightedClusters{WeightedClusters: &routev3.WeightedCluster{Clusters: weighted}}
}

func hasHeaderOps(cw *routev3.WeightedCluster_ClusterWeight) bool {
	return len(cw.RequestHeadersToAdd)+len(cw.RequestHeadersToRemove)+len(cw.ResponseHeadersToAdd)+len(cw.ResponseHeadersToRemove) > 0
}

// destinationCluster names the cluster of a route destination. Its host is
// resolved in the virtual service's namespace; without a port, a service
// with a single port uses that one, otherwise the port of the listener.
func (b *builder) destinationCluster(vs *mesh.VirtualService, d *networking.Destination, rc routeContext) string {
	host := hostname.Resolve(d.GetHost(), vs.Namespace, b.view.DomainSuffix)
	port := d.GetPort().GetNumber()
	if port == 0 {
		port = rc.port
		if svc := b.view.Service(host); svc != nil && len(svc.Ports) == 1 {
			port = svc.Ports[0].Number
		}
	}
	return OutboundCluster(port, d.GetSubset(), host)
}
