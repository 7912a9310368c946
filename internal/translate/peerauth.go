package translate

import (
	"strings"

	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	tlsinspectorv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/listener/tls_inspector/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/lateenmesh/lateen/internal/mesh"
	"github.com/lateenmesh/lateen/internal/registry"
)

// Transport protocols and ALPN values of inbound filter chain matches, as
// Istio's: mesh clients offer "istio" or "istio-peer-exchange" (Envoy's
// HTTP clients "istio-http/1.x" or "istio-h2"); the server negotiates the
// application protocol itself.
const (
	transportTLS = "tls"
	transportRaw = "raw_buffer"
)

var (
	alpnAllIstioMTLS    = []string{"istio", "istio-peer-exchange", "istio-http/1.0", "istio-http/1.1", "istio-h2"}
	alpnDownstreamHTTP  = []string{"h2", "http/1.1"}
	alpnDownstreamTCP   = []string{"istio-peer-exchange", "h2", "http/1.1"}
	inboundCipherSuites = []string{"ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
		"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "AES256-GCM-SHA384", "AES128-GCM-SHA256"}
)

const tlsInspectorName = "envoy.filters.listener.tls_inspector"

// chainOption is one inbound filter chain of a mode: what it matches and
// whether it terminates mutual TLS.
type chainOption struct {
	transport string
	alpn      []string
	mtls      bool
}

// inboundChainOptions are Istio's inbound chains per mode and protocol.
// STRICT: mTLS only. PERMISSIVE: mTLS (told by its ALPN) and plaintext,
// plus, for TCP, other TLS passed through. DISABLE: plaintext only.
func inboundChainOptions(mode mesh.MTLSMode, http bool) []chainOption {
	switch {
	case mode == mesh.MTLSStrict:
		return []chainOption{{transport: transportTLS, mtls: true}}
	case mode == mesh.MTLSPermissive && http:
		return []chainOption{{transport: transportTLS, alpn: alpnAllIstioMTLS, mtls: true}, {transport: transportRaw}}
	case mode == mesh.MTLSPermissive:
		return []chainOption{{transport: transportTLS, alpn: alpnAllIstioMTLS, mtls: true}, {transport: transportRaw},
			{transport: transportTLS}}
	}
	return []chainOption{{transport: transportRaw}}
}

// peerAuthn is the effective PeerAuthentication of the proxy's workload.
func (b *builder) peerAuthn() mesh.PeerAuthn {
	if b.peerAuth == nil {
		pa := b.view.PeerAuthentication()
		b.peerAuth = &pa
	}
	return *b.peerAuth
}

// inboundChains builds the filter chains of one inbound port (the
// workload's port, which portLevelMtls names) for its mTLS mode, each with
// its own network filter from newFilter; it reports whether they need the
// TLS inspector. A virtualInbound listener (capture) takes the same chains.
func (b *builder) inboundChains(name string, port uint32, proto registry.Protocol, newFilter func() *listenerv3.Filter) ([]*listenerv3.FilterChain, bool) {
	var chains []*listenerv3.FilterChain
	inspect := false
	for _, o := range inboundChainOptions(b.peerAuthn().ForPort(port), proto.IsHTTP()) {
		fc := &listenerv3.FilterChain{
			Name: name,
			FilterChainMatch: &listenerv3.FilterChainMatch{DestinationPort: wrapperspb.UInt32(port),
				TransportProtocol: o.transport, ApplicationProtocols: o.alpn},
			Filters: []*listenerv3.Filter{newFilter()},
		}
		if o.mtls {
			fc.TransportSocket = tlsSocket(inboundTLSContext(proto.IsHTTP()))
		}
		inspect = inspect || o.transport == transportTLS || len(o.alpn) > 0
		chains = append(chains, fc)
	}
	return chains, inspect
}

// inboundTLSContext is Istio's inbound mTLS: the workload certificate, a
// client certificate required and verified against the mesh roots.
func inboundTLSContext(http bool) *tlsv3.DownstreamTlsContext {
	alpn := alpnDownstreamTCP
	if http {
		alpn = alpnDownstreamHTTP
	}
	return &tlsv3.DownstreamTlsContext{
		RequireClientCertificate: wrapperspb.Bool(true),
		CommonTlsContext: &tlsv3.CommonTlsContext{
			TlsParams: &tlsv3.TlsParameters{CipherSuites: inboundCipherSuites,
				TlsMinimumProtocolVersion: tlsv3.TlsParameters_TLSv1_2, TlsMaximumProtocolVersion: tlsv3.TlsParameters_TLSv1_3},
			AlpnProtocols:                  alpn,
			TlsCertificateSdsSecretConfigs: []*tlsv3.SdsSecretConfig{localSDS(SecretDefault)},
			ValidationContextType:          combinedValidation(nil, localSDS(SecretRootCA)),
		},
	}
}

// inboundListenerFilters gives an inbound listener the TLS inspector when
// its chains need it, and Istio's protocol detection timeout.
func (b *builder) inboundListenerFilters(l *listenerv3.Listener, inspect bool) {
	if inspect {
		l.ListenerFilters = []*listenerv3.ListenerFilter{{Name: tlsInspectorName,
			ConfigType: &listenerv3.ListenerFilter_TypedConfig{TypedConfig: mustAny(&tlsinspectorv3.TlsInspector{})}}}
	}
	l.ListenerFiltersTimeout = b.view.Mesh.GetProtocolDetectionTimeout()
	l.ContinueOnListenerFiltersTimeout = true
}

// clientCertDetails makes an inbound connection manager forward the
// client certificate as Istio's sidecars do: x-forwarded-client-cert
// appended with the peer's Subject, URI and DNS SANs.
func clientCertDetails(hcm *hcmv3.HttpConnectionManager) {
	if !strings.HasPrefix(hcm.StatPrefix, "inbound_") {
		return
	}
	hcm.ForwardClientCertDetails = hcmv3.HttpConnectionManager_APPEND_FORWARD
	hcm.SetCurrentClientCertDetails = &hcmv3.HttpConnectionManager_SetCurrentClientCertDetails{
		Subject: wrapperspb.Bool(true), Uri: true, Dns: true}
}
