package translate

import (
	"cmp"
	"slices"
	"strconv"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	rawbufferv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/raw_buffer/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/lateenmesh/lateen/internal/mesh"
	"github.com/lateenmesh/lateen/internal/registry"
)

// ALPN values, as Istio's: in-mesh clients offer "istio" (and
// "istio-peer-exchange" for TCP metadata exchange), plus "h2" to HTTP/2
// clusters; TLS origination offers "h2" to HTTP/2 clusters only.
var (
	alpnInMesh   = []string{"istio-peer-exchange", "istio"}
	alpnInMeshH2 = []string{"istio-peer-exchange", "istio", "h2"}
	alpnH2Only   = []string{"h2"}
)

const (
	tlsSocketName       = "envoy.transport_sockets.tls"
	rawBufferSocketName = "envoy.transport_sockets.raw_buffer"
	// socketMatchKey is the endpoint metadata transport_socket_matches
	// select on; tlsModeKey/tlsModeIstio mark endpoints with a sidecar.
	socketMatchKey = "envoy.transport_socket_match"
	tlsModeKey     = "tlsMode"
	tlsModeIstio   = "istio"
)

// OutboundSNI is Istio's SNI for mTLS to a service port (and subset):
// outbound_.9080_.v1_.reviews.default.svc.cluster.local.
func OutboundSNI(port uint32, subset, host string) string {
	return "outbound_." + strconv.FormatUint(uint64(port), 10) + "_." + subset + "_." + host
}

// applyUpstreamTLS gives an outbound cluster its transport socket, as
// Istio: the DestinationRule's tls (DISABLE, SIMPLE, MUTUAL or
// ISTIO_MUTUAL), else auto mTLS — ISTIO_MUTUAL to the endpoints that have
// a sidecar and plaintext to the others (transport_socket_matches) —
// unless the service is outside the mesh, auto mTLS is off, or its
// namespace (or the mesh) disables mTLS.
func (b *builder) applyUpstreamTLS(c *clusterv3.Cluster, svc *registry.Service, port registry.Port, subset string,
	dr *mesh.DestinationRule, tp *networking.TrafficPolicy) {
	settings, auto := b.upstreamTLSSettings(svc, port, subset, tp)
	if settings == nil {
		return
	}
	ctx := b.upstreamTLSContext(c, svc, settings, dr)
	if ctx == nil {
		return
	}
	if auto && c.GetType() != clusterv3.Cluster_ORIGINAL_DST {
		c.TransportSocketMatches = []*clusterv3.Cluster_TransportSocketMatch{
			{Name: "tlsMode-" + tlsModeIstio, Match: &structpb.Struct{Fields: map[string]*structpb.Value{
				tlsModeKey: structpb.NewStringValue(tlsModeIstio)}}, TransportSocket: tlsSocket(ctx)},
			{Name: "tlsMode-disabled", Match: &structpb.Struct{}, TransportSocket: rawBufferSocket()},
		}
		return
	}
	c.TransportSocket = tlsSocket(ctx)
}

// upstreamTLSSettings returns the effective client TLS settings and
// whether they were chosen by auto mTLS (Istio's buildUpstreamTLSSettings).
func (b *builder) upstreamTLSSettings(svc *registry.Service, port registry.Port, subset string,
	tp *networking.TrafficPolicy) (*networking.ClientTLSSettings, bool) {
	sni := OutboundSNI(port.Number, subset, svc.Hostname)
	if tls := tp.GetTls(); tls != nil {
		if tls.Mode != networking.ClientTLSSettings_ISTIO_MUTUAL {
			return tls, false
		}
		sans := tls.SubjectAltNames
		if sans == nil {
			sans = b.serviceIdentities(svc)
		}
		return &networking.ClientTLSSettings{Mode: tls.Mode, Sni: cmp.Or(tls.Sni, sni), SubjectAltNames: sans}, false
	}
	if svc.MeshExternal || !b.view.Mesh.GetEnableAutoMtls().GetValue() || b.serviceMTLSMode(svc, port, tp) == mesh.MTLSDisable {
		return nil, false
	}
	return &networking.ClientTLSSettings{Mode: networking.ClientTLSSettings_ISTIO_MUTUAL, Sni: sni,
		SubjectAltNames: b.serviceIdentities(svc)}, true
}

