package mesh

import (
	"slices"
	"sort"

	"github.com/lateenmesh/lateen/internal/hostname"
	"github.com/lateenmesh/lateen/internal/registry"
)

// SidecarHost is one host a sidecar routes HTTP for by name, with the
// VirtualServices bound to it. Istio's rules: on sidecars one VirtualService
// serves a host (no merging): among those naming the host exactly, and the
// one with the most specific wildcard host covering it (the first such),
// the first in the view's order wins; the others are shadowed (listed after
// it, and reported in ProxyView.Ignored). A VirtualService host that names
// no visible service (and, for a wildcard, covers none) still gets virtual
// hosts: on port 80 and on the HTTP ports of the services the same
// VirtualService binds.
type SidecarHost struct {
	// Host is a service host name, or a VirtualService host (maybe a
	// wildcard) without a service.
	Host string
	// Service is the visible service named Host, or nil.
	Service *registry.Service
	// Ports are the ports to build virtual hosts for when Service is nil;
	// with a service, its HTTP ports are used.
	Ports []uint32
	// VirtualServices bound to the host, the binding one first; empty for
	// a service no VirtualService names (it gets the default route).
	VirtualServices []*VirtualService
}

// bindSidecarHosts binds hosts to virtual services for a sidecar. The
// result lists, for each VirtualService in order, its hosts without a
// service and then the services it wins; then the services without a
// VirtualService, by host name.
func bindSidecarHosts(services []*registry.Service, vss []*VirtualService) ([]SidecarHost, []Note) {
	candidates, bound, notes := serviceCandidates(services, vss)
	var out []SidecarHost
	owner := map[string]*VirtualService{}
	byHost := make(map[string]bool, len(services))
	for _, svc := range services {
		byHost[svc.Hostname] = true
	}
	for i, vs := range vss {
		for _, h := range unregisteredHosts(vs, byHost, services) {
			if first, ok := owner[h]; ok {
				notes = append(notes, shadowNote(vs, first, h))
			} else {
				owner[h] = vs
			}
			out = append(out, SidecarHost{Host: h, Ports: hostPorts(bound[i]), VirtualServices: []*VirtualService{vs}})
		}
		for _, svc := range bound[i] {
			if idx := candidates[svc]; idx[0] == i {
				out = append(out, SidecarHost{Host: svc.Hostname, Service: svc, VirtualServices: pick(vss, idx)})
			}
		}
	}
	for _, svc := range services {
		if len(candidates[svc]) == 0 {
			out = append(out, SidecarHost{Host: svc.Hostname, Service: svc})
		}
	}
	return out, notes
}

// serviceCandidates returns, per service, the indexes of the virtual
// services that may serve it (those naming it exactly and the first with
// the most specific wildcard covering it, in order); per virtual service,
// the services it may serve; and notes for the shadowed ones.
func serviceCandidates(services []*registry.Service, vss []*VirtualService) (map[*registry.Service][]int, [][]*registry.Service, []Note) {
	exact := map[string][]int{}
	wildcards := map[string]int{} // wildcard host → first VirtualService naming it
	for i, vs := range vss {
		for _, h := range vs.Hosts {
			if !hostname.IsWildcard(h) {
				exact[h] = append(exact[h], i)
			} else if _, ok := wildcards[h]; !ok {
				wildcards[h] = i
			}
		}
	}
	candidates := make(map[*registry.Service][]int, len(services))
	bound := make([][]*registry.Service, len(vss))
	var notes []Note
	for _, svc := range services {
		idx := slices.Clone(exact[svc.Hostname])
		if w := mostSpecificWildcard(svc.Hostname, wildcards); w >= 0 && !slices.Contains(idx, w) {
			idx = append(idx, w)
			sort.Ints(idx)
		}
		candidates[svc] = idx
		for n, i := range idx {
			bound[i] = append(bound[i], svc)
			if n > 0 {
				notes = append(notes, shadowNote(vss[i], vss[idx[0]], svc.Hostname))
			}
		}
	}
	return candidates, bound, notes
}

func shadowNote(vs, by *VirtualService, host string) Note {
	return Note{Object: vs.Key, Host: host, By: by.Key,
		Reason: "shadowed by " + by.Key.String() + ": on sidecars one VirtualService serves a host (own namespace first, then exported, then public; oldest first), they are merged only on gateways"}
}

