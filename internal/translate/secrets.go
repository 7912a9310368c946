package translate

import (
	"cmp"
	"slices"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/types/known/durationpb"
)

// SDS secret names, as Istio's.
const (
	// SecretDefault and SecretRootCA are the workload certificate and the
	// mesh trust bundle, served by the proxy itself.
	SecretDefault = "default"
	SecretRootCA  = "ROOTCA"
	// sdsCluster is the proxy's own SDS (Istio's agent), which lateen-proxy
	// serves from its identity and from files.
	sdsCluster = "sds-grpc"
	// credentialPrefix names secrets pilot serves over ADS from its
	// credentials store (DestinationRule credentialName); the CA of a
	// credential has credentialCASuffix.
	credentialPrefix   = "kubernetes://"
	credentialCASuffix = "-cacert"
)

// FileCertSecret and FileRootSecret name the proxy's file secrets:
// file-cert:<certificate>~<key>, file-root:<ca>.
func FileCertSecret(cert, key string) string { return "file-cert:" + cert + "~" + key }

// FileRootSecret names a CA file secret ("system": the system's roots).
func FileRootSecret(ca string) string { return "file-root:" + ca }

// localSDS refers to a secret of the proxy's own SDS, in Istio's shape;
// default and ROOTCA do not wait for their first fetch.
func localSDS(name string) *tlsv3.SdsSecretConfig {
	src := &corev3.ConfigSource{
		ConfigSourceSpecifier: &corev3.ConfigSource_ApiConfigSource{ApiConfigSource: &corev3.ApiConfigSource{
			ApiType:                   corev3.ApiConfigSource_GRPC,
			SetNodeOnFirstMessageOnly: true,
			TransportApiVersion:       corev3.ApiVersion_V3,
			GrpcServices: []*corev3.GrpcService{{TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{
				EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{ClusterName: sdsCluster}}}},
		}},
		ResourceApiVersion: corev3.ApiVersion_V3,
	}
	if name == SecretDefault || name == SecretRootCA {
		src.InitialFetchTimeout = durationpb.New(0)
	}
	return &tlsv3.SdsSecretConfig{Name: name, SdsConfig: src}
}

// credentialSDS refers to a credential served over ADS and records that
// this proxy needs it.
func (b *builder) credentialSDS(name string) *tlsv3.SdsSecretConfig {
	b.secretNames[name] = true
	return &tlsv3.SdsSecretConfig{Name: name, SdsConfig: &corev3.ConfigSource{
		ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
		ResourceApiVersion:    corev3.ApiVersion_V3,
	}}
}

// credentialSecrets are the ADS secrets the configuration names, from the
// credentials of the proxy's namespace: kubernetes://<name> holds the
// certificate and key, kubernetes://<name>-cacert the CA. A name the store
// does not have (or has without that part) is sent empty, so the proxy
// holds the reference and fails the handshakes that need it, as Envoy
// does for a missing credential.
func (b *builder) credentialSecrets() []*tlsv3.Secret {
	var out []*tlsv3.Secret
	for name := range b.secretNames {
		s := &tlsv3.Secret{Name: name}
		base := name[len(credentialPrefix):]
		if ca, ok := strings.CutSuffix(base, credentialCASuffix); ok {
			if c := b.view.Credential(ca); c != nil && len(c.CA) > 0 {
				s.Type = &tlsv3.Secret_ValidationContext{ValidationContext: &tlsv3.CertificateValidationContext{
					TrustedCa: &corev3.DataSource{Specifier: &corev3.DataSource_InlineBytes{InlineBytes: c.CA}}}}
			}
		} else if c := b.view.Credential(base); c != nil && len(c.Cert) > 0 {
			s.Type = &tlsv3.Secret_TlsCertificate{TlsCertificate: &tlsv3.TlsCertificate{
				CertificateChain: &corev3.DataSource{Specifier: &corev3.DataSource_InlineBytes{InlineBytes: c.Cert}},
				PrivateKey:       &corev3.DataSource{Specifier: &corev3.DataSource_InlineBytes{InlineBytes: c.Key}},
			}}
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *tlsv3.Secret) int { return cmp.Compare(a.Name, b.Name) })
	return out
}
