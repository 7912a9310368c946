package translate

import (
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/lateenmesh/lateen/internal/mesh"
	"github.com/lateenmesh/lateen/internal/registry"
)

// clusterInput is everything one outbound cluster and its load assignment
// are built from: buildClusterPiece reads nothing else (it translates
// through a piece view that answers from this input only), and
// clusterKey has one field per field here.
type clusterInput struct {
	Service *registry.Service
	Port    registry.Port
	Rule    *mesh.DestinationRule // the proxy's rule for the service, or nil
	Subset  *networking.Subset    // one of Rule's subsets, or nil
	// Endpoints gives the endpoints of the service's ports (secure naming
	// reads every port's).
	Endpoints interface {
		Endpoints(*registry.Service, uint32) []registry.Endpoint
	}
	Mesh          *meshv1alpha1.MeshConfig
	Proxy         clusterProxy
	NamespaceMTLS mesh.MTLSMode // of the service's namespace
}

// clusterProxy is what a cluster reads of the proxy: its type (TLS
// origination from credentials) and capture mode (passthrough), and,
// when locality load balancing applies to the cluster, its locality
// (labels, cluster and workload; zero otherwise).
type clusterProxy struct {
	Type             mesh.NodeType
	InterceptionMode string
	Labels           map[string]string
	ClusterID        string
	Workload         *registry.Workload
}

// clusterKey identifies a clusterInput by content, field by field.
type clusterKey struct {
	Service       mesh.Digest // the service with its endpoints
	Port          uint32      // the port's content is the service's
	Rule          mesh.Digest
	Subset        subsetRef
	Endpoints     mesh.Digest // covered by the service's digest
	Mesh          mesh.Digest
	Proxy         mesh.Digest
	NamespaceMTLS mesh.MTLSMode
}

// subsetRef names a subset of the rule (its content is the rule's).
type subsetRef struct {
	index int // -1: none
	name  string
}

// clusterPiece is one built outbound cluster with its load assignment
// (nil unless EDS) and the ADS secrets it names. Shared: never modified.
type clusterPiece struct {
	cluster *clusterv3.Cluster
	cla     *endpointv3.ClusterLoadAssignment
	secrets []string
}

// key digests the input; positional, so that a field added to clusterKey
// (and clusterInput) must be keyed here.
func (in *clusterInput) key(d *keyDigests) clusterKey {
	svc := d.view.ServiceDigest(in.Service)
	return clusterKey{svc, in.Port.Number, d.view.RuleDigest(in.Rule), subsetOf(in.Rule, in.Subset), svc,
		d.mesh(), d.clusterProxy(in.Proxy), in.NamespaceMTLS}
}

func subsetOf(dr *mesh.DestinationRule, ss *networking.Subset) subsetRef {
	if ss == nil {
		return subsetRef{index: -1}
	}
	for i, s := range dr.Spec.GetSubsets() {
		if s == ss {
			return subsetRef{index: i, name: ss.Name}
		}
	}
	panic("translate: subset " + ss.Name + " is not one of its rule's")
}

// clusterInput collects the input of one outbound cluster from the view.
func (b *builder) clusterInput(svc *registry.Service, port registry.Port, dr *mesh.DestinationRule, subset *networking.Subset) *clusterInput {
	p := b.view.Proxy
	in := &clusterInput{Service: svc, Port: port, Rule: dr, Subset: subset, Endpoints: b.view, Mesh: b.view.Mesh,
		Proxy:         clusterProxy{Type: p.Type, InterceptionMode: p.InterceptionMode},
		NamespaceMTLS: b.namespaceMTLS(svc.Namespace)}
	if localitySetting(b.view.Mesh, clusterPolicy(dr, subset, port.Number).GetLoadBalancer()) != nil {
		in.Proxy.Labels, in.Proxy.ClusterID, in.Proxy.Workload = p.Labels, p.ClusterID, b.view.Workload
	}
	return in
}

// namespaceMTLS memoizes the view's NamespaceMTLSMode per namespace.
func (b *builder) namespaceMTLS(ns string) mesh.MTLSMode {
	if b.nsMTLS == nil {
		b.nsMTLS = map[string]mesh.MTLSMode{}
	}
	m, ok := b.nsMTLS[ns]
	if !ok {
		m = b.view.NamespaceMTLSMode(ns)
		b.nsMTLS[ns] = m
	}
	return m
}

// buildClusterPiece translates one outbound cluster from its input alone.
func buildClusterPiece(in *clusterInput) *clusterPiece {
	eps := map[mesh.EndpointsKey][]registry.Endpoint{}
	for _, p := range in.Service.Ports {
		eps[mesh.EndpointsKey{Service: in.Service, Port: p.Number}] = in.Endpoints.Endpoints(in.Service, p.Number)
	}
	proxy := &mesh.Proxy{Type: in.Proxy.Type, InterceptionMode: in.Proxy.InterceptionMode,
		Labels: in.Proxy.Labels, ClusterID: in.Proxy.ClusterID}
	v := mesh.NewPieceView(proxy, in.Mesh, "", in.Proxy.Workload, &mesh.PieceInput{Endpoints: eps,
		NamespaceMTLS: map[string]mesh.MTLSMode{in.Service.Namespace: in.NamespaceMTLS}})
	pb := newBuilder(v, nil)
	pb.addOutboundCluster(in.Service, in.Port, in.Rule, in.Subset, eps[mesh.EndpointsKey{Service: in.Service, Port: in.Port.Number}])
	piece := &clusterPiece{}
	for _, c := range pb.clusters {
		piece.cluster = c
	}
	if len(pb.endpoints) > 0 {
		piece.cla = pb.endpoints[0]
	}
	for n := range pb.secretNames {
		piece.secrets = append(piece.secrets, n)
	}
	return piece
}
