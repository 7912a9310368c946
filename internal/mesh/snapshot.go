// Package mesh builds the control plane's immutable Snapshot of the whole
// mesh (configuration, registry, indexes) and cuts it down, per proxy, to a
// ProxyView: exactly what that proxy's configuration may depend on.
package mesh

import (
	"time"

	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/lateenmesh/lateen/internal/config"
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
	// MeshConfig is the mesh file's content, under which the ConfigMap's is
	// merged; nil means Istio's defaults only.
	MeshConfig *meshv1alpha1.MeshConfig
}

// Snapshot is the whole mesh at one version. It is never modified.
type Snapshot struct {
	Version      uint64
	Mesh         *meshv1alpha1.MeshConfig
	DomainSuffix string
	Config       *config.Set
	Registry     *registry.Registry

	virtualServices  []*VirtualService
	destinationRules map[string][]*DestinationRule // by namespace, oldest first
	gateways         []*Gateway
	sidecars         map[string][]*config.Object // by namespace, oldest first
}

// VirtualService is a VirtualService with its names resolved.
type VirtualService struct {
	Key       config.Key
	Namespace string
	Spec      *networking.VirtualService
	Hosts     []string // fully qualified
	Gateways  []string // "mesh" or "namespace/name"
	Created   time.Time
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
		destinationRules: map[string][]*DestinationRule{},
		sidecars:         map[string][]*config.Object{},
	}
	for _, obj := range set.List(config.VirtualService) {
		s.virtualServices = append(s.virtualServices, s.resolveVirtualService(obj))
	}
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
	mc := meshconfig.Apply(opts.MeshConfig)
	cm := set.Get(config.Key{Kind: config.MeshConfigMap, Namespace: opts.SystemNamespace, Name: config.MeshConfigMapName})
	if cm != nil {
		mc = meshconfig.Merge(mc, cm.Spec.(*meshv1alpha1.MeshConfig))
	}
	return mc
}

func (s *Snapshot) resolveVirtualService(obj *config.Object) *VirtualService {
	spec := obj.Spec.(*networking.VirtualService)
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