// serviceMTLSMode is Istio's best-effort guess of a service's mTLS mode
// for auto mTLS: passthrough services use mTLS only when all their
// endpoints have a sidecar; the others follow their namespace's (or the
// mesh's) PeerAuthentication.
func (b *builder) serviceMTLSMode(svc *registry.Service, port registry.Port, tp *networking.TrafficPolicy) mesh.MTLSMode {
	if tp.GetLoadBalancer().GetSimple() == networking.LoadBalancerSettings_PASSTHROUGH {
		eps := b.view.Endpoints(svc, port.Number)
		if len(eps) == 0 || slices.ContainsFunc(eps, func(ep registry.Endpoint) bool { return !ep.Workload.Sidecar }) {
			return mesh.MTLSDisable
		}
	}
	return b.view.NamespaceMTLSMode(svc.Namespace)
}

// serviceIdentities are the identities allowed to serve a service (secure
// naming): its ServiceEntry's subjectAltNames and the SPIFFE identities
// of its endpoints' service accounts (an endpoint without a sidecar
// counts only with a service account of its own, not the implicit
// "default"), sorted.
func (b *builder) serviceIdentities(svc *registry.Service) []string {
	seen := map[string]bool{}
	for _, s := range svc.SubjectAltNames {
		seen[s] = true
	}
	td := cmp.Or(b.view.Mesh.GetTrustDomain(), "cluster.local")
	for _, p := range svc.Ports {
		for _, ep := range b.view.Endpoints(svc, p.Number) {
			w := ep.Workload
			if w.ServiceAccount != "" && (w.Sidecar || w.ServiceAccount != "default") {
				seen["spiffe://"+td+"/ns/"+w.Namespace+"/sa/"+w.ServiceAccount] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// upstreamTLSContext builds the UpstreamTlsContext of effective settings
// (nil: plaintext).
func (b *builder) upstreamTLSContext(c *clusterv3.Cluster, svc *registry.Service, tls *networking.ClientTLSSettings,
	dr *mesh.DestinationRule) *tlsv3.UpstreamTlsContext {
	switch tls.Mode {
	case networking.ClientTLSSettings_ISTIO_MUTUAL:
		alpn := alpnInMesh
		if isHTTP2Cluster(c) {
			alpn = alpnInMeshH2
		}
		return &tlsv3.UpstreamTlsContext{Sni: tls.Sni, CommonTlsContext: &tlsv3.CommonTlsContext{
			TlsParams:                      upstreamTLSParams(),
			AlpnProtocols:                  alpn,
			TlsCertificateSdsSecretConfigs: []*tlsv3.SdsSecretConfig{localSDS(SecretDefault)},
			ValidationContextType:          combinedValidation(tls.SubjectAltNames, localSDS(SecretRootCA)),
		}}
	case networking.ClientTLSSettings_SIMPLE, networking.ClientTLSSettings_MUTUAL:
		// Istio serves credentialName to sidecars only through a
		// DestinationRule with a workloadSelector; otherwise the setting
		// is dropped (no TLS), as istiod does.
		if tls.CredentialName != "" && b.view.Proxy.Type == mesh.Sidecar && dr.Spec.GetWorkloadSelector() == nil {
			return nil
		}
		return b.originationContext(c, svc, tls)
	}
	return nil // DISABLE
}

// originationContext is TLS origination (SIMPLE, MUTUAL): certificates
// from credentialName (over ADS) or from files (the proxy's file-cert: and
// file-root: secrets; the system's roots without caCertificates), SNI and
// SAN checks from the request's host when the rule names neither.
func (b *builder) originationContext(c *clusterv3.Cluster, svc *registry.Service, tls *networking.ClientTLSSettings) *tlsv3.UpstreamTlsContext {
	ctx := &tlsv3.UpstreamTlsContext{Sni: tls.Sni, CommonTlsContext: &tlsv3.CommonTlsContext{TlsParams: upstreamTLSParams()}}
	common := ctx.CommonTlsContext
	insecure := tls.GetInsecureSkipVerify().GetValue()
	autoSNI := tls.Sni == ""
	setUpstreamHTTPOptions(c, autoSNI, autoSNI && len(tls.SubjectAltNames) == 0 && !insecure)
	sans := tls.SubjectAltNames
	if len(sans) == 0 {
		sans = b.serviceIdentities(svc)
	}
	switch {
	case tls.CredentialName != "":
		name := credentialPrefix + tls.CredentialName
		common.TlsCertificateSdsSecretConfigs = []*tlsv3.SdsSecretConfig{b.credentialSDS(name)}
		if !insecure {
			common.ValidationContextType = combinedValidation(sans, b.credentialSDS(name+credentialCASuffix))
		}
	default:
		if tls.Mode == networking.ClientTLSSettings_MUTUAL {
			common.TlsCertificateSdsSecretConfigs = []*tlsv3.SdsSecretConfig{localSDS(FileCertSecret(tls.ClientCertificate, tls.PrivateKey))}
		}
		if insecure {
			common.ValidationContextType = &tlsv3.CommonTlsContext_ValidationContext{ValidationContext: &tlsv3.CertificateValidationContext{}}
		} else {
			common.ValidationContextType = combinedValidation(sans, localSDS(FileRootSecret(cmp.Or(tls.CaCertificates, "system"))))
		}
	}
	if isHTTP2Cluster(c) {
		common.AlpnProtocols = alpnH2Only
	}
	return ctx
}

func upstreamTLSParams() *tlsv3.TlsParameters {
	return &tlsv3.TlsParameters{TlsMinimumProtocolVersion: tlsv3.TlsParameters_TLSv1_2,
		TlsMaximumProtocolVersion: tlsv3.TlsParameters_TLSv1_3}
}

func combinedValidation(sans []string, ca *tlsv3.SdsSecretConfig) *tlsv3.CommonTlsContext_CombinedValidationContext {
	def := &tlsv3.CertificateValidationContext{}
	for _, s := range sans {
		def.MatchSubjectAltNames = append(def.MatchSubjectAltNames, &matcherv3.StringMatcher{
			MatchPattern: &matcherv3.StringMatcher_Exact{Exact: s}})
	}
	return &tlsv3.CommonTlsContext_CombinedValidationContext{CombinedValidationContext: &tlsv3.CommonTlsContext_CombinedCertificateValidationContext{
		DefaultValidationContext: def, ValidationContextSdsSecretConfig: ca}}
}

// tlsSocket wraps an Upstream or DownstreamTlsContext.
func tlsSocket(ctx proto.Message) *corev3.TransportSocket {
	return &corev3.TransportSocket{Name: tlsSocketName, ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: mustAny(ctx)}}
}

func rawBufferSocket() *corev3.TransportSocket {
	return &corev3.TransportSocket{Name: rawBufferSocketName,
		ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: mustAny(&rawbufferv3.RawBuffer{})}}
}

// httpOptions returns a cluster's HttpProtocolOptions (nil when none).
func httpOptions(c *clusterv3.Cluster) *httpv3.HttpProtocolOptions {
	a := c.GetTypedExtensionProtocolOptions()[httpProtocolOptionsKey]
	if a == nil {
		return nil
	}
	var po httpv3.HttpProtocolOptions
	if err := a.UnmarshalTo(&po); err != nil {
		panic(err) // set by this package
	}
	return &po
}

func isHTTP2Cluster(c *clusterv3.Cluster) bool {
	return httpOptions(c).GetExplicitHttpConfig().GetHttp2ProtocolOptions() != nil
}

// setUpstreamHTTPOptions sets upstream_http_protocol_options auto_sni and
// auto_san_validation (Istio sets them when a rule names no SNI, and no
// SANs either for the validation).
func setUpstreamHTTPOptions(c *clusterv3.Cluster, autoSNI, autoSAN bool) {
	if !autoSNI && !autoSAN {
		return
	}
	po := httpOptions(c)
	if po == nil {
		po = &httpv3.HttpProtocolOptions{}
	}
	po.UpstreamHttpProtocolOptions = &corev3.UpstreamHttpProtocolOptions{AutoSni: autoSNI, AutoSanValidation: autoSAN}
	setProtocolOptions(c, po)
}
