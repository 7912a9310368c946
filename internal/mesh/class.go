package mesh

import (
	"strings"

	networking "istio.io/api/networking/v1alpha3"

	"github.com/lateenmesh/lateen/internal/config"
	"github.com/lateenmesh/lateen/internal/registry"
)

// Class identifies, within one snapshot, the proxies whose views share
// their lists (same type, namespace, Sidecar and gateways) and pick the
// same DestinationRules (same selecting rules in their namespace). What
// translation derives from those alone and a few proxy fields is the
// same for all of them.
type Class struct {
	scope   *scope
	ruleSig string
}

// Class returns the view's class.
func (v *ProxyView) Class() Class {
	v.ensureRuleSig()
	return Class{scope: v.scope, ruleSig: v.ruleSig}
}

func (v *ProxyView) ensureRuleSig() {
	if v.ruleSig == "-" {
		v.ruleSig = v.snap.selectorSig(v.Proxy)
	}
}

// ClassView returns a view of the same snapshot and lists for p (a proxy
// carrying only the fields a class-wide translation may read) and
// workload w, which picks the same DestinationRules as v and records its
// own dependencies. Reading a field p leaves out yields its zero value:
// tests comparing with a translation of v itself catch such reads. With
// endpoints false, the view's dependency on its scope leaves endpoints
// out and every endpoint list it is asked for is a dependency of its own
// (for parts that read few endpoints, or none).
func (v *ProxyView) ClassView(p *Proxy, w *registry.Workload, endpoints bool) *ProxyView {
	v.ensureRuleSig()
	cv := *v
	cv.Proxy, cv.Workload, cv.Instances = p, w, nil
	cv.deps = Deps{{Kind: DepScope}: {}, {Kind: DepMesh}: {}}
	if !endpoints {
		cv.deps = Deps{{Kind: DepScopeRoutes}: {}, {Kind: DepMesh}: {}}
		cv.endpointsApart = true
	}
	return &cv
}

// StableClass names a class across snapshots: what ProxyViews of the class
// share, by name rather than identity. A part built for a class in one
// snapshot holds in another for the same StableClass when its
// dependencies did not change (Unchanged).
type StableClass struct {
	router   bool
	ns       string
	sidecar  config.Key
	gateways string
	ruleSig  string
}

// Stable returns the view's class by name.
func (v *ProxyView) Stable() StableClass {
	v.ensureRuleSig()
	var gws []string
	for _, g := range v.Gateways {
		gws = append(gws, g.Name())
	}
	return StableClass{router: v.Proxy.Type == Router, ns: v.Proxy.Namespace, sidecar: v.SidecarKey,
		gateways: strings.Join(gws, ","), ruleSig: v.ruleSig}
}

// State digests dependencies in the view's snapshot, for its proxy.
func (v *ProxyView) State(ds Deps) DepState { return v.snapshot().State(v.Proxy, ds) }

// Unchanged reports whether dependencies digested in another snapshot
// (for a proxy of the same class) have the same digests in this one.
func (v *ProxyView) Unchanged(st DepState) bool { return v.snapshot().Unchanged(v.Proxy, st) }

// UsesLocalityLB reports whether locality load balancing may apply to any
// cluster of the snapshot (the mesh's or a DestinationRule's
// localityLbSetting), so endpoints may depend on the proxy's locality.
func (v *ProxyView) UsesLocalityLB() bool {
	s := v.snapshot()
	s.memo.localityOnce.Do(func() { s.memo.locality = s.usesLocalityLB() })
	return s.memo.locality
}

func (s *Snapshot) usesLocalityLB() bool {
	if s.Mesh.GetLocalityLbSetting() != nil {
		return true
	}
	for _, drs := range s.destinationRules {
		for _, dr := range drs {
			if policyUsesLocality(dr.Spec.GetTrafficPolicy()) {
				return true
			}
			for _, ss := range dr.Spec.GetSubsets() {
				if policyUsesLocality(ss.GetTrafficPolicy()) {
					return true
				}
			}
		}
	}
	return false
}

func policyUsesLocality(tp *networking.TrafficPolicy) bool {
	if tp.GetLoadBalancer().GetLocalityLbSetting() != nil {
		return true
	}
	for _, pls := range tp.GetPortLevelSettings() {
		if pls.GetLoadBalancer().GetLocalityLbSetting() != nil {
			return true
		}
	}
	return false
}
