package resource

import (
	"maps"
	"slices"
)

// SecretType is the type URL of SDS secrets (served over ADS for the
// credentialName secrets of the control plane, kubernetes://<name>).
const SecretType = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"

// Names of the secrets the proxy serves itself, as Istio's agent does on
// its sds-grpc cluster: the workload certificate, the mesh trust bundle,
// and certificates read from files (file-cert:<cert>~<key>,
// file-root:<ca>; file-root:system is the system's roots).
const (
	SecretDefault  = "default"
	SecretRootCA   = "ROOTCA"
	FileCertPrefix = "file-cert:"
	FileRootPrefix = "file-root:"
	SystemRoots    = "system"
	// LocalSDSCluster names the proxy's own SDS server in sds_config.
	LocalSDSCluster = "sds-grpc"
)

// SecretRef names an SDS secret. Local secrets come from the proxy itself
// (sds_config pointing at sds-grpc); the others come over ADS.
type SecretRef struct {
	Name  string
	Local bool
}

// Secret is a decoded SDS Secret received over ADS. An empty secret (no
// certificate, no CA) stands for a credential the control plane does not
// have: TLS handshakes that need it fail.
type Secret struct {
	Name       string
	CertChain  []byte // PEM, tls_certificate.certificate_chain
	PrivateKey []byte // PEM, tls_certificate.private_key
	TrustedCA  []byte // PEM, validation_context.trusted_ca
}

// CommonTLS is a decoded common_tls_context.
type CommonTLS struct {
	MinVersion   uint16   // crypto/tls version; 0: TLS 1.2
	MaxVersion   uint16   // 0: TLS 1.3
	CipherSuites []uint16 // TLS 1.2 suites; nil: Go's defaults
	ALPN         []string
	// Certificate is tls_certificate_sds_secret_configs[0] (at most one).
	Certificate *SecretRef
	// Validation is the validation context; nil means none: the peer's
	// certificate is not verified (Envoy's behaviour).
	Validation *Validation
}

// Validation is a certificate validation context: the peer's chain must
// verify against CA, and one of its SANs match one of SANs when any.
type Validation struct {
	// CA is validation_context_sds_secret_config; nil: no trusted CA, so
	// the chain is not verified (only SANs, when any, are checked).
	CA   *SecretRef
	SANs []*StringMatcher // match_subject_alt_names
}

// UpstreamTLS is a cluster's TLS transport socket (UpstreamTlsContext).
type UpstreamTLS struct {
	Common CommonTLS
	SNI    string
}

// DownstreamTLS is a filter chain's TLS transport socket
// (DownstreamTlsContext).
type DownstreamTLS struct {
	Common            CommonTLS
	RequireClientCert bool
}

// TransportSocketMatch picks a cluster's transport socket per endpoint:
// the first match whose Match entries all appear in the endpoint's
// envoy.transport_socket_match metadata wins.
type TransportSocketMatch struct {
	Name  string
	Match map[string]string
	TLS   *UpstreamTLS // nil: raw_buffer (plaintext)
}

// SocketFor returns the TLS settings for an endpoint of c (nil:
// plaintext): its transport_socket_matches in order, else its
// transport_socket.
func (c *Cluster) SocketFor(ep Endpoint) *UpstreamTLS {
	for _, m := range c.SocketMatches {
		if matchesMetadata(m.Match, ep.SocketMatch) {
			return m.TLS
		}
	}
	return c.TLS
}

func matchesMetadata(want, have map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// SecretNames returns the ADS secrets a configuration references, sorted.
func (c *Config) SecretNames() []string {
	seen := map[string]bool{}
	add := func(common *CommonTLS) {
		if r := common.Certificate; r != nil && !r.Local {
			seen[r.Name] = true
		}
		if v := common.Validation; v != nil && v.CA != nil && !v.CA.Local {
			seen[v.CA.Name] = true
		}
	}
	for _, cl := range c.Clusters {
		if cl.TLS != nil {
			add(&cl.TLS.Common)
		}
		for _, m := range cl.SocketMatches {
			if m.TLS != nil {
				add(&m.TLS.Common)
			}
		}
	}
	for _, l := range c.Listeners {
		for _, fc := range l.Chains() {
			if fc.TLS != nil {
				add(&fc.TLS.Common)
			}
		}
	}
	return sortedKeys(seen)
}

// sameSockets reports whether two clusters have the same TLS settings (a
// pool keeps its connections only then).
func sameSockets(a, b *Cluster) bool {
	if !sameUpstream(a.TLS, b.TLS) || len(a.SocketMatches) != len(b.SocketMatches) {
		return false
	}
	for i := range a.SocketMatches {
		x, y := &a.SocketMatches[i], &b.SocketMatches[i]
		if x.Name != y.Name || !maps.Equal(x.Match, y.Match) || !sameUpstream(x.TLS, y.TLS) {
			return false
		}
	}
	return true
}

func sameUpstream(a, b *UpstreamTLS) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.SNI == b.SNI && a.Common.Equal(&b.Common)
}

// Equal reports whether two common TLS contexts are the same.
func (c *CommonTLS) Equal(o *CommonTLS) bool {
	if c.MinVersion != o.MinVersion || c.MaxVersion != o.MaxVersion ||
		!slices.Equal(c.CipherSuites, o.CipherSuites) || !slices.Equal(c.ALPN, o.ALPN) ||
		!sameRef(c.Certificate, o.Certificate) || (c.Validation == nil) != (o.Validation == nil) {
		return false
	}
	if c.Validation == nil {
		return true
	}
	v, w := c.Validation, o.Validation
	return sameRef(v.CA, w.CA) && slices.EqualFunc(v.SANs, w.SANs, sameMatcher)
}

func sameRef(a, b *SecretRef) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func sameMatcher(a, b *StringMatcher) bool {
	return a.Kind == b.Kind && a.Value == b.Value && a.IgnoreCase == b.IgnoreCase &&
		(a.Regex == nil) == (b.Regex == nil) && (a.Regex == nil || a.Regex.String() == b.Regex.String())
}
