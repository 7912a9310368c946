package mesh

import (
	"cmp"
	"slices"
	"strings"

	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/lateenmesh/lateen/internal/config"
	"github.com/lateenmesh/lateen/internal/registry"
)

// ProxyView is everything one proxy's configuration may depend on. The
// translator reads nothing else. Views share the snapshot's immutable data.
type ProxyView struct {
	Proxy        *Proxy
	Mesh         *meshv1alpha1.MeshConfig
	DomainSuffix string
	// Sidecar is the Sidecar resource that applies to the proxy, or nil.
	Sidecar    *networking.Sidecar
	SidecarKey config.Key
	// Services are the services the proxy can reach, one per host name,
	// sorted by host name: those exported to its namespace, narrowed by
	// the Sidecar's egress hosts (plus the destinations of the
	// VirtualServices it imports), as Istio's sidecar scope.
	Services []*registry.Service
	// VirtualServices bound to the mesh gateway, visible to the proxy and
	// imported by its Sidecar, in Istio's order (own namespace, exported to
	// it, public; oldest first within each).
	VirtualServices []*VirtualService
	// SidecarHosts binds, for a sidecar, each host it routes by name to the
	// VirtualServices that may serve it, in the order virtual hosts are
	// built (see SidecarHost).
	SidecarHosts []SidecarHost
	// Workload is the proxy's own workload, or nil when unregistered.
	Workload *registry.Workload
	// Instances are the services the workload serves.
	Instances []*registry.Service
	// Gateways selecting a router proxy, oldest first, with the virtual
	// services bound to them (by their top-level gateways) and visible to
	// the proxy, in Istio's order.
	Gateways               []*Gateway
	GatewayVirtualServices []*VirtualService
	// Ignored explains which visible objects do not (fully) apply to this
	// proxy, and why.
	Ignored []Note

	snap     *Snapshot
	services map[string]*registry.Service
	// scope is the class of proxies this view shares its lists with.
	scope *scope
	// deps records what the view was asked (nil: not recorded);
	// endpointsApart: its scope dependency leaves endpoints out, so each
	// Endpoints call is a dependency of its own.
	deps           Deps
	endpointsApart bool
	// ruleSig caches snap.selectorSig(Proxy) ("-": not computed yet).
	ruleSig string
	// fixed, for a piece view, answers what a snapshot would (see
	// NewPieceView).
	fixed *PieceInput
}

// ViewFor returns proxy p's view of the snapshot. The lists of a view are
// shared with the other proxies of its class (same type, namespace,
// Sidecar and gateways): never modify them.
func (s *Snapshot) ViewFor(p *Proxy) *ProxyView {
	v := &ProxyView{Proxy: p, Mesh: s.Mesh, DomainSuffix: s.DomainSuffix, snap: s, ruleSig: "-",
		deps: Deps{{Kind: DepScope}: {}, {Kind: DepWorkload}: {}, {Kind: DepMesh}: {}}}
	sidecar := s.sidecarFor(p)
	if sidecar != nil {
		v.Sidecar, v.SidecarKey = sidecar.Spec.(*networking.Sidecar), sidecar.Key()
	}
	sc := s.scopeFor(p, sidecar, s.routerGateways(p))
	v.scope, v.services, v.Services = sc, sc.byHost, sc.services
	v.VirtualServices, v.SidecarHosts = sc.virtualServices, sc.sidecarHosts
	v.Gateways, v.GatewayVirtualServices, v.Ignored = sc.gateways, sc.gatewayVirtualServices, sc.ignored
	v.Workload = s.workloadOf(p)
	if v.Workload != nil {
		v.Instances = s.instancesOf(v.Workload)
	}
	return v
}

func sortServices(svcs []*registry.Service) {
	slices.SortFunc(svcs, func(a, b *registry.Service) int { return cmp.Compare(a.Hostname, b.Hostname) })
}

// Service returns the visible service for a host name, or nil.
func (v *ProxyView) Service(host string) *registry.Service {
	if v.fixed != nil {
		return v.fixed.service(host)
	}
	return v.services[host]
}

// Endpoints returns the endpoints of a visible service's port.
func (v *ProxyView) Endpoints(svc *registry.Service, port uint32) []registry.Endpoint {
	if v.fixed != nil {
		return v.fixed.endpoints(svc, port)
	}
	if v.endpointsApart || v.services[svc.Hostname] != svc {
		v.record(Dep{Kind: DepEndpoints, NS: svc.Namespace, Name: svc.Hostname})
	}
	return v.snap.Registry.Endpoints(svc, port)
}

