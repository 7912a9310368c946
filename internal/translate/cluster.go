package translate

import (
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/lateenmesh/lateen/internal/registry"
)

const httpProtocolOptionsKey = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"

// outboundClusters adds a cluster per visible service port and one per
// DestinationRule subset, with their endpoints.
func (b *builder) outboundClusters() {
	for _, svc := range b.view.Services {
		dr := b.view.DestinationRule(svc.Hostname)
		for _, port := range svc.Ports {
			eps := b.view.Endpoints(svc, port.Number)
			b.addOutboundCluster(svc, port, "", nil, eps)
			if dr == nil {
				continue
			}
			for _, ss := range dr.Spec.Subsets {
				b.addOutboundCluster(svc, port, ss.Name, ss.Labels, eps)
			}
		}
	}
}

func (b *builder) addOutboundCluster(svc *registry.Service, port registry.Port, subset string, labels map[string]string, eps []registry.Endpoint) {
	name := OutboundCluster(port.Number, subset, svc.Hostname)
	c := &clusterv3.Cluster{
		Name:                 name,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_EDS},
		EdsClusterConfig: &clusterv3.Cluster_EdsClusterConfig{
			EdsConfig:   adsConfigSource(),
			ServiceName: name,
		},
		ConnectTimeout: b.connectTimeout(),
		LbPolicy:       clusterv3.Cluster_ROUND_ROBIN,
		Metadata:       serviceMetadata(svc, subset),
	}
	setUpstreamProtocol(c, port.Protocol)
	b.addCluster(c)
	b.endpoints = append(b.endpoints, loadAssignment(name, eps, labels))
}

// inboundCluster reaches the local application at address:port.
func (b *builder) inboundCluster(port uint32, protocol registry.Protocol, address string, appPort uint32) {
	name := InboundCluster(port)
	c := &clusterv3.Cluster{
		Name:                 name,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STATIC},
		ConnectTimeout:       b.connectTimeout(),
		LbPolicy:             clusterv3.Cluster_ROUND_ROBIN,
		LoadAssignment: &endpointv3.ClusterLoadAssignment{
			ClusterName: name,
			Endpoints: []*endpointv3.LocalityLbEndpoints{{
				LbEndpoints: []*endpointv3.LbEndpoint{lbEndpoint(address, appPort, 0, nil)},
			}},
		},
	}
	setUpstreamProtocol(c, protocol)
	b.addCluster(c)
}

// specialClusters adds Istio's PassthroughCluster and BlackHoleCluster.
func (b *builder) specialClusters() {
	b.addCluster(&clusterv3.Cluster{
		Name:                 BlackHoleCluster,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STATIC},
		ConnectTimeout:       b.connectTimeout(),
	})
	b.addCluster(&clusterv3.Cluster{
		Name:                 PassthroughCluster,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_ORIGINAL_DST},
		ConnectTimeout:       b.connectTimeout(),
		LbPolicy:             clusterv3.Cluster_CLUSTER_PROVIDED,
		LbConfig: &clusterv3.Cluster_OriginalDstLbConfig_{OriginalDstLbConfig: &clusterv3.Cluster_OriginalDstLbConfig{
			UseHttpHeader: b.interceptNone(),
		}},
	})
}

func (b *builder) connectTimeout() *durationpb.Duration {
	if d := b.view.Mesh.GetConnectTimeout(); d != nil {
		return d
	}
	return durationpb.New(10 * time.Second)
}

// setUpstreamProtocol pins HTTP/2 for HTTP2 and gRPC ports and HTTP/1.1 for
// other HTTP ports.
func setUpstreamProtocol(c *clusterv3.Cluster, p registry.Protocol) {
	if !p.IsHTTP() {
		return
	}
	opts := &httpv3.HttpProtocolOptions{}
	if p.IsHTTP2() {
		opts.UpstreamProtocolOptions = &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
			ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_Http2ProtocolOptions{Http2ProtocolOptions: &corev3.Http2ProtocolOptions{}},
		}}
	} else {
		opts.UpstreamProtocolOptions = &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
			ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_HttpProtocolOptions{HttpProtocolOptions: &corev3.Http1ProtocolOptions{}},
		}}
	}
	c.TypedExtensionProtocolOptions = map[string]*anypb.Any{httpProtocolOptionsKey: mustAny(opts)}
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
