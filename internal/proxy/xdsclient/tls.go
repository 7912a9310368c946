package xdsclient

import (
	"crypto/tls"
	"fmt"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	rawbufferv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/raw_buffer/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// Transport sockets Lateen understands (by typed_config type URL).
const (
	upstreamTLSTypeURL   = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"
	downstreamTLSTypeURL = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"
	rawBufferTypeURL     = "type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer"
)

// decodeUpstreamSocket decodes a cluster's transport_socket: TLS, or
// raw_buffer (nil).
func decodeUpstreamSocket(ts *corev3.TransportSocket) (*resource.UpstreamTLS, error) {
	a, err := socketConfig(ts)
	if err != nil || a.GetTypeUrl() == rawBufferTypeURL {
		return nil, err
	}
	if a.GetTypeUrl() != upstreamTLSTypeURL {
		return nil, fieldErr("typed_config", "transport socket %q not supported by lateen-proxy", a.GetTypeUrl())
	}
	var pb tlsv3.UpstreamTlsContext
	if err := unpack(a, &pb); err != nil {
		return nil, under("typed_config", err)
	}
	common, err := decodeCommonTLS(pb.GetCommonTlsContext())
	if err != nil {
		return nil, under("typed_config.common_tls_context", err)
	}
	return &resource.UpstreamTLS{Common: *common, SNI: pb.GetSni()}, nil
}

// decodeDownstreamSocket decodes a filter chain's transport_socket: TLS,
// or raw_buffer (nil).
func decodeDownstreamSocket(ts *corev3.TransportSocket) (*resource.DownstreamTLS, error) {
	a, err := socketConfig(ts)
	if err != nil || a.GetTypeUrl() == rawBufferTypeURL {
		return nil, err
	}
	if a.GetTypeUrl() != downstreamTLSTypeURL {
		return nil, fieldErr("typed_config", "transport socket %q not supported by lateen-proxy", a.GetTypeUrl())
	}
	var pb tlsv3.DownstreamTlsContext
	if err := unpack(a, &pb); err != nil {
		return nil, under("typed_config", err)
	}
	common, err := decodeCommonTLS(pb.GetCommonTlsContext())
	if err != nil {
		return nil, under("typed_config.common_tls_context", err)
	}
	if common.Certificate == nil {
		return nil, fieldErr("typed_config.common_tls_context.tls_certificate_sds_secret_configs", "a server certificate is required")
	}
	return &resource.DownstreamTLS{Common: *common, RequireClientCert: pb.GetRequireClientCertificate().GetValue()}, nil
}

func socketConfig(ts *corev3.TransportSocket) (*anypb.Any, error) {
	a := ts.GetTypedConfig()
	if a == nil {
		return nil, fieldErr("typed_config", "required")
	}
	if a.GetTypeUrl() == rawBufferTypeURL {
		if err := unpack(a, &rawbufferv3.RawBuffer{}); err != nil {
			return nil, under("typed_config", err)
		}
	}
	return a, nil
}

func decodeCommonTLS(pb *tlsv3.CommonTlsContext) (*resource.CommonTLS, error) {
	c := &resource.CommonTLS{ALPN: pb.GetAlpnProtocols()}
	if err := decodeTLSParams(pb.GetTlsParams(), c); err != nil {
		return nil, under("tls_params", err)
	}
	switch certs := pb.GetTlsCertificateSdsSecretConfigs(); len(certs) {
	case 0:
	case 1:
		ref, err := decodeSecretRef(certs[0], false)
		if err != nil {
			return nil, under("tls_certificate_sds_secret_configs[0]", err)
		}
		c.Certificate = ref
	default:
		return nil, fieldErr("tls_certificate_sds_secret_configs", "at most one certificate is supported by lateen-proxy")
	}
	v, err := decodeValidation(pb)
	if err != nil {
		return nil, err
	}
	c.Validation = v
	return c, nil
}

// decodeValidation decodes the validation context: combined (SANs plus
// an SDS CA), plain (SANs only) or SDS only.
func decodeValidation(pb *tlsv3.CommonTlsContext) (*resource.Validation, error) {
	var (
		def  *tlsv3.CertificateValidationContext
		sds  *tlsv3.SdsSecretConfig
		path string
	)
	switch vc := pb.GetValidationContextType().(type) {
	case nil:
		return nil, nil
	case *tlsv3.CommonTlsContext_ValidationContext:
		def, path = vc.ValidationContext, "validation_context"
	case *tlsv3.CommonTlsContext_ValidationContextSdsSecretConfig:
		sds, path = vc.ValidationContextSdsSecretConfig, "validation_context_sds_secret_config"
	case *tlsv3.CommonTlsContext_CombinedValidationContext:
		def, sds = vc.CombinedValidationContext.GetDefaultValidationContext(), vc.CombinedValidationContext.GetValidationContextSdsSecretConfig()
		path = "combined_validation_context"
		if sds == nil {
			return nil, fieldErr(path+".validation_context_sds_secret_config", "required")
		}
	default:
		return nil, fieldErr("validation_context_type", "%T not supported by lateen-proxy", vc)
	}
	v := &resource.Validation{}
	if def.GetTrustedCa() != nil {
		return nil, fieldErr(path+".trusted_ca", "only SDS secrets may carry a trusted CA")
	}
	for i, sm := range def.GetMatchSubjectAltNames() {
		m, err := decodeStringMatcher(sm)
		if err != nil {
			return nil, under(fmt.Sprintf("%s.match_subject_alt_names[%d]", path, i), err)
		}
		v.SANs = append(v.SANs, m)
	}
	if sds != nil {
		ref, err := decodeSecretRef(sds, true)
		if err != nil {
			return nil, under(path+".validation_context_sds_secret_config", err)
		}
		v.CA = ref
	}
	return v, nil
}

var tlsVersions = map[tlsv3.TlsParameters_TlsProtocol]uint16{
	tlsv3.TlsParameters_TLS_AUTO: 0,
	tlsv3.TlsParameters_TLSv1_0:  tls.VersionTLS10,
	tlsv3.TlsParameters_TLSv1_1:  tls.VersionTLS11,
	tlsv3.TlsParameters_TLSv1_2:  tls.VersionTLS12,
	tlsv3.TlsParameters_TLSv1_3:  tls.VersionTLS13,
}

func decodeTLSParams(pb *tlsv3.TlsParameters, c *resource.CommonTLS) error {
	if pb == nil {
		return nil
	}
	c.MinVersion = tlsVersions[pb.GetTlsMinimumProtocolVersion()]
	c.MaxVersion = tlsVersions[pb.GetTlsMaximumProtocolVersion()]
	if c.MinVersion != 0 && c.MaxVersion != 0 && c.MinVersion > c.MaxVersion {
		return fieldErr("tls_minimum_protocol_version", "above tls_maximum_protocol_version")
	}
	for i, name := range pb.GetCipherSuites() {
		ids, err := cipherSuites(name)
		if err != nil {
			return fieldErr(fmt.Sprintf("cipher_suites[%d]", i), "%v", err)
		}
		c.CipherSuites = append(c.CipherSuites, ids...)
	}
	return nil
}

// opensslSuites maps Envoy's (OpenSSL) cipher suite names to Go's TLS 1.2
// suites. TLS 1.3 suites are not configurable, as in Envoy.
var opensslSuites = map[string]uint16{
	"ECDHE-ECDSA-AES128-GCM-SHA256": tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-RSA-AES128-GCM-SHA256":   tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-ECDSA-AES256-GCM-SHA384": tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-RSA-AES256-GCM-SHA384":   tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-ECDSA-CHACHA20-POLY1305": tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-RSA-CHACHA20-POLY1305":   tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-ECDSA-AES128-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
	"ECDHE-RSA-AES128-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	"ECDHE-ECDSA-AES256-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	"ECDHE-RSA-AES256-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	"AES128-GCM-SHA256":             tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	"AES256-GCM-SHA384":             tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
	"AES128-SHA":                    tls.TLS_RSA_WITH_AES_128_CBC_SHA,
	"AES256-SHA":                    tls.TLS_RSA_WITH_AES_256_CBC_SHA,
}

// cipherSuites resolves one entry, which may be an equal-preference group
// "[A|B]".
func cipherSuites(entry string) ([]uint16, error) {
	var out []uint16
	for _, name := range strings.Split(strings.Trim(entry, "[]"), "|") {
		id, ok := opensslSuites[name]
		if !ok {
			return nil, fmt.Errorf("cipher suite %q not supported by lateen-proxy", name)
		}
		out = append(out, id)
	}
	return out, nil
}

// decodeSecretRef decodes an SdsSecretConfig: the proxy's own SDS
// (sds-grpc, as Istio's agent: default, ROOTCA, file-cert:..., file-root:...)
// or ADS.
func decodeSecretRef(pb *tlsv3.SdsSecretConfig, validation bool) (*resource.SecretRef, error) {
	name := pb.GetName()
	if name == "" {
		return nil, fieldErr("name", "empty")
	}
	src := pb.GetSdsConfig()
	switch {
	case src == nil:
		return nil, fieldErr("sds_config", "required (lateen-proxy has no static secrets)")
	case src.GetAds() != nil:
		return &resource.SecretRef{Name: name}, nil
	case src.GetApiConfigSource() != nil:
		if err := checkLocalSDS(src.GetApiConfigSource()); err != nil {
			return nil, under("sds_config.api_config_source", err)
		}
		if err := checkLocalName(name, validation); err != nil {
			return nil, fieldErr("name", "%v", err)
		}
		return &resource.SecretRef{Name: name, Local: true}, nil
	}
	return nil, fieldErr("sds_config", "ads or api_config_source (sds-grpc) is required")
}

// checkLocalSDS accepts Istio's sds_config for the agent: gRPC to the
// sds-grpc cluster, which lateen-proxy serves from its own identity.
func checkLocalSDS(pb *corev3.ApiConfigSource) error {
	if pb.GetApiType() != corev3.ApiConfigSource_GRPC {
		return fieldErr("api_type", "only GRPC is supported")
	}
	svcs := pb.GetGrpcServices()
	if len(svcs) != 1 || svcs[0].GetEnvoyGrpc().GetClusterName() != resource.LocalSDSCluster {
		return fieldErr("grpc_services", "only envoy_grpc to %q (the proxy's own SDS) is supported", resource.LocalSDSCluster)
	}
	return nil
}

func checkLocalName(name string, validation bool) error {
	switch {
	case name == resource.SecretDefault && !validation, name == resource.SecretRootCA && validation:
		return nil
	case strings.HasPrefix(name, resource.FileCertPrefix) && !validation:
		cert, key, ok := strings.Cut(strings.TrimPrefix(name, resource.FileCertPrefix), "~")
		if !ok || cert == "" || key == "" {
			return fmt.Errorf("%q: want file-cert:<certificate>~<key>", name)
		}
		return nil
	case strings.HasPrefix(name, resource.FileRootPrefix) && validation:
		if strings.TrimPrefix(name, resource.FileRootPrefix) == "" {
			return fmt.Errorf("%q: want file-root:<ca file>", name)
		}
		return nil
	}
	return fmt.Errorf("%q is not a secret the proxy serves here (default or file-cert: for certificates, ROOTCA or file-root: for validation)", name)
}

// decodeSecret decodes an SDS Secret received over ADS.
func decodeSecret(_ *Decoders, a *anypb.Any) (string, any, error) {
	var pb tlsv3.Secret
	if err := unpack(a, &pb); err != nil {
		return pb.GetName(), nil, err
	}
	s := &resource.Secret{Name: pb.GetName()}
	if s.Name == "" {
		return "", nil, fieldErr("name", "empty")
	}
	switch t := pb.GetType().(type) {
	case nil:
	case *tlsv3.Secret_TlsCertificate:
		s.CertChain = dataBytes(t.TlsCertificate.GetCertificateChain())
		s.PrivateKey = dataBytes(t.TlsCertificate.GetPrivateKey())
		if len(s.CertChain) == 0 || len(s.PrivateKey) == 0 {
			return s.Name, nil, fieldErr("tls_certificate", "certificate_chain and private_key are required")
		}
		if _, err := tls.X509KeyPair(s.CertChain, s.PrivateKey); err != nil {
			return s.Name, nil, fieldErr("tls_certificate", "%v", err)
		}
	case *tlsv3.Secret_ValidationContext:
		if len(t.ValidationContext.GetMatchSubjectAltNames()) > 0 {
			return s.Name, nil, fieldErr("validation_context.match_subject_alt_names", "not supported in secrets by lateen-proxy")
		}
		s.TrustedCA = dataBytes(t.ValidationContext.GetTrustedCa())
		if len(s.TrustedCA) == 0 {
			return s.Name, nil, fieldErr("validation_context.trusted_ca", "required")
		}
	default:
		return s.Name, nil, fieldErr("type", "%T not supported by lateen-proxy", t)
	}
	return s.Name, s, nil
}

func dataBytes(ds *corev3.DataSource) []byte {
	if b := ds.GetInlineBytes(); b != nil {
		return b
	}
	return []byte(ds.GetInlineString())
}
