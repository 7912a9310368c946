package mtls

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// ErrSAN is wrapped by verification failures of the peer's subject
// alternative names (Istio's secure naming: the server is not one of the
// identities allowed to run the destination service).
var ErrSAN = errors.New("subject alternative name mismatch")

// HandshakeError is an upstream TLS handshake failure, Envoy's transport
// failure reason.
type HandshakeError struct{ Err error }

func (e *HandshakeError) Error() string { return "TLS error: " + e.Err.Error() }

func (e *HandshakeError) Unwrap() error { return e.Err }

// verifyPeer applies a validation context to the peer's chain: it must
// verify against the context's CA (when it names one); with hostname set
// (auto SAN validation) the leaf must be valid for it, else one of its
// SANs must match a matcher (when there are any).
func verifyPeer(v *resource.Validation, secrets *Secrets, chain []*x509.Certificate, hostname string, now time.Time) error {
	if v == nil {
		return nil
	}
	if len(chain) == 0 {
		return errors.New("peer did not present a certificate")
	}
	if v.CA != nil {
		roots, err := secrets.Roots(v.CA)
		if err != nil {
			return err
		}
		if err := secrets.store.verified.verify(chain, roots, now); err != nil {
			return err
		}
	}
	switch {
	case hostname != "": // replaces the SAN matchers, as Envoy's auto_san_validation
		if err := chain[0].VerifyHostname(hostname); err != nil {
			return fmt.Errorf("%w: %v", ErrSAN, err)
		}
	case len(v.SANs) > 0:
		if !matchSANs(chain[0], v.SANs) {
			return fmt.Errorf("%w: peer has %s, want one of %s", ErrSAN, sanList(chain[0]), matcherList(v.SANs))
		}
	}
	return nil
}

// verifyChain verifies chain (leaf first) against roots. Key usages are
// not checked, as Envoy does not check them.
func verifyChain(chain []*x509.Certificate, roots *x509.CertPool, now time.Time) error {
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return fmt.Errorf("certificate verify failed: %w", err)
	}
	return nil
}

// matchSANs reports whether one of the leaf's SANs (URI, DNS, IP, e-mail)
// matches one of ms; exact DNS matchers honour wildcard certificates.
func matchSANs(leaf *x509.Certificate, ms []*resource.StringMatcher) bool {
	for _, m := range ms {
		for _, u := range leaf.URIs {
			if matchString(m, u.String()) {
				return true
			}
		}
		for _, d := range leaf.DNSNames {
			if matchString(m, d) || (m.Kind == resource.StringExact && wildcardMatch(d, m.Value)) {
				return true
			}
		}
		for _, ip := range leaf.IPAddresses {
			if matchString(m, ip.String()) {
				return true
			}
		}
		for _, e := range leaf.EmailAddresses {
			if matchString(m, e) {
				return true
			}
		}
	}
	return false
}

// wildcardMatch matches a certificate's "*.example.com" against a name.
func wildcardMatch(pattern, name string) bool {
	rest, ok := strings.CutPrefix(pattern, "*.")
	if !ok {
		return false
	}
	_, after, ok := strings.Cut(name, ".")
	return ok && strings.EqualFold(after, rest)
}

func matchString(m *resource.StringMatcher, v string) bool {
	if m.IgnoreCase {
		v = strings.ToLower(v)
	}
	switch m.Kind {
	case resource.StringExact:
		return v == m.Value
	case resource.StringPrefix:
		return strings.HasPrefix(v, m.Value)
	case resource.StringSuffix:
		return strings.HasSuffix(v, m.Value)
	case resource.StringContains:
		return strings.Contains(v, m.Value)
	case resource.StringRegex:
		return m.Regex != nil && m.Regex.MatchString(v)
	}
	return false
}

func sanList(c *x509.Certificate) string {
	var out []string
	for _, u := range c.URIs {
		out = append(out, u.String())
	}
	out = append(out, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	if len(out) == 0 {
		return "no SAN"
	}
	return strings.Join(out, ",")
}

func matcherList(ms []*resource.StringMatcher) string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Value
	}
	return "[" + strings.Join(out, " ") + "]"
}

// hostOnly strips a port from a request authority.
func hostOnly(authority string) string {
	if h, _, err := net.SplitHostPort(authority); err == nil {
		return h
	}
	return strings.Trim(authority, "[]")
}

// tlsVersions applies a context's protocol versions (Envoy's defaults:
// TLS 1.2 to 1.3).
func tlsVersions(c *resource.CommonTLS) (uint16, uint16) {
	lo, hi := c.MinVersion, c.MaxVersion
	if lo == 0 {
		lo = tls.VersionTLS12
	}
	if hi == 0 {
		hi = tls.VersionTLS13
	}
	return lo, hi
}

// curves are Envoy's default ECDH curves, P-256 first (Go's is the
// faster of the two); no post-quantum hybrid, whose key exchange would
// cost more than the rest of a resumed handshake.
var curves = []tls.CurveID{tls.CurveP256, tls.X25519}
