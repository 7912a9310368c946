package mesh

import (
	"slices"
	"strings"
	"sync"

	networking "istio.io/api/networking/v1alpha3"

	"github.com/lateenmesh/lateen/internal/config"
	"github.com/lateenmesh/lateen/internal/registry"
)

// memo holds what the snapshot computes once and shares between every
// proxy that asks: scopes (the services and virtual services a class of
// proxies sees), destination rule lookups, the workload index and content
// digests. Entries are computed on first use, outside the lock, once
// (sync.Once per entry), and never change: the snapshot stays immutable
// to its readers.
type memo struct {
	mu     sync.Mutex
	scopes map[scopeKey]*scope
	rules  map[ruleKey]*ruleEntry
	sigs   map[string]*selectorRules // namespace → its selecting DestinationRules

	workloadsOnce sync.Once
	workloadAt    map[string]int // "namespace|address" → index in Registry.Workloads()
	instances     map[*registry.Workload][]*registry.Service
	// portless: some service has no port, so its endpoints cannot be
	// listed by port and instancesOf asks the registry instead.
	portless bool

	localityOnce sync.Once
	locality     bool // UsesLocalityLB

	digests digests
}

func newMemo() *memo {
	return &memo{scopes: map[scopeKey]*scope{}, rules: map[ruleKey]*ruleEntry{}, sigs: map[string]*selectorRules{}}
}

// scopeKey names a class of proxies that see the same services and
// virtual services: their type, namespace, Sidecar and (routers) the
// gateways that select them.
type scopeKey struct {
	router   bool
	ns       string
	sidecar  *config.Object
	gateways string
}

// scope is what ViewFor derives from a scopeKey.
type scope struct {
	once                   sync.Once
	services               []*registry.Service
	byHost                 map[string]*registry.Service
	virtualServices        []*VirtualService
	sidecarHosts           []SidecarHost
	gateways               []*Gateway
	gatewayVirtualServices []*VirtualService
	ignored                []Note
	// usesSourceLabels: a bound virtual service matches on source labels.
	usesSourceLabels bool
	// digest covers the scope; routesDigest the same without endpoints.
	digest, routesDigest Digest
}

func (s *Snapshot) scopeFor(p *Proxy, sidecar *config.Object, gateways []*Gateway) *scope {
	key := scopeKey{router: p.Type == Router, ns: p.Namespace, sidecar: sidecar}
	if key.router {
		key.gateways = strings.Join(gatewayNames(gateways), ",")
	}
	s.memo.mu.Lock()
	sc := s.memo.scopes[key]
	if sc == nil {
		sc = &scope{}
		s.memo.scopes[key] = sc
	}
	s.memo.mu.Unlock()
	sc.once.Do(func() { s.buildScope(sc, key, sidecar, gateways) })
	return sc
}

func (s *Snapshot) buildScope(sc *scope, key scopeKey, sidecar *config.Object, gateways []*Gateway) {
	var services []*registry.Service
	if key.router {
		sc.gateways = gateways
		sc.gatewayVirtualServices = s.visibleVirtualServices(key.ns, gatewayNames(gateways))
		services = s.defaultServices(key.ns)
		sc.ignored = gatewayNotes(sc.gateways, sc.gatewayVirtualServices)
	} else {
		vss := s.visibleVirtualServices(key.ns, []string{MeshGateway})
		var spec *networking.Sidecar
		if sidecar != nil {
			spec = sidecar.Spec.(*networking.Sidecar)
		}
		imports := parseEgress(spec, key.ns)
		if imports == nil {
			services = s.defaultServices(key.ns)
		} else {
			vss = imports.selectVirtualServices(vss)
			services = s.scopedServices(key.ns, imports, vss)
		}
		sc.virtualServices = vss
	}
	sortServices(services)
	sc.services = services
	sc.byHost = make(map[string]*registry.Service, len(services))
	for _, svc := range services {
		sc.byHost[svc.Hostname] = svc
	}
	if !key.router {
		sc.sidecarHosts, sc.ignored = bindSidecarHosts(sc.services, sc.virtualServices)
	}
	sortNotes(sc.ignored)
	sc.usesSourceLabels = usesSourceLabels(sc.virtualServices) || usesSourceLabels(sc.gatewayVirtualServices)
	sc.digest, sc.routesDigest = s.scopeDigests(sc, sidecar)
}

func usesSourceLabels(vss []*VirtualService) bool {
	for _, vs := range vss {
		for _, r := range vs.Spec.Http {
			if slices.ContainsFunc(r.Match, func(m *networking.HTTPMatchRequest) bool { return len(m.SourceLabels) > 0 }) {
				return true
			}
		}
	}
	return false
}

// workloadOf finds the registry workload of a proxy: in its namespace, at
// one of its addresses, the first in the registry's order.
func (s *Snapshot) workloadOf(p *Proxy) *registry.Workload {
	s.memo.workloadsOnce.Do(s.indexWorkloads)
	best := -1
	for _, ip := range p.IPs {
		if i, ok := s.memo.workloadAt[p.Namespace+"|"+ip]; ok && (best < 0 || i < best) {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	return s.Registry.Workloads()[best]
}

// instancesOf returns the services a workload serves.
func (s *Snapshot) instancesOf(w *registry.Workload) []*registry.Service {
	s.memo.workloadsOnce.Do(s.indexWorkloads)
	if s.memo.portless {
		return s.Registry.InstancesOf(w)
	}
	return s.memo.instances[w]
}

func (s *Snapshot) indexWorkloads() {
	s.memo.workloadAt = map[string]int{}
	s.memo.instances = map[*registry.Workload][]*registry.Service{}
	for i, w := range s.Registry.Workloads() {
		k := w.Namespace + "|" + w.Address
		if _, ok := s.memo.workloadAt[k]; !ok {
			s.memo.workloadAt[k] = i
		}
	}
	for _, svc := range s.Registry.Services() {
		if len(svc.Ports) == 0 {
			s.memo.portless = true
		}
		seen := map[*registry.Workload]bool{}
		for _, p := range svc.Ports {
			for _, ep := range s.Registry.Endpoints(svc, p.Number) {
				if !seen[ep.Workload] {
					seen[ep.Workload] = true
					s.memo.instances[ep.Workload] = append(s.memo.instances[ep.Workload], svc)
				}
			}
		}
	}
}
