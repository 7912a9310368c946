// Package mesh builds the control plane's immutable Snapshot of the whole
// mesh (configuration, registry, indexes) and cuts it down, per proxy, to a
// ProxyView: exactly what that proxy's configuration may depend on. What a
// snapshot derives for a class of proxies (scopes, rule lookups, digests)
// is computed once and shared (memo.go); a view records what it was asked
// (deps.go), so that a later snapshot can tell whether a proxy's
// configuration may have changed (Snapshot.Unchanged).
package mesh

import (
	"fmt"
	"time"

	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/lateenmesh/lateen/internal/config"
	"github.com/lateenmesh/lateen/internal/credentials"
	"github.com/lateenmesh/lateen/internal/hostname"
	"github.com/lateenmesh/lateen/internal/meshconfig"
	"github.com/lateenmesh/lateen/internal/registry"
)

// Options configure Build.
type Options struct {
	// DomainSuffix of service FQDNs (default cluster.local).
	DomainSuffix string
	// SystemNamespace holds the mesh ConfigMap (default istio-system).
	SystemNamespace string
	// MeshConfig is the mesh file's content as JSON (what
	// config.DecodeMeshConfig returns), merged over Istio's defaults and
	// under the mesh ConfigMap's; nil means the defaults only.
	MeshConfig []byte
	// Credentials are the TLS credentials configuration may name
	// (DestinationRule credentialName); nil: none.
	Credentials *credentials.Set
}

// Snapshot is the whole mesh at one version. It is never modified.
type Snapshot struct {
	Version      uint64
	Mesh         *meshv1alpha1.MeshConfig
	DomainSuffix string
	Config       *config.Set
	Registry     *registry.Registry
	Credentials  *credentials.Set

	// Ignored lists what does not take effect for any proxy: delegation
	// problems, and hosts bound to the mesh gateway by several
	// VirtualServices (sidecars use one; see ProxyView.Ignored for which).
	Ignored []Note

	virtualServices  []*VirtualService // delegates expanded, in Istio's order
	servicesByAge    []*registry.Service
	destinationRules map[string][]*DestinationRule // by namespace, oldest first
	gateways         []*Gateway
	sidecars         map[string][]*config.Object // by namespace, oldest first

	memo *memo // computed on demand, shared by every view
}

// VirtualService is a VirtualService with its names resolved and, for a
// root, its delegates merged in: Spec has no delegating routes.
type VirtualService struct {
	Key       config.Key
	Namespace string
	Spec      *networking.VirtualService
	Hosts     []string // fully qualified
	Gateways  []string // "mesh" or "namespace/name"
	Created   time.Time
	// Delegates are the VirtualServices a root's routes delegate to
	// (whether found or not): the root's routes depend on them.
	Delegates []config.Key
}

// DestinationRule is a DestinationRule with its host resolved.
type DestinationRule struct {
	Key       config.Key
	Namespace string
	Host      string
	Spec      *networking.DestinationRule
	Created   time.Time
}

// Gateway is a Gateway object.
type Gateway struct {
	Key  config.Key
	Spec *networking.Gateway
}

// Name is the gateway's "namespace/name", as VirtualServices bind to it.
func (g *Gateway) Name() string { return g.Key.Namespace + "/" + g.Key.Name }

// MeshGateway names the implicit gateway of all sidecars.
const MeshGateway = "mesh"

// Build indexes set into a Snapshot.
func Build(set *config.Set, opts Options) *Snapshot {
	if opts.DomainSuffix == "" {
		opts.DomainSuffix = meshconfig.DefaultDomainSuffix
	}
	if opts.SystemNamespace == "" {
		opts.SystemNamespace = meshconfig.DefaultRootNamespace
	}
	s := &Snapshot{
		Version:          set.Version(),
		Mesh:             effectiveMesh(set, opts),
		DomainSuffix:     opts.DomainSuffix,
		Config:           set,
		Registry:         registry.FromConfig(set),
		Credentials:      opts.Credentials,
		destinationRules: map[string][]*DestinationRule{},
		sidecars:         map[string][]*config.Object{},
		memo:             newMemo(),
	}
	s.servicesByAge = servicesByAge(s.Registry)
	var notes []Note
	s.virtualServices, notes = s.buildVirtualServices(set.List(config.VirtualService))
	s.Ignored = append(notes, meshHostConflicts(s.virtualServices, s.Mesh.DefaultVirtualServiceExportTo)...)
	sortNotes(s.Ignored)
	for _, obj := range set.List(config.DestinationRule) {
		dr := obj.Spec.(*networking.DestinationRule)
		s.destinationRules[obj.Meta.Namespace] = append(s.destinationRules[obj.Meta.Namespace], &DestinationRule{
			Key: obj.Key(), Namespace: obj.Meta.Namespace, Spec: dr, Created: obj.Meta.CreationTimestamp,
			Host: hostname.Resolve(dr.Host, obj.Meta.Namespace, opts.DomainSuffix),
		})
	}
	for _, obj := range set.List(config.Gateway) {
		s.gateways = append(s.gateways, &Gateway{Key: obj.Key(), Spec: obj.Spec.(*networking.Gateway)})
	}
	for _, obj := range set.List(config.Sidecar) {
		s.sidecars[obj.Meta.Namespace] = append(s.sidecars[obj.Meta.Namespace], obj)
	}
	return s
}

// effectiveMesh is Istio's defaults, then the mesh file, then the mesh
// ConfigMap in the system namespace.
func effectiveMesh(set *config.Set, opts Options) *meshv1alpha1.MeshConfig {
	layers := [][]byte{opts.MeshConfig}
	cm := set.Get(config.Key{Kind: config.MeshConfigMap, Namespace: opts.SystemNamespace, Name: config.MeshConfigMapName})
	if cm != nil {
		layers = append(layers, cm.Raw)
	}
	mc, err := meshconfig.Effective(layers...)
	if err != nil {
		// Layers were validated when read; this is a programming error.
		panic(fmt.Sprintf("mesh config: %v", err))
	}
	return mc
}

// resolveVirtualService qualifies a VirtualService's hosts and gateways in
// its namespace; spec is the object's spec or its expansion.
func (s *Snapshot) resolveVirtualService(obj *config.Object, spec *networking.VirtualService) *VirtualService {
	vs := &VirtualService{Key: obj.Key(), Namespace: obj.Meta.Namespace, Spec: spec, Created: obj.Meta.CreationTimestamp}
	for _, h := range spec.Hosts {
		vs.Hosts = append(vs.Hosts, hostname.Resolve(h, obj.Meta.Namespace, s.DomainSuffix))
	}
	vs.Gateways = ResolveGateways(spec.Gateways, obj.Meta.Namespace)
	return vs
}

// ResolveGateways qualifies gateway names with namespace; an empty list
// means the mesh gateway.
func ResolveGateways(names []string, namespace string) []string {
	if len(names) == 0 {
		return []string{MeshGateway}
	}
	out := make([]string, 0, len(names))
	for _, g := range names {
		out = append(out, ResolveGateway(g, namespace))
	}
	return out
}

// ResolveGateway qualifies one gateway name ("mesh", "ns/name" or "name").
func ResolveGateway(g, namespace string) string {
	if g == MeshGateway {
		return g
	}
	for i := 0; i < len(g); i++ {
		if g[i] == '/' {
			return g
		}
	}
	return namespace + "/" + g
}
