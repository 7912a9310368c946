package proxytest

import (
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	tlsinspectorv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/listener/tls_inspector/v3"
	rawbufferv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/raw_buffer/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Istio's ALPN values.
var (
	ALPNInMesh       = []string{"istio-peer-exchange", "istio"}
	ALPNDownstream   = []string{"h2", "http/1.1"}
	ALPNAllIstioMTLS = []string{"istio", "istio-peer-exchange", "istio-http/1.0", "istio-http/1.1", "istio-h2"}
)

// LocalSDS refers to a secret of the proxy's own SDS (Istio's sds-grpc:
// default, ROOTCA, file-cert:..., file-root:...).
func LocalSDS(name string) *tlsv3.SdsSecretConfig {
	return &tlsv3.SdsSecretConfig{Name: name, SdsConfig: &corev3.ConfigSource{
		ConfigSourceSpecifier: &corev3.ConfigSource_ApiConfigSource{ApiConfigSource: &corev3.ApiConfigSource{
			ApiType: corev3.ApiConfigSource_GRPC, SetNodeOnFirstMessageOnly: true, TransportApiVersion: corev3.ApiVersion_V3,
			GrpcServices: []*corev3.GrpcService{{TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{
				EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{ClusterName: "sds-grpc"}}}},
		}},
		ResourceApiVersion:  corev3.ApiVersion_V3,
		InitialFetchTimeout: durationpb.New(0),
	}}
}

// ADSSDS refers to a secret served over ADS.
func ADSSDS(name string) *tlsv3.SdsSecretConfig {
	return &tlsv3.SdsSecretConfig{Name: name, SdsConfig: ads()}
}

func exact(sans []string) []*matcherv3.StringMatcher {
	var out []*matcherv3.StringMatcher
	for _, s := range sans {
		out = append(out, &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: s}})
	}
	return out
}

// Validation is a combined validation context: SANs and a CA secret.
func Validation(ca *tlsv3.SdsSecretConfig, sans ...string) *tlsv3.CommonTlsContext_CombinedValidationContext {
	return &tlsv3.CommonTlsContext_CombinedValidationContext{CombinedValidationContext: &tlsv3.CommonTlsContext_CombinedCertificateValidationContext{
		DefaultValidationContext:         &tlsv3.CertificateValidationContext{MatchSubjectAltNames: exact(sans)},
		ValidationContextSdsSecretConfig: ca,
	}}
}

// IstioMutual is the upstream context of ISTIO_MUTUAL: the workload
// certificate, the mesh roots, SNI, in-mesh ALPN and the allowed SANs.
func IstioMutual(sni string, sans ...string) *tlsv3.UpstreamTlsContext {
	return &tlsv3.UpstreamTlsContext{Sni: sni, CommonTlsContext: &tlsv3.CommonTlsContext{
		TlsParams: &tlsv3.TlsParameters{TlsMinimumProtocolVersion: tlsv3.TlsParameters_TLSv1_2,
			TlsMaximumProtocolVersion: tlsv3.TlsParameters_TLSv1_3},
		AlpnProtocols:                  ALPNInMesh,
		TlsCertificateSdsSecretConfigs: []*tlsv3.SdsSecretConfig{LocalSDS("default")},
		ValidationContextType:          Validation(LocalSDS("ROOTCA"), sans...),
	}}
}

// IstioInbound is the downstream context of a sidecar's mTLS chains.
func IstioInbound(alpn []string) *tlsv3.DownstreamTlsContext {
	return &tlsv3.DownstreamTlsContext{RequireClientCertificate: wrapperspb.Bool(true), CommonTlsContext: &tlsv3.CommonTlsContext{
		TlsParams: &tlsv3.TlsParameters{TlsMinimumProtocolVersion: tlsv3.TlsParameters_TLSv1_2,
			TlsMaximumProtocolVersion: tlsv3.TlsParameters_TLSv1_3},
		AlpnProtocols:                  alpn,
		TlsCertificateSdsSecretConfigs: []*tlsv3.SdsSecretConfig{LocalSDS("default")},
		ValidationContextType:          Validation(LocalSDS("ROOTCA")),
	}}
}

// UpstreamSocket wraps an upstream context in a transport socket.
func UpstreamSocket(c *tlsv3.UpstreamTlsContext) *corev3.TransportSocket {
	return &corev3.TransportSocket{Name: "envoy.transport_sockets.tls", ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: Any(c)}}
}

// DownstreamSocket wraps a downstream context in a transport socket.
func DownstreamSocket(c *tlsv3.DownstreamTlsContext) *corev3.TransportSocket {
	return &corev3.TransportSocket{Name: "envoy.transport_sockets.tls", ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: Any(c)}}
}

// RawBufferSocket is the plaintext transport socket.
func RawBufferSocket() *corev3.TransportSocket {
	return &corev3.TransportSocket{Name: "envoy.transport_sockets.raw_buffer",
		ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: Any(&rawbufferv3.RawBuffer{})}}
}

// AutoMTLS gives a cluster Istio's auto mTLS transport socket matches:
// tls for endpoints labelled tlsMode=istio, plaintext for the others.
func AutoMTLS(c *clusterv3.Cluster, ctx *tlsv3.UpstreamTlsContext) *clusterv3.Cluster {
	c.TransportSocketMatches = []*clusterv3.Cluster_TransportSocketMatch{
		{Name: "tlsMode-istio", Match: &structpb.Struct{Fields: map[string]*structpb.Value{"tlsMode": structpb.NewStringValue("istio")}},
			TransportSocket: UpstreamSocket(ctx)},
		{Name: "tlsMode-disabled", Match: &structpb.Struct{}, TransportSocket: RawBufferSocket()},
	}
	return c
}

// MarkTLSMode sets the envoy.transport_socket_match metadata of the
// endpoint with index i of a load assignment's first locality.
func MarkTLSMode(cla *endpointv3.ClusterLoadAssignment, i int, mode string) *endpointv3.ClusterLoadAssignment {
	lbe := cla.Endpoints[0].LbEndpoints[i]
	lbe.Metadata = &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{
		"envoy.transport_socket_match": {Fields: map[string]*structpb.Value{"tlsMode": structpb.NewStringValue(mode)}}}}
	return cla
}

// TLSInspector is the TLS inspector listener filter.
func TLSInspector() *listenerv3.ListenerFilter {
	return &listenerv3.ListenerFilter{Name: "envoy.filters.listener.tls_inspector",
		ConfigType: &listenerv3.ListenerFilter_TypedConfig{TypedConfig: Any(&tlsinspectorv3.TlsInspector{})}}
}

// Chain is a filter chain with a match, a network filter and an optional
// downstream TLS context.
func Chain(match *listenerv3.FilterChainMatch, filter *listenerv3.Filter, tls *tlsv3.DownstreamTlsContext) *listenerv3.FilterChain {
	fc := &listenerv3.FilterChain{FilterChainMatch: match, Filters: []*listenerv3.Filter{filter}}
	if tls != nil {
		fc.TransportSocket = DownstreamSocket(tls)
	}
	return fc
}

// NetworkFilter wraps a network filter config.
func NetworkFilter(name string, cfg proto.Message) *listenerv3.Filter {
	return &listenerv3.Filter{Name: name, ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: Any(cfg)}}
}
