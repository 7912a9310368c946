package admin

import (
	"crypto/x509"
	"encoding/pem"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// secretsDump is Envoy's SecretsConfigDump: the workload certificate
// ("default") and trust bundle ("ROOTCA") the proxy serves itself, and the
// secrets received over ADS, with private keys redacted as Envoy does.
func (s *Server) secretsDump(cfg *resource.Config) *adminv3.SecretsConfigDump {
	out := &adminv3.SecretsConfigDump{}
	if s.opts.Certs != nil {
		if chain, roots := s.opts.Certs.Certificates(); len(chain) > 0 {
			out.DynamicActiveSecrets = append(out.DynamicActiveSecrets,
				dynamicSecret("", &tlsv3.Secret{Name: resource.SecretDefault, Type: &tlsv3.Secret_TlsCertificate{TlsCertificate: &tlsv3.TlsCertificate{
					CertificateChain: inlineBytes(pemOf(chain)), PrivateKey: redacted()}}}),
				dynamicSecret("", &tlsv3.Secret{Name: resource.SecretRootCA, Type: &tlsv3.Secret_ValidationContext{
					ValidationContext: &tlsv3.CertificateValidationContext{TrustedCa: inlineBytes(pemOf(roots))}}}))
		}
	}
	for _, n := range sortedNames(cfg.Raw[resource.SecretType]) {
		r := cfg.Raw[resource.SecretType][n]
		var sec tlsv3.Secret
		if err := r.Any.UnmarshalTo(&sec); err != nil {
			continue
		}
		if c := sec.GetTlsCertificate(); c != nil {
			c.PrivateKey = redacted()
		}
		out.DynamicActiveSecrets = append(out.DynamicActiveSecrets, dynamicSecret(r.Version, &sec))
	}
	return out
}

func dynamicSecret(version string, sec proto.Message) *adminv3.SecretsConfigDump_DynamicSecret {
	a, _ := anypb.New(sec)
	return &adminv3.SecretsConfigDump_DynamicSecret{Name: sec.(*tlsv3.Secret).Name, VersionInfo: version, Secret: a}
}

func pemOf(certs []*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

func inlineBytes(b []byte) *corev3.DataSource {
	return &corev3.DataSource{Specifier: &corev3.DataSource_InlineBytes{InlineBytes: b}}
}

func redacted() *corev3.DataSource {
	return &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: "[redacted]"}}
}
