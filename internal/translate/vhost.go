package translate

import (
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"github.com/lateenmesh/lateen/internal/mesh"
)

// boundRoutes are a virtual service's routes for one place (port, gateway)
// as a virtual host receives them: cut after the first catch-all route (no
// later route could match; Istio stops there too, which keeps a merged
// gateway virtual host's catch-alls last), with references to clusters this
// proxy does not have made safe (see guardClusters).
func (b *builder) boundRoutes(vs *mesh.VirtualService, rc routeContext) []*routev3.Route {
	routes := b.virtualServiceRoutes(vs, rc)
	for i, r := range routes {
		if isCatchAllRoute(r) {
			routes = routes[:i+1]
			break
		}
	}
	for _, r := range routes {
		b.guardClusters(r)
	}
	return routes
}

// isCatchAllRoute reports whether a route matches every request: prefix
// "/" (or regex ".*") and no header or query condition.
func isCatchAllRoute(r *routev3.Route) bool {
	m := r.GetMatch()
	var all bool
	switch ps := m.GetPathSpecifier().(type) {
	case *routev3.RouteMatch_Prefix:
		all = ps.Prefix == "/"
	case *routev3.RouteMatch_PathSeparatedPrefix:
		all = ps.PathSeparatedPrefix == "/"
	case *routev3.RouteMatch_SafeRegex:
		all = ps.SafeRegex.GetRegex() == ".*"
	}
	return all && len(m.Headers) == 0 && len(m.QueryParameters) == 0 && len(m.DynamicMetadata) == 0
}

// guardClusters points a route's references to clusters this proxy does
// not have (a destination it cannot see, a subset no DestinationRule
// defines, a port the service lacks) at BlackHoleCluster, and drops such
// mirrors. Envoy answers 503 for an unknown cluster; lateen-proxy holds a
// configuration until every reference resolves, so the translator must not
// emit dangling ones.
func (b *builder) guardClusters(r *routev3.Route) {
	a := r.GetRoute()
	if a == nil {
		return
	}
	switch cs := a.ClusterSpecifier.(type) {
	case *routev3.RouteAction_Cluster:
		if !b.hasCluster(cs.Cluster) {
			cs.Cluster = BlackHoleCluster
		}
	case *routev3.RouteAction_WeightedClusters:
		for _, cw := range cs.WeightedClusters.GetClusters() {
			if !b.hasCluster(cw.Name) {
				cw.Name = BlackHoleCluster
			}
		}
	}
	kept := a.RequestMirrorPolicies[:0]
	for _, m := range a.RequestMirrorPolicies {
		if b.hasCluster(m.Cluster) {
			kept = append(kept, m)
		}
	}
	a.RequestMirrorPolicies = kept
}

// hasCluster reports whether the proxy gets cluster name. Outbound clusters
// are built before any route; the special clusters always exist.
func (b *builder) hasCluster(name string) bool {
	switch name {
	case BlackHoleCluster, PassthroughCluster:
		return true
	}
	_, ok := b.clusters[name]
	return ok || b.class != nil && b.class.hasCluster(name)
}
