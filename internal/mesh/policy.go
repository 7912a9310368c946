package mesh

import (
	typev1beta1 "istio.io/api/type/v1beta1"

	"github.com/lateenmesh/lateen/internal/config"
	"github.com/lateenmesh/lateen/internal/registry"
)

// PolicyScope is how far a policy object (PeerAuthentication,
// AuthorizationPolicy, RequestAuthentication, Telemetry) reaches.
type PolicyScope int

// Scopes, broadest first.
const (
	// MeshScope: in the root namespace, without a selector.
	MeshScope PolicyScope = iota
	// NamespaceScope: in the proxy's namespace, without a selector.
	NamespaceScope
	// WorkloadScope: in the proxy's namespace, its selector matching the
	// proxy's labels.
	WorkloadScope
)

func (s PolicyScope) String() string {
	return [...]string{"mesh", "namespace", "workload"}[s]
}

// ScopedPolicy is one policy object that applies to a proxy.
type ScopedPolicy struct {
	Object *config.Object
	Scope  PolicyScope
}

type selectable interface {
	GetSelector() *typev1beta1.WorkloadSelector
}

// Policies returns the objects of a policy kind that apply to the proxy,
// broadest scope first and, within a scope, oldest first — the order in
// which Istio's "narrowest wins" and "oldest wins" rules read them. A
// selector-less object in the root namespace applies mesh-wide; when the
// proxy itself lives in the root namespace such objects count as mesh-wide
// only.
func (v *ProxyView) Policies(kind config.Kind) []ScopedPolicy {
	root, ns := v.Mesh.GetRootNamespace(), v.Proxy.Namespace
	v.record(Dep{Kind: DepPolicies, NS: root, Name: kindName(kind)})
	v.record(Dep{Kind: DepPolicies, NS: ns, Name: kindName(kind)})
	var mesh, namespace, workload []ScopedPolicy
	for _, o := range v.snapshot().Config.List(kind) {
		spec, ok := o.Spec.(selectable)
		if !ok {
			continue
		}
		sel := spec.GetSelector()
		switch {
		case sel == nil && o.Meta.Namespace == root:
			mesh = append(mesh, ScopedPolicy{o, MeshScope})
		case o.Meta.Namespace != ns:
		case sel == nil:
			namespace = append(namespace, ScopedPolicy{o, NamespaceScope})
		case registry.SelectorMatches(sel.GetMatchLabels(), v.Proxy.Labels):
			workload = append(workload, ScopedPolicy{o, WorkloadScope})
		}
	}
	return append(append(mesh, namespace...), workload...)
}
