package xdsclient_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/lateenmesh/lateen/internal/proxy/proxytest"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// selfSigned returns a PEM certificate and key.
func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "client"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

func inline(b []byte) *corev3.DataSource {
	return &corev3.DataSource{Specifier: &corev3.DataSource_InlineBytes{InlineBytes: b}}
}

// TestSecretsOverADSHeldUntilReceived: a cluster naming credential
// secrets (served over ADS) is held until they arrive, then applied with
// its TLS settings decoded.
func TestSecretsOverADSHeldUntilReceived(t *testing.T) {
	srv, rec := start(t)
	cl := proxytest.EDSCluster("c1")
	ctx := &tlsv3.UpstreamTlsContext{Sni: "api.example.com", CommonTlsContext: &tlsv3.CommonTlsContext{
		AlpnProtocols:                  []string{"h2"},
		TlsCertificateSdsSecretConfigs: []*tlsv3.SdsSecretConfig{proxytest.ADSSDS("kubernetes://cred")},
		ValidationContextType:          proxytest.Validation(proxytest.ADSSDS("kubernetes://cred-cacert"), "api.example.com"),
	}}
	cl.TransportSocket = proxytest.UpstreamSocket(ctx)
	res := basic(cl)
	srv.Set(t, node.Id, "v1", res)
	req := srv.WaitRequest(t, "SDS subscription", func(r *discoveryv3.DiscoveryRequest) bool { return r.TypeUrl == resource.SecretType })
	if want := []string{"kubernetes://cred", "kubernetes://cred-cacert"}; !slices.Equal(req.ResourceNames, want) {
		t.Errorf("SDS names %v, want %v", req.ResourceNames, want)
	}
	rec.none(t)

	cert, key := selfSigned(t)
	res.Secrets = []types.Resource{
		&tlsv3.Secret{Name: "kubernetes://cred", Type: &tlsv3.Secret_TlsCertificate{TlsCertificate: &tlsv3.TlsCertificate{
			CertificateChain: inline(cert), PrivateKey: inline(key)}}},
		&tlsv3.Secret{Name: "kubernetes://cred-cacert", Type: &tlsv3.Secret_ValidationContext{ValidationContext: &tlsv3.CertificateValidationContext{
			TrustedCa: inline(cert)}}},
	}
	srv.Set(t, node.Id, "v2", res)
	cfg := rec.until(t, func(c *resource.Config) bool { return len(c.Secrets) == 2 })
	got := cfg.Clusters["c1"].TLS
	want := &resource.UpstreamTLS{SNI: "api.example.com", Common: resource.CommonTLS{ALPN: []string{"h2"},
		Certificate: &resource.SecretRef{Name: "kubernetes://cred"},
		Validation: &resource.Validation{CA: &resource.SecretRef{Name: "kubernetes://cred-cacert"},
			SANs: []*resource.StringMatcher{{Kind: resource.StringExact, Value: "api.example.com"}}}}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("cluster TLS (-want +got):\n%s", d)
	}
	if s := cfg.Secrets["kubernetes://cred-cacert"]; s == nil || string(s.TrustedCA) != string(cert) {
		t.Errorf("CA secret %+v", s)
	}
}

// TestInboundTLSDecoded: an inbound listener's chains, their TLS contexts
// and the TLS inspector.
func TestInboundTLSDecoded(t *testing.T) {
	srv, rec := start(t)
	l := proxytest.HTTPListener("in", "127.0.0.9", 8000, "r1")
	l.ListenerFilters = []*listenerv3.ListenerFilter{proxytest.TLSInspector()}
	l.FilterChains[0].FilterChainMatch = &listenerv3.FilterChainMatch{TransportProtocol: "tls",
		ApplicationProtocols: proxytest.ALPNAllIstioMTLS, DestinationPort: wrapperspb.UInt32(8000)}
	in := proxytest.IstioInbound(proxytest.ALPNDownstream)
	in.CommonTlsContext.TlsParams.CipherSuites = []string{"ECDHE-ECDSA-AES256-GCM-SHA384", "[ECDHE-RSA-AES128-GCM-SHA256|AES128-GCM-SHA256]"}
	l.FilterChains[0].TransportSocket = proxytest.DownstreamSocket(in)
	res := basic()
	res.Listeners = []types.Resource{l}
	srv.Set(t, node.Id, "v1", res)
	cfg := rec.until(t, func(c *resource.Config) bool { return c.Listeners["in"] != nil })
	got := cfg.Listeners["in"]
	if !got.TLSInspector {
		t.Error("TLS inspector not decoded")
	}
	want := &resource.DownstreamTLS{RequireClientCert: true, Common: resource.CommonTLS{
		MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13, ALPN: proxytest.ALPNDownstream,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_RSA_WITH_AES_128_GCM_SHA256},
		Certificate: &resource.SecretRef{Name: "default", Local: true},
		Validation:  &resource.Validation{CA: &resource.SecretRef{Name: "ROOTCA", Local: true}},
	}}
	if d := cmp.Diff(want, got.FilterChains[0].TLS); d != "" {
		t.Errorf("chain TLS (-want +got):\n%s", d)
	}
}

func TestTLSNACKs(t *testing.T) {
	tests := []struct {
		name   string
		ctx    func() *tlsv3.UpstreamTlsContext
		detail string
	}{
		{"unknown cipher suite", func() *tlsv3.UpstreamTlsContext {
			c := proxytest.IstioMutual("sni")
			c.CommonTlsContext.TlsParams.CipherSuites = []string{"RC4-MD5"}
			return c
		}, `tls_params.cipher_suites[0]: cipher suite "RC4-MD5" not supported by lateen-proxy`},
		{"SDS from another server", func() *tlsv3.UpstreamTlsContext {
			c := proxytest.IstioMutual("sni")
			c.CommonTlsContext.TlsCertificateSdsSecretConfigs[0].SdsConfig.GetApiConfigSource().GrpcServices[0].GetEnvoyGrpc().ClusterName = "other-sds"
			return c
		}, `grpc_services: only envoy_grpc to "sds-grpc" (the proxy's own SDS) is supported`},
		{"inline trusted CA", func() *tlsv3.UpstreamTlsContext {
			c := proxytest.IstioMutual("sni")
			c.CommonTlsContext.GetCombinedValidationContext().DefaultValidationContext.TrustedCa = inline([]byte("x"))
			return c
		}, `combined_validation_context.trusted_ca: only SDS secrets may carry a trusted CA`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := start(t)
			cl := proxytest.EDSCluster("c1")
			cl.TransportSocket = proxytest.UpstreamSocket(tt.ctx())
			srv.Set(t, node.Id, "v1", basic(cl))
			nack := srv.WaitRequest(t, "CDS NACK", func(r *discoveryv3.DiscoveryRequest) bool {
				return r.TypeUrl == resource.ClusterType && r.ErrorDetail != nil
			})
			if got := nack.ErrorDetail.GetMessage(); !strings.HasSuffix(got, tt.detail) {
				t.Errorf("error_detail %q, want it to end with %q", got, tt.detail)
			}
		})
	}
}
