package mesh

import (
	securityv1 "istio.io/api/security/v1beta1"

	"github.com/lateenmesh/lateen/internal/config"
	"github.com/lateenmesh/lateen/internal/registry"
)

// MTLSMode is a PeerAuthentication mutual TLS mode.
type MTLSMode int

// Modes; MTLSUnset inherits from the broader scope.
const (
	MTLSUnset MTLSMode = iota
	MTLSDisable
	MTLSPermissive
	MTLSStrict
)

func (m MTLSMode) String() string {
	return [...]string{"UNSET", "DISABLE", "PERMISSIVE", "STRICT"}[m]
}

func modeOf(mtls *securityv1.PeerAuthentication_MutualTLS) MTLSMode {
	switch mtls.GetMode() {
	case securityv1.PeerAuthentication_MutualTLS_DISABLE:
		return MTLSDisable
	case securityv1.PeerAuthentication_MutualTLS_PERMISSIVE:
		return MTLSPermissive
	case securityv1.PeerAuthentication_MutualTLS_STRICT:
		return MTLSStrict
	}
	return MTLSUnset
}

// PeerAuthn is the effective PeerAuthentication of one workload: a mode
// and per-port exceptions (keyed by the workload's port), never unset.
type PeerAuthn struct {
	Mode    MTLSMode
	PerPort map[uint32]MTLSMode
}

// ForPort returns the mode of a workload port.
func (p PeerAuthn) ForPort(port uint32) MTLSMode {
	if m, ok := p.PerPort[port]; ok {
		return m
	}
	return p.Mode
}

// PeerAuthentication composes the PeerAuthentications that apply to the
// proxy's workload as Istio does: the narrowest scope wins (workload over
// namespace over mesh), an UNSET mode inherits from the broader one
// (PERMISSIVE when none says otherwise), several policies of one scope
// count the oldest only, and portLevelMtls (of the workload policy) is
// keyed by the workload's port, its UNSET entries taking the workload's
// mode. A selector without labels counts as no selector; workload
// policies in the root namespace do not apply.
func (v *ProxyView) PeerAuthentication() PeerAuthn {
	root, ns := v.Mesh.GetRootNamespace(), v.Proxy.Namespace
	v.record(Dep{Kind: DepPolicies, NS: root, Name: kindName(config.PeerAuthentication)})
	v.record(Dep{Kind: DepPolicies, NS: ns, Name: kindName(config.PeerAuthentication)})
	var scopes [WorkloadScope + 1]*securityv1.PeerAuthentication
	for _, o := range v.snapshot().Config.List(config.PeerAuthentication) { // oldest first
		pa := o.Spec.(*securityv1.PeerAuthentication)
		labels := pa.GetSelector().GetMatchLabels()
		scope := WorkloadScope
		switch {
		case len(labels) == 0 && o.Meta.Namespace == root:
			scope = MeshScope
		case o.Meta.Namespace != ns || o.Meta.Namespace == root:
			continue
		case len(labels) == 0:
			scope = NamespaceScope
		case !registry.SelectorMatches(labels, v.Proxy.Labels):
			continue
		}
		if scopes[scope] == nil {
			scopes[scope] = pa
		}
	}
	out := PeerAuthn{Mode: MTLSPermissive}
	for _, pa := range scopes {
		if m := modeOf(pa.GetMtls()); pa != nil && m != MTLSUnset {
			out.Mode = m
		}
	}
	if w := scopes[WorkloadScope]; w != nil && len(w.PortLevelMtls) > 0 {
		out.PerPort = make(map[uint32]MTLSMode, len(w.PortLevelMtls))
		for port, mtls := range w.PortLevelMtls {
			out.PerPort[port] = out.Mode
			if m := modeOf(mtls); m != MTLSUnset {
				out.PerPort[port] = m
			}
		}
	}
	return out
}

// NamespaceMTLSMode is the mode the namespace-wide (else mesh-wide)
// PeerAuthentication gives a namespace, MTLSUnset when neither exists: what
// Istio's auto mTLS reads of a destination service's namespace (workload
// policies are not considered).
func (v *ProxyView) NamespaceMTLSMode(ns string) MTLSMode {
	if v.fixed != nil {
		return v.fixed.namespaceMTLS(ns)
	}
	root := v.Mesh.GetRootNamespace()
	v.record(Dep{Kind: DepPolicies, NS: root, Name: kindName(config.PeerAuthentication)})
	v.record(Dep{Kind: DepPolicies, NS: ns, Name: kindName(config.PeerAuthentication)})
	return v.snap.namespaceMTLSMode(ns, root)
}

func (s *Snapshot) namespaceMTLSMode(ns, root string) MTLSMode {
	var mesh, namespace *config.Object
	for _, o := range s.Config.List(config.PeerAuthentication) {
		pa := o.Spec.(*securityv1.PeerAuthentication)
		if len(pa.GetSelector().GetMatchLabels()) > 0 {
			continue
		}
		switch o.Meta.Namespace {
		case root:
			if mesh == nil {
				mesh = o
			}
		case ns:
			if namespace == nil {
				namespace = o
			}
		}
	}
	global := MTLSUnset
	if mesh != nil {
		global = modeOf(mesh.Spec.(*securityv1.PeerAuthentication).GetMtls())
	}
	if namespace == nil {
		return global
	}
	if m := modeOf(namespace.Spec.(*securityv1.PeerAuthentication).GetMtls()); m != MTLSUnset {
		return m
	}
	if global == MTLSUnset {
		return MTLSPermissive
	}
	return global
}