// snapshot is the view's snapshot; a piece view has none, and reading
// what its input does not hold is a programming error.
func (v *ProxyView) snapshot() *Snapshot {
	if v.snap == nil {
		panic("mesh: a piece view was asked for something outside its input")
	}
	return v.snap
}

// UsesSourceLabels reports whether a virtual service of the view matches
// on source labels (so routes depend on the proxy's labels).
func (v *ProxyView) UsesSourceLabels() bool { return v.scope != nil && v.scope.usesSourceLabels }

// servicesByAge lists the registry's services oldest first, as Istio
// indexes them.
func servicesByAge(r *registry.Registry) []*registry.Service {
	out := slices.Clone(r.Services())
	slices.SortStableFunc(out, func(a, b *registry.Service) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Hostname, b.Hostname))
	})
	return out
}

// visibleServices lists the services visible from namespace ns in Istio's
// order: own namespace, exported to ns, public; oldest first in each.
func (s *Snapshot) visibleServices(ns string) []*registry.Service {
	var byClass [publicClass + 1][]*registry.Service
	for _, svc := range s.servicesByAge {
		c := exportClassFor(svc.Namespace, svc.ExportTo, s.Mesh.DefaultServiceExportTo, ns)
		byClass[c] = append(byClass[c], svc)
	}
	return slices.Concat(byClass[privateClass], byClass[exportedClass], byClass[publicClass])
}

// defaultServices is the scope without Sidecar egress: every visible
// service, the first in Istio's order winning a host name shared by
// several services.
func (s *Snapshot) defaultServices(ns string) []*registry.Service {
	seen := map[string]bool{}
	var out []*registry.Service
	for _, svc := range s.visibleServices(ns) {
		if !seen[svc.Hostname] {
			seen[svc.Hostname] = true
			out = append(out, svc)
		}
	}
	return out
}

// visibleVirtualServices lists the virtual services bound (by their
// top-level gateways) to one of gateways and visible from namespace ns, in
// Istio's order.
func (s *Snapshot) visibleVirtualServices(ns string, gateways []string) []*VirtualService {
	var byClass [publicClass + 1][]*VirtualService
	for _, vs := range s.virtualServices {
		if !slices.ContainsFunc(vs.Gateways, func(g string) bool { return slices.Contains(gateways, g) }) {
			continue
		}
		c := exportClassFor(vs.Namespace, vs.Spec.ExportTo, s.Mesh.DefaultVirtualServiceExportTo, ns)
		byClass[c] = append(byClass[c], vs)
	}
	return slices.Concat(byClass[privateClass], byClass[exportedClass], byClass[publicClass])
}

// sidecarFor picks the Sidecar for p: a selector match in its namespace
// (oldest), else its namespace's default, else the root namespace default.
func (s *Snapshot) sidecarFor(p *Proxy) *config.Object {
	if p.Type != Sidecar {
		return nil
	}
	var nsDefault *config.Object
	for _, obj := range s.sidecars[p.Namespace] {
		sc := obj.Spec.(*networking.Sidecar)
		if sc.WorkloadSelector == nil {
			if nsDefault == nil {
				nsDefault = obj
			}
			continue
		}
		if registry.SelectorMatches(sc.WorkloadSelector.Labels, p.Labels) {
			return obj
		}
	}
	if nsDefault != nil {
		return nsDefault
	}
	for _, obj := range s.sidecars[s.Mesh.RootNamespace] {
		if obj.Spec.(*networking.Sidecar).WorkloadSelector == nil {
			return obj
		}
	}
	return nil
}

func (s *Snapshot) gatewaysFor(p *Proxy) []*Gateway {
	var out []*Gateway
	for _, g := range s.gateways {
		if len(g.Spec.Selector) > 0 && registry.SelectorMatches(g.Spec.Selector, p.Labels) {
			out = append(out, g)
		}
	}
	return out
}

func gatewayNames(gws []*Gateway) []string {
	out := make([]string, len(gws))
	for i, g := range gws {
		out[i] = g.Name()
	}
	return out
}

// cutSlash splits "namespace/host".
func cutSlash(s string) (string, string, bool) { return strings.Cut(s, "/") }
