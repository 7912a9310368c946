package translate

import (
	"slices"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"

	"github.com/lateenmesh/lateen/internal/hostname"
	"github.com/lateenmesh/lateen/internal/mesh"
	"github.com/lateenmesh/lateen/internal/registry"
)

// routesInput is everything the routes of one sidecar host on one port
// (meshRoutes) are built from: buildRoutesPiece reads nothing else (it
// translates through a piece view that answers from this input only), and
// routesKey has one field per field here.
type routesInput struct {
	Host            string
	Port            uint32
	Service         *registry.Service      // the host's service, or nil
	VirtualServices []*mesh.VirtualService // bound to the host, the binding one first
	Proxy           routesProxy
	DomainSuffix    string
	Mesh            *meshv1alpha1.MeshConfig
	// Destinations are, for every host the routes may send or mirror to
	// (and the host itself), its visible service and DestinationRule.
	Destinations map[string]destination
	// Decorate: the routes carry tracing decorators (the proxy traces
	// its outbound requests).
	Decorate bool
}

// routesProxy is what routes read of the proxy: its namespace (source
// namespace matches) and, when a bound VirtualService matches on source
// labels, its labels (nil otherwise).
type routesProxy struct {
	Namespace string
	Labels    map[string]string
}

// destination is what routes read of a destination host.
type destination struct {
	Service *registry.Service
	Rule    *mesh.DestinationRule
}

// routesKey identifies a routesInput by content, field by field.
type routesKey struct {
	Host            string
	Port            uint32
	Service         mesh.Digest
	VirtualServices mesh.Digest
	Proxy           mesh.Digest
	DomainSuffix    string
	Mesh            mesh.Digest
	Destinations    mesh.Digest
	Decorate        bool
}

// key digests the input; positional, so that a field added to routesKey
// (and routesInput) must be keyed here.
func (in *routesInput) key(d *keyDigests) routesKey {
	vss := make([]mesh.Digest, len(in.VirtualServices))
	for i, vs := range in.VirtualServices {
		vss[i] = d.view.VirtualServiceDigest(vs)
	}
	return routesKey{in.Host, in.Port, d.view.ServiceDigest(in.Service), mesh.Combine(vss...), d.routesProxy(in.Proxy),
		in.DomainSuffix, d.mesh(), destinationsDigest(d.view, in.Destinations), in.Decorate}
}

func destinationsDigest(v *mesh.ProxyView, dsts map[string]destination) mesh.Digest {
	hosts := make([]string, 0, len(dsts))
	for h := range dsts {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	parts := make([]mesh.Digest, 0, 3*len(hosts))
	for _, h := range hosts {
		d := dsts[h]
		parts = append(parts, mesh.DigestOf(h), v.ServiceDigest(d.Service), v.RuleDigest(d.Rule))
	}
	return mesh.Combine(parts...)
}

// routesInput collects the input of a sidecar host's routes on a port.
func (b *builder) routesInput(sh mesh.SidecarHost, port uint32) *routesInput {
	in := &routesInput{Host: sh.Host, Port: port, Service: sh.Service, VirtualServices: sh.VirtualServices,
		Proxy: routesProxy{Namespace: b.view.Proxy.Namespace}, DomainSuffix: b.view.DomainSuffix, Mesh: b.view.Mesh,
		Destinations: map[string]destination{}, Decorate: b.outboundDecorate()}
	add := func(h string) {
		if _, ok := in.Destinations[h]; !ok {
			in.Destinations[h] = destination{Service: b.view.Service(h), Rule: b.view.DestinationRule(h)}
		}
	}
	add(sh.Host)
	for _, vs := range sh.VirtualServices {
		for _, h := range routeHosts(vs, b.view.DomainSuffix) {
			add(h)
		}
		if in.Proxy.Labels == nil && usesSourceLabels(vs) {
			in.Proxy.Labels = b.view.Proxy.Labels
		}
	}
	return in
}

// routeHosts lists every host a VirtualService's HTTP routes name as a
// destination or mirror, resolved in its namespace as routes resolve them.
func routeHosts(vs *mesh.VirtualService, suffix string) []string {
	var out []string
	for _, hr := range vs.Spec.Http {
		for _, d := range hr.Route {
			out = append(out, hostname.Resolve(d.GetDestination().GetHost(), vs.Namespace, suffix))
		}
		if hr.Mirror != nil {
			out = append(out, hostname.Resolve(hr.Mirror.GetHost(), vs.Namespace, suffix))
		}
		for _, m := range hr.Mirrors {
			out = append(out, hostname.Resolve(m.GetDestination().GetHost(), vs.Namespace, suffix))
		}
	}
	return out
}

func usesSourceLabels(vs *mesh.VirtualService) bool {
	for _, hr := range vs.Spec.Http {
		for _, m := range hr.Match {
			if len(m.SourceLabels) > 0 {
				return true
			}
		}
	}
	return false
}

// buildRoutesPiece translates the routes of a sidecar host on a port from
// their input alone, decorated for tracing when the input says so.
func buildRoutesPiece(in *routesInput) []*routev3.Route {
	pi := &mesh.PieceInput{Services: map[string]*registry.Service{}, Rules: map[string]*mesh.DestinationRule{}}
	for h, d := range in.Destinations {
		pi.Services[h], pi.Rules[h] = d.Service, d.Rule
	}
	proxy := &mesh.Proxy{Namespace: in.Proxy.Namespace, Labels: in.Proxy.Labels}
	pb := newBuilder(mesh.NewPieceView(proxy, in.Mesh, in.DomainSuffix, nil, pi), nil)
	for _, h := range sortedMapKeys(in.Destinations) {
		pb.addDestinationClusters(h, in.Destinations[h])
	}
	sh := mesh.SidecarHost{Host: in.Host, Service: in.Service, VirtualServices: in.VirtualServices}
	routes := pb.buildMeshRoutes(sh, in.Port)
	if in.Decorate {
		pb.decorate(&routev3.RouteConfiguration{VirtualHosts: []*routev3.VirtualHost{{Routes: routes}}}, classOutbound)
	}
	return slices.Clip(routes)
}

// addDestinationClusters records the outbound clusters the proxy has for
// a destination host (as outboundClusters builds them: every port of its
// visible service, with and without each subset of its rule), so that
// guardClusters sees the same clusters as in a whole translation.
func (b *builder) addDestinationClusters(host string, d destination) {
	if d.Service == nil || d.Service.Hostname != host {
		return
	}
	for _, p := range d.Service.Ports {
		b.clusters[OutboundCluster(p.Number, "", host)] = nil
		if d.Rule == nil {
			continue
		}
		for _, ss := range d.Rule.Spec.Subsets {
			b.clusters[OutboundCluster(p.Number, ss.GetName(), host)] = nil
		}
	}
}
