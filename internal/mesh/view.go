package mesh

import (
	"cmp"
	"slices"

	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/lateenmesh/lateen/internal/config"
	"github.com/lateenmesh/lateen/internal/hostname"
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
	// sorted by host name.
	Services []*registry.Service
	// VirtualServices bound to the mesh gateway and visible to the proxy,
	// oldest first.
	VirtualServices []*VirtualService
	// Workload is the proxy's own workload, or nil when unregistered.
	Workload *registry.Workload
	// Instances are the services the workload serves.
	Instances []*registry.Service
	// Gateways selecting a router proxy, oldest first, with the virtual
	// services bound to them.
	Gateways               []*Gateway
	GatewayVirtualServices []*VirtualService

	snap     *Snapshot
	services map[string]*registry.Service
}

// ViewFor returns proxy p's view of the snapshot.
func (s *Snapshot) ViewFor(p *Proxy) *ProxyView {
	v := &ProxyView{Proxy: p, Mesh: s.Mesh, DomainSuffix: s.DomainSuffix, snap: s, services: map[string]*registry.Service{}}
	if obj := s.sidecarFor(p); obj != nil {
		v.Sidecar, v.SidecarKey = obj.Spec.(*networking.Sidecar), obj.Key()
	}
	for _, svc := range s.Registry.Services() {
		if _, dup := v.services[svc.Hostname]; dup || !s.serviceVisible(svc, p, v.Sidecar) {
			continue
		}
		v.services[svc.Hostname] = s.preferLocal(svc, p)
	}
	for _, svc := range v.services {
		v.Services = append(v.Services, svc)
	}
	slices.SortFunc(v.Services, func(a, b *registry.Service) int { return cmp.Compare(a.Hostname, b.Hostname) })
	v.Workload = s.workloadOf(p)
	if v.Workload != nil {
		v.Instances = s.Registry.InstancesOf(v.Workload)
	}
	if p.Type == Router {
		v.Gateways = s.gatewaysFor(p)
		v.GatewayVirtualServices = s.virtualServicesFor(p, gatewayNames(v.Gateways), nil)
	} else {
		v.VirtualServices = s.virtualServicesFor(p, []string{MeshGateway}, v.Sidecar)
	}
	return v
}

// Service returns the visible service for a host name, or nil.
func (v *ProxyView) Service(host string) *registry.Service { return v.services[host] }

// Endpoints returns the endpoints of a visible service's port.
func (v *ProxyView) Endpoints(svc *registry.Service, port uint32) []registry.Endpoint {
	return v.snap.Registry.Endpoints(svc, port)
}

// preferLocal picks, among services sharing a host name, the one in the
// proxy's namespace, else the oldest visible one.
func (s *Snapshot) preferLocal(first *registry.Service, p *Proxy) *registry.Service {
	for _, svc := range s.Registry.ServicesFor(first.Hostname) {
		if svc.Namespace == p.Namespace {
			return svc
		}
	}
	return first
}

func (s *Snapshot) serviceVisible(svc *registry.Service, p *Proxy, sc *networking.Sidecar) bool {
	if !visibleTo(svc.Namespace, svc.ExportTo, s.Mesh.DefaultServiceExportTo, p.Namespace) {
		return false
	}
	if sc == nil || len(sc.Egress) == 0 {
		return true
	}
	for _, eg := range sc.Egress {
		if egressHostsMatch(eg.Hosts, svc.Namespace, svc.Hostname, p.Namespace) {
			return true
		}
	}
	return false
}

// egressHostsMatch applies Sidecar egress "namespace/host" entries.
func egressHostsMatch(hosts []string, ns, host, proxyNS string) bool {
	for _, h := range hosts {
		hns, hh, ok := cutSlash(h)
		if !ok {
			continue
		}
		switch hns {
		case "~":
			continue
		case ".":
			hns = proxyNS
		}
		if (hns == "*" || hns == ns) && hostname.Matches(hh, host) {
			return true
		}
	}
	return false
}

func cutSlash(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return s[:i], s[i+1:], true
		}
	}
	return "", "", false
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

// workloadOf finds the registry workload of a proxy by namespace and address.
func (s *Snapshot) workloadOf(p *Proxy) *registry.Workload {
	for _, w := range s.Registry.Workloads() {
		if w.Namespace == p.Namespace && slices.Contains(p.IPs, w.Address) {
			return w
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
		out[i] = g.Key.Namespace + "/" + g.Key.Name
	}
	return out
}

// virtualServicesFor lists the virtual services bound to one of gateways
// (at the top level or in a route match) and visible to the proxy; for
// sidecars, a Sidecar's egress hosts narrow them too.
func (s *Snapshot) virtualServicesFor(p *Proxy, gateways []string, sc *networking.Sidecar) []*VirtualService {
	var out []*VirtualService
	for _, vs := range s.virtualServices {
		if !visibleTo(vs.Namespace, vs.Spec.ExportTo, s.Mesh.DefaultVirtualServiceExportTo, p.Namespace) {
			continue
		}
		if !bindsAny(vs, gateways) {
			continue
		}
		if sc != nil && len(sc.Egress) > 0 && !vsInSidecarScope(vs, sc, p.Namespace) {
			continue
		}
		out = append(out, vs)
	}
	return out
}

func bindsAny(vs *VirtualService, gateways []string) bool {
	for _, g := range vs.Gateways {
		if slices.Contains(gateways, g) {
			return true
		}
	}
	for _, r := range vs.Spec.Http {
		for _, m := range r.Match {
			for _, g := range m.Gateways {
				if slices.Contains(gateways, ResolveGateway(g, vs.Namespace)) {
					return true
				}
			}
		}
	}
	return false
}

func vsInSidecarScope(vs *VirtualService, sc *networking.Sidecar, proxyNS string) bool {
	for _, eg := range sc.Egress {
		for _, h := range vs.Hosts {
			if egressHostsMatch(eg.Hosts, vs.Namespace, h, proxyNS) {
				return true
			}
			for _, eh := range eg.Hosts {
				if _, hh, ok := cutSlash(eh); ok && hostname.Matches(h, hh) {
					return true
				}
			}
		}
	}
	return false
}