func pick(vss []*VirtualService, idx []int) []*VirtualService {
	out := make([]*VirtualService, len(idx))
	for n, i := range idx {
		out[n] = vss[i]
	}
	return out
}

// mostSpecificWildcard returns the VirtualService index of the longest
// wildcard host covering host, or -1.
func mostSpecificWildcard(host string, wildcards map[string]int) int {
	best, bestLen := -1, -1
	for w, i := range wildcards {
		if hostname.Matches(w, host) && (len(w) > bestLen || len(w) == bestLen && i < best) {
			best, bestLen = i, len(w)
		}
	}
	return best
}

// unregisteredHosts lists a VirtualService's hosts that name no visible
// service: exact hosts without a service, wildcards covering none.
func unregisteredHosts(vs *VirtualService, byHost map[string]bool, services []*registry.Service) []string {
	var out []string
	for _, h := range vs.Hosts {
		covered := byHost[h]
		if hostname.IsWildcard(h) {
			covered = slices.ContainsFunc(services, func(svc *registry.Service) bool { return hostname.Matches(h, svc.Hostname) })
		}
		if !covered {
			out = append(out, h)
		}
	}
	return out
}

// hostPorts is 80 and the HTTP ports of services, ascending.
func hostPorts(services []*registry.Service) []uint32 {
	ports := []uint32{80}
	for _, svc := range services {
		for _, p := range svc.Ports {
			if p.Protocol.IsHTTP() && !slices.Contains(ports, p.Number) {
				ports = append(ports, p.Number)
			}
		}
	}
	slices.Sort(ports)
	return ports
}

// gatewayNotes reports the gateway VirtualServices none of whose hosts a
// server of their gateways admits (istioctl analyze IST0132).
func gatewayNotes(gws []*Gateway, vss []*VirtualService) []Note {
	var notes []Note
	for _, vs := range vss {
		if !gatewayAdmitsAny(gws, vs) {
			notes = append(notes, Note{Object: vs.Key,
				Reason: "no host of this VirtualService matches a host of the servers of its gateways on this proxy"})
		}
	}
	return notes
}

func gatewayAdmitsAny(gws []*Gateway, vs *VirtualService) bool {
	for _, gw := range gws {
		if !slices.Contains(vs.Gateways, gw.Name()) {
			continue
		}
		for _, srv := range gw.Spec.Servers {
			for _, sh := range srv.Hosts {
				for _, h := range vs.Hosts {
					if ServerHostFor(sh, h, vs.Namespace, gw.Key.Namespace) != "" {
						return true
					}
				}
			}
		}
	}
	return false
}

// ServerHostFor intersects a VirtualService host with a gateway server host
// ("[namespace/]host", namespace "*" any and "." the gateway's): the more
// specific of the two when one covers the other and the server admits the
// VirtualService's namespace, else "".
func ServerHostFor(serverHost, vsHost, vsNS, gatewayNS string) string {
	ns, h, ok := cutSlash(serverHost)
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

// meshHostConflicts reports hosts bound to the mesh gateway by several
// VirtualServices that some namespace sees together (istioctl analyze
// IST0109): sidecars there use only one of them.
func meshHostConflicts(vss []*VirtualService, defaults []string) []Note {
	type seen struct {
		vs  *VirtualService
		aud audience
	}
	byHost := map[string][]seen{}
	var notes []Note
	for _, vs := range vss {
		if !slices.Contains(vs.Gateways, MeshGateway) {
			continue
		}
		aud := audienceOf(vs.Namespace, vs.Spec.ExportTo, defaults)
		for _, h := range vs.Hosts {
			for _, prev := range byHost[h] {
				if prev.aud.overlaps(aud) {
					notes = append(notes, Note{Object: vs.Key, Host: h, By: prev.vs.Key,
						Reason: "also bound to the mesh gateway by " + prev.vs.Key.String() + ": sidecars that see both use only one (own namespace first, then oldest); merge them or narrow exportTo"})
					break
				}
			}
			byHost[h] = append(byHost[h], seen{vs, aud})
		}
	}
	return notes
}
