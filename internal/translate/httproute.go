package translate

import (
	"slices"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
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

// httpRoute translates one rule (for one of its matches) as Istio does:
// header operations, the action (redirect, direct response or forwarding)
// and the fault and CORS filters' per-route configs.
func (b *builder) httpRoute(vs *mesh.VirtualService, hr *networking.HTTPRoute, m *networking.HTTPMatchRequest, rc routeContext) *routev3.Route {
	r := &routev3.Route{Name: routeName(hr, m), Match: translateMatch(m)}
	ops := translateHeaders(hr.GetHeaders())
	r.RequestHeadersToAdd, r.RequestHeadersToRemove = ops.requestAdd, ops.requestRemove
	r.ResponseHeadersToAdd, r.ResponseHeadersToRemove = ops.responseAdd, ops.responseRemove
	switch {
	case hr.Redirect != nil:
		r.Action = &routev3.Route_Redirect{Redirect: translateRedirect(hr.Redirect, rc.port)}
	case hr.DirectResponse != nil:
		r.Action = &routev3.Route_DirectResponse{DirectResponse: translateDirectResponse(hr.DirectResponse)}
	default:
		a := b.routeAction(vs, hr, rc, r, ops.authority)
		a.RetryPolicy = b.retryPolicy(hr.Retries, len(hr.Route) == 1 && len(a.HashPolicy) > 0)
		r.Action = &routev3.Route_Route{Route: a}
	}
	r.TypedPerFilterConfig = perFilterConfigs(hr)
	return r
}

// perFilterConfigs holds the fault and CORS filters' configs for a route.
func perFilterConfigs(hr *networking.HTTPRoute) map[string]*anypb.Any {
	cfgs := map[string]*anypb.Any{}
	if f := translateFault(hr.Fault); f != nil {
		cfgs[faultFilterName] = mustAny(f)
	}
	if hr.CorsPolicy != nil {
		cfgs[corsFilterName] = mustAny(translateCORS(hr.CorsPolicy))
	}
	if len(cfgs) == 0 {
		return nil
	}
	return cfgs
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

// routeAction forwards to the rule's destinations: timeout (none unless
// set; gRPC requests honour their grpc-timeout up to it), rewrites, the
// host rewrite (from rewrite.authority or a host header), mirrors. The
// caller adds the retry policy.
func (b *builder) routeAction(vs *mesh.VirtualService, hr *networking.HTTPRoute, rc routeContext, r *routev3.Route, authority string) *routev3.RouteAction {
	a := &routev3.RouteAction{Timeout: zeroDuration(), MaxGrpcTimeout: zeroDuration()}
	if hr.Timeout != nil {
		a.Timeout, a.MaxGrpcTimeout = hr.Timeout, hr.Timeout
	}
	if rw := hr.Rewrite; rw != nil {
		authority = setRewrite(a, rw, authority)
	}
	if authority != "" {
		a.HostRewriteSpecifier = &routev3.RouteAction_HostRewriteLiteral{HostRewriteLiteral: authority}
	}
	a.RequestMirrorPolicies = b.mirrorPolicies(vs, hr, rc)
	b.setDestinations(a, r, vs, hr.Route, rc)
	b.setHashPolicy(a, vs, hr.Route)
	return a
}

// setDestinations follows Istio: a single destination is the route's
// cluster, its header operations join the route's and its authority
// rewrites the host unless the route already does; several are weighted
// clusters (zero weights left out), each with its header operations and
// host rewrite.
func (b *builder) setDestinations(a *routev3.RouteAction, r *routev3.Route, vs *mesh.VirtualService, dsts []*networking.HTTPRouteDestination, rc routeContext) {
	if len(dsts) == 1 {
		a.ClusterSpecifier = &routev3.RouteAction_Cluster{Cluster: b.destinationCluster(vs, dsts[0].Destination, rc)}
		ops := translateHeaders(dsts[0].GetHeaders())
		r.RequestHeadersToAdd = append(r.RequestHeadersToAdd, ops.requestAdd...)
		r.RequestHeadersToRemove = append(r.RequestHeadersToRemove, ops.requestRemove...)
		r.ResponseHeadersToAdd = append(r.ResponseHeadersToAdd, ops.responseAdd...)
		r.ResponseHeadersToRemove = append(r.ResponseHeadersToRemove, ops.responseRemove...)
		if ops.authority != "" && a.HostRewriteSpecifier == nil {
			a.HostRewriteSpecifier = &routev3.RouteAction_HostRewriteLiteral{HostRewriteLiteral: ops.authority}
		}
		return
	}
	var weighted []*routev3.WeightedCluster_ClusterWeight
	for _, d := range dsts {
		if d.Weight == 0 {
			continue // a zero weight among several sends no traffic
		}
		ops := translateHeaders(d.GetHeaders())
		cw := &routev3.WeightedCluster_ClusterWeight{
			Name: b.destinationCluster(vs, d.Destination, rc), Weight: wrapperspb.UInt32(uint32(d.Weight)),
			RequestHeadersToAdd: ops.requestAdd, RequestHeadersToRemove: ops.requestRemove,
			ResponseHeadersToAdd: ops.responseAdd, ResponseHeadersToRemove: ops.responseRemove,
		}
		if ops.authority != "" {
			cw.HostRewriteSpecifier = &routev3.WeightedCluster_ClusterWeight_HostRewriteLiteral{HostRewriteLiteral: ops.authority}
		}
		weighted = append(weighted, cw)
	}
	a.ClusterSpecifier = &routev3.RouteAction_WeightedClusters{WeightedClusters: &routev3.WeightedCluster{Clusters: weighted}}
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
