package mesh

import (
	"slices"

	networking "istio.io/api/networking/v1alpha3"

	"github.com/lateenmesh/lateen/internal/hostname"
	"github.com/lateenmesh/lateen/internal/registry"
)

// egressImports are a Sidecar's egress hosts, "namespace/host", by
// namespace: "*" is any namespace, "." was replaced by the proxy's, and "~"
// (no namespace) matches nothing.
type egressImports map[string][]string

// parseEgress reads the hosts of every egress listener; nil when the
// Sidecar does not narrow egress.
func parseEgress(sc *networking.Sidecar, proxyNS string) egressImports {
	if sc == nil || len(sc.Egress) == 0 {
		return nil
	}
	imp := egressImports{}
	for _, eg := range sc.Egress {
		for _, h := range eg.Hosts {
			ns, host, ok := cutSlash(h)
			if !ok {
				continue
			}
			if ns == "." {
				ns = proxyNS
			}
			imp[ns] = append(imp[ns], host)
		}
	}
	return imp
}

// importsService applies Istio's rule: hosts listed for the service's own
// namespace decide alone; otherwise "*/" hosts do. The service's host must
// fall under an imported host.
func (imp egressImports) importsService(svc *registry.Service) bool {
	hosts, ok := imp[svc.Namespace]
	if !ok {
		hosts = imp["*"]
	}
	for _, h := range hosts {
		if hostname.Matches(h, svc.Hostname) {
			return true
		}
	}
	return false
}

// importsVirtualService reports whether an imported host of the
// VirtualService's namespace, or of "*", overlaps one of its hosts.
func (imp egressImports) importsVirtualService(vs *VirtualService) bool {
	for _, ns := range []string{vs.Namespace, "*"} {
		for _, h := range imp[ns] {
			for _, vh := range vs.Hosts {
				if hostname.Overlaps(h, vh) {
					return true
				}
			}
		}
	}
	return false
}

func (imp egressImports) selectVirtualServices(vss []*VirtualService) []*VirtualService {
	var out []*VirtualService
	for _, vs := range vss {
		if imp.importsVirtualService(vs) {
			out = append(out, vs)
		}
	}
	return out
}

// scopedServices is a Sidecar's service scope: the visible services its
// egress hosts import (a host name imported from several namespaces is
// taken from the proxy's own namespace, else the first in Istio's order),
// then the destinations of its imported VirtualServices that are not in
// scope yet, so that their routes have clusters.
func (s *Snapshot) scopedServices(ns string, imp egressImports, vss []*VirtualService) []*registry.Service {
	chosen := map[string]*registry.Service{}
	var order []string
	for _, svc := range s.visibleServices(ns) {
		if !imp.importsService(svc) {
			continue
		}
		prev, seen := chosen[svc.Hostname]
		switch {
		case !seen:
			order = append(order, svc.Hostname)
			chosen[svc.Hostname] = svc
		case prev.Namespace != ns && svc.Namespace == ns:
			chosen[svc.Hostname] = svc
		}
	}
	for _, vs := range vss {
		for _, h := range destinationHosts(vs, s.DomainSuffix) {
			if _, seen := chosen[h]; seen {
				continue
			}
			if svc := s.destinationService(h, ns); svc != nil {
				order = append(order, h)
				chosen[h] = svc
			}
		}
	}
	out := make([]*registry.Service, 0, len(order))
	for _, h := range order {
		out = append(out, chosen[h])
	}
	return out
}

// destinationService picks the service a VirtualService destination host
// means for a proxy in ns: the one in ns, else the visible one whose
// namespace sorts first.
func (s *Snapshot) destinationService(host, ns string) *registry.Service {
	var best *registry.Service
	for _, svc := range s.Registry.ServicesFor(host) {
		if !visibleTo(svc.Namespace, svc.ExportTo, s.Mesh.DefaultServiceExportTo, ns) {
			continue
		}
		if svc.Namespace == ns {
			return svc
		}
		if best == nil || svc.Namespace < best.Namespace {
			best = svc
		}
	}
	return best
}

// destinationHosts lists the hosts a VirtualService's HTTP routes send or
// mirror traffic to, qualified in its namespace.
func destinationHosts(vs *VirtualService, suffix string) []string {
	var out []string
	add := func(d *networking.Destination) {
		if d == nil || d.Host == "" {
			return
		}
		if h := hostname.Resolve(d.Host, vs.Namespace, suffix); !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	for _, r := range vs.Spec.Http {
		for _, d := range r.Route {
			add(d.Destination)
		}
		add(r.Mirror)
		for _, m := range r.Mirrors {
			add(m.Destination)
		}
	}
	return out
}
