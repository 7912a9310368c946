package mesh

import (
	"cmp"
	"slices"
)

// DepKind is one kind of snapshot content a proxy's view read.
type DepKind uint8

// Dependency kinds: what a ProxyView reads from its snapshot, each with
// the content digest the snapshot gives it (Snapshot.DepDigest).
const (
	// DepScope: the proxy's Sidecar, visible services (with their
	// endpoints), virtual services and, for a router, its Gateways.
	DepScope DepKind = iota + 1
	// DepWorkload: the proxy's registry workload and the services it
	// serves.
	DepWorkload
	// DepMesh: the MeshConfig and domain suffix.
	DepMesh
	// DepRules: the DestinationRules of namespace NS.
	DepRules
	// DepPolicies: the objects of kind Name in namespace NS.
	DepPolicies
	// DepCollector: the collector service Name on Port (LookupCollector).
	DepCollector
	// DepShortHost: the service a short host Name resolves to.
	DepShortHost
	// DepCredential: credential Name of namespace NS.
	DepCredential
	// DepEndpoints: the endpoints of service Name in NS (read for a
	// service outside the scope, or by a view whose scope dependency
	// leaves endpoints out).
	DepEndpoints
	// DepScopeRoutes: the scope without its services' endpoints (what
	// routes read of it).
	DepScopeRoutes
)

// Dep is one dependency of a proxy's configuration on its snapshot.
type Dep struct {
	Kind DepKind
	NS   string
	Name string
	Port uint32
}

// Deps is a set of dependencies.
type Deps map[Dep]struct{}

// Add records d.
func (ds Deps) Add(d Dep) { ds[d] = struct{}{} }

// Merge adds every dependency of other.
func (ds Deps) Merge(other Deps) {
	for d := range other {
		ds[d] = struct{}{}
	}
}

// Sorted lists the dependencies in a stable order.
func (ds Deps) Sorted() []Dep {
	out := make([]Dep, 0, len(ds))
	for d := range ds {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b Dep) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.NS, b.NS), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Port, b.Port))
	})
	return out
}

// DepState is what one proxy's configuration was built from: each
// dependency with its digest in the snapshot it was built from.
type DepState map[Dep]Digest

// record notes that the view read d (no-op for views without a recorder).
func (v *ProxyView) record(d Dep) {
	if v.deps != nil {
		v.deps[d] = struct{}{}
	}
}

// Deps returns what the view has read so far: the scope, workload and
// mesh from the start, then whatever its methods were asked. A
// translation that read the view depends on exactly these.
func (v *ProxyView) Deps() Deps { return v.deps }

// Include adds dependencies read on the proxy's behalf elsewhere (a
// translation shared by a class of proxies).
func (v *ProxyView) Include(ds Deps) {
	if v.deps != nil {
		v.deps.Merge(ds)
	}
}

// State digests the dependencies in this snapshot for proxy p.
func (s *Snapshot) State(p *Proxy, ds Deps) DepState {
	out := make(DepState, len(ds))
	for d := range ds {
		out[d] = s.DepDigest(p, d)
	}
	return out
}

// Unchanged reports whether every dependency of st has the same digest in
// this snapshot: the proxy's configuration would then be the same.
func (s *Snapshot) Unchanged(p *Proxy, st DepState) bool {
	if st == nil {
		return false
	}
	for d, was := range st {
		if s.DepDigest(p, d) != was {
			return false
		}
	}
	return true
}
