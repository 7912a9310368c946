package translate

import (
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	"google.golang.org/protobuf/types/known/structpb"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/lateenmesh/lateen/internal/mesh"
	"github.com/lateenmesh/lateen/internal/registry"
)

// outboundClusters adds a cluster per visible service port and one per
// DestinationRule subset, each with its traffic policy and endpoints. With
// a cache they come from the class's shared part.
func (b *builder) outboundClusters() {
	if b.cache != nil {
		b.class = b.cache.classPart(b)
		return
	}
	b.forEachOutboundCluster(func(in *clusterInput) {
		b.addOutboundCluster(in.Service, in.Port, in.Rule, in.Subset, b.view.Endpoints(in.Service, in.Port.Number))
	})
}

// forEachOutboundCluster calls f with the input of every outbound cluster
// of the view, in order.
func (b *builder) forEachOutboundCluster(f func(*clusterInput)) {
	for _, svc := range b.view.Services {
		dr := b.view.DestinationRule(svc.Hostname)
		for _, port := range svc.Ports {
			f(b.clusterInput(svc, port, dr, nil))
			if dr == nil {
				continue
			}
			for _, ss := range dr.Spec.Subsets {
				f(b.clusterInput(svc, port, dr, ss))
			}
		}
	}
}

func (b *builder) addOutboundCluster(svc *registry.Service, port registry.Port, dr *mesh.DestinationRule, subset *networking.Subset, eps []registry.Endpoint) {
	name := OutboundCluster(port.Number, subset.GetName(), svc.Hostname)
	c := &clusterv3.Cluster{
		Name:                 name,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_EDS},
		EdsClusterConfig: &clusterv3.Cluster_EdsClusterConfig{
			EdsConfig:   adsConfigSource(),
			ServiceName: name,
		},
		Metadata: serviceMetadata(svc, subset.GetName()),
	}
	tp := clusterPolicy(dr, subset, port.Number)
	b.applyTrafficPolicy(c, tp, port)
	b.applyUpstreamTLS(c, svc, port, subset.GetName(), dr, tp)
	b.addCluster(c)
	if c.GetType() == clusterv3.Cluster_EDS {
		loc := localityLB{setting: localitySetting(b.view.Mesh, tp.GetLoadBalancer()), failover: tp.GetOutlierDetection() != nil}
		b.endpoints = append(b.endpoints, b.loadAssignment(name, eps, subset.GetLabels(), loc))
	}
}

// inboundCluster reaches the local application at address:port, with
// Istio's default connection pool.
func (b *builder) inboundCluster(port uint32, protocol registry.Protocol, address string, appPort uint32) {
	name := InboundCluster(port)
	c := &clusterv3.Cluster{
		Name:                 name,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STATIC},
		LbPolicy:             clusterv3.Cluster_ROUND_ROBIN,
		LoadAssignment: &endpointv3.ClusterLoadAssignment{
			ClusterName: name,
			Endpoints: []*endpointv3.LocalityLbEndpoints{{
				LbEndpoints: []*endpointv3.LbEndpoint{lbEndpoint(address, appPort, 0, nil)},
			}},
		},
	}
	setProtocolOptions(c, b.applyConnectionPool(c, nil, upstreamProtocol(protocol, nil, nil)))
	c.Metadata = b.inboundServiceMetadata(port)
	b.addCluster(c)
}

// specialClusters adds Istio's PassthroughCluster (with the default
// connection pool) and BlackHoleCluster.
func (b *builder) specialClusters() {
	if b.class == nil { // with a cache they are part of the class's
		b.buildSpecialClusters()
	}
}

func (b *builder) buildSpecialClusters() {
	b.addCluster(&clusterv3.Cluster{
		Name:                 BlackHoleCluster,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STATIC},
		ConnectTimeout:       b.connectTimeout(),
	})
	c := &clusterv3.Cluster{Name: PassthroughCluster}
	b.applyConnectionPool(c, nil, nil)
	b.passthrough(c)
	b.addCluster(c)
}

// serviceMetadata records which service (and subset) a cluster serves,
// under filter_metadata["istio"], as Istio does for telemetry.
func serviceMetadata(svc *registry.Service, subset string) *corev3.Metadata {
	fields := map[string]any{
		"services": []any{map[string]any{"host": svc.Hostname, "name": shortName(svc.Hostname), "namespace": svc.Namespace}},
	}
	if subset != "" {
		fields["subset"] = subset
	}
	st, err := structpb.NewStruct(fields)
	if err != nil {
		panic(err) // the values above are always representable
	}
	return &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{"istio": st}}
}

func shortName(host string) string {
	for i := 0; i < len(host); i++ {
		if host[i] == '.' {
			return host[:i]
		}
	}
	return host
}

func adsConfigSource() *corev3.ConfigSource {
	return &corev3.ConfigSource{
		ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
		ResourceApiVersion:    corev3.ApiVersion_V3,
	}
}
