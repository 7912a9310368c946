package mesh

import (
	"fmt"
	"sync"

	"github.com/lateenmesh/lateen/internal/config"
	"github.com/lateenmesh/lateen/internal/registry"
)

// digests are the content digests of one snapshot, computed on first use.
type digests struct {
	mu       sync.Mutex
	services map[*registry.Service]Digest
	byDep    map[Dep]Digest // proxy-independent dependencies
	pointers map[any]Digest // immutable objects by identity
}

// ServiceDigest is the content digest of a service with its endpoints
// (every field of both, and of the workloads behind the endpoints).
func (s *Snapshot) ServiceDigest(svc *registry.Service) Digest {
	d := &s.memo.digests
	d.mu.Lock()
	dg, ok := d.services[svc]
	d.mu.Unlock()
	if ok {
		return dg
	}
	eps := make([][]registry.Endpoint, len(svc.Ports))
	for i, p := range svc.Ports {
		eps[i] = s.Registry.Endpoints(svc, p.Number)
	}
	dg = DigestOf(svc, eps)
	d.mu.Lock()
	if d.services == nil {
		d.services = map[*registry.Service]Digest{}
	}
	d.services[svc] = dg
	d.mu.Unlock()
	return dg
}

// MeshDigest digests the MeshConfig and domain suffix.
func (s *Snapshot) MeshDigest() Digest { return s.DepDigest(nil, Dep{Kind: DepMesh}) }

// scopeDigests cover everything a scope holds: its services (with and,
// for the second, without their endpoints), virtual services, Sidecar and
// gateways; host bindings and notes derive from those.
func (s *Snapshot) scopeDigests(sc *scope, sidecar *config.Object) (all, routes Digest) {
	withEps := make([]Digest, 0, len(sc.services)+2)
	without := make([]Digest, 0, len(sc.services)+2)
	for _, svc := range sc.services {
		withEps = append(withEps, s.ServiceDigest(svc))
		without = append(without, s.pointerDigest(svc))
	}
	var sidecarSpec any
	if sidecar != nil {
		sidecarSpec = sidecar.Spec
	}
	rest := []Digest{DigestOf(sc.virtualServices, sc.gatewayVirtualServices, sc.gateways),
		DigestOf(sidecar != nil, sidecarKey(sidecar), sidecarSpec)}
	return Combine(append(withEps, rest...)...), Combine(append(without, rest...)...)
}

func sidecarKey(o *config.Object) config.Key {
	if o == nil {
		return config.Key{}
	}
	return o.Key()
}

// DepDigest is the digest of one dependency of proxy p in this snapshot.
func (s *Snapshot) DepDigest(p *Proxy, d Dep) Digest {
	switch d.Kind {
	case DepScope:
		return s.scopeFor(p, s.sidecarFor(p), s.routerGateways(p)).digest
	case DepScopeRoutes:
		return s.scopeFor(p, s.sidecarFor(p), s.routerGateways(p)).routesDigest
	case DepWorkload:
		w := s.workloadOf(p)
		if w == nil {
			return Digest{}
		}
		parts := []Digest{DigestOf(w)}
		for _, svc := range s.instancesOf(w) {
			parts = append(parts, s.ServiceDigest(svc))
		}
		return Combine(parts...)
	}
	dd := &s.memo.digests
	dd.mu.Lock()
	dg, ok := dd.byDep[d]
	dd.mu.Unlock()
	if ok {
		return dg
	}
	dg = s.sharedDigest(d)
	dd.mu.Lock()
	if dd.byDep == nil {
		dd.byDep = map[Dep]Digest{}
	}
	dd.byDep[d] = dg
	dd.mu.Unlock()
	return dg
}

// sharedDigest digests a dependency that does not depend on the proxy.
func (s *Snapshot) sharedDigest(d Dep) Digest {
	switch d.Kind {
	case DepMesh:
		return DigestOf(s.Mesh, s.DomainSuffix)
	case DepRules:
		return DigestOf(s.destinationRules[d.NS])
	case DepPolicies:
		var objs []*config.Object
		for _, o := range s.Config.List(kindNamed(d.Name)) {
			if o.Meta.Namespace == d.NS {
				objs = append(objs, o)
			}
		}
		return DigestOf(objectContents(objs))
	case DepCollector:
		c, ok := s.lookupCollector(d.Name, d.Port)
		return DigestOf(c, ok)
	case DepShortHost:
		svc := s.serviceByShortHost(d.Name)
		if svc == nil {
			return Digest{}
		}
		return DigestOf(svc.Hostname, svc.Namespace)
	case DepCredential:
		return DigestOf(s.Credentials.Get(d.NS, d.Name))
	case DepEndpoints:
		var parts []Digest
		for _, svc := range s.Registry.ServicesFor(d.Name) {
			if svc.Namespace == d.NS {
				parts = append(parts, s.ServiceDigest(svc))
			}
		}
		return Combine(parts...)
	}
	panic(fmt.Sprintf("mesh: unknown dependency kind %d", d.Kind))
}

// objectContent is what translation can read of an object: everything
// but where it was read from.
type objectContent struct {
	Kind config.Kind
	Meta config.Meta
	Spec any
	Raw  []byte
}

func objectContents(objs []*config.Object) []objectContent {
	out := make([]objectContent, len(objs))
	for i, o := range objs {
		out[i] = objectContent{Kind: o.Kind, Meta: o.Meta, Spec: o.Spec, Raw: o.Raw}
	}
	return out
}

// kindName names a kind in a DepPolicies dependency.
func kindName(k config.Kind) string { return k.Group + "/" + k.Name }

func kindNamed(name string) config.Kind {
	for _, k := range config.Kinds() {
		if kindName(k) == name {
			return k
		}
	}
	panic("mesh: unknown kind " + name)
}

// routerGateways are the gateways selecting a router (nil for sidecars).
func (s *Snapshot) routerGateways(p *Proxy) []*Gateway {
	if p.Type != Router {
		return nil
	}
	return s.gatewaysFor(p)
}

// ServiceDigest is Snapshot.ServiceDigest for a visible service.
func (v *ProxyView) ServiceDigest(svc *registry.Service) Digest {
	if svc == nil {
		return Digest{}
	}
	return v.snapshot().ServiceDigest(svc)
}

// RuleDigest digests a DestinationRule the view returned (zero for nil).
func (v *ProxyView) RuleDigest(dr *DestinationRule) Digest {
	if dr == nil {
		return Digest{}
	}
	return v.snapshot().pointerDigest(dr)
}

// VirtualServiceDigest digests a VirtualService of the view.
func (v *ProxyView) VirtualServiceDigest(vs *VirtualService) Digest {
	return v.snapshot().pointerDigest(vs)
}

// MeshDigest digests the view's MeshConfig and domain suffix.
func (v *ProxyView) MeshDigest() Digest { return v.snapshot().MeshDigest() }

// pointerDigest memoizes DigestOf for the snapshot's immutable objects.
func (s *Snapshot) pointerDigest(p any) Digest {
	d := &s.memo.digests
	d.mu.Lock()
	dg, ok := d.pointers[p]
	d.mu.Unlock()
	if ok {
		return dg
	}
	dg = DigestOf(p)
	d.mu.Lock()
	if d.pointers == nil {
		d.pointers = map[any]Digest{}
	}
	d.pointers[p] = dg
	d.mu.Unlock()
	return dg
}
