package mtls

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/lateenmesh/lateen/internal/spiffe"
)

// Peer is what a TLS connection tells about its client: what
// authorization, telemetry and x-forwarded-client-cert read.
type Peer struct {
	// Certificates is the client's chain (leaf first); empty when the
	// client presented none (plain TLS, not mutual).
	Certificates []*x509.Certificate
	// Principal is the client's SPIFFE identity,
	// "spiffe://cluster.local/ns/default/sa/sleep" ("" without one; Istio's
	// AuthorizationPolicy principals omit the scheme). TrustDomain,
	// Namespace and ServiceAccount are its parts.
	Principal      string
	TrustDomain    string
	Namespace      string
	ServiceAccount string
	// ServerName and ALPN are the SNI and the negotiated protocol.
	ServerName string
	ALPN       string
	Version    uint16
	Resumed    bool
	// Local are the URI SANs of the certificate the proxy presented.
	Local []string

	// xfcc caches the last XFCC rendering: a connection's requests ask
	// for the same parts.
	xfcc atomic.Pointer[xfccValue]
}

type xfccValue struct {
	parts []string
	value string
}

func newPeer(st tls.ConnectionState, local []string) *Peer {
	p := &Peer{Certificates: st.PeerCertificates, ServerName: st.ServerName, ALPN: st.NegotiatedProtocol,
		Version: st.Version, Resumed: st.DidResume, Local: local}
	if len(st.PeerCertificates) > 0 {
		if id, err := spiffe.FromCertificate(st.PeerCertificates[0]); err == nil {
			p.Principal = id.String()
			p.TrustDomain, p.Namespace, p.ServiceAccount = id.TrustDomain, id.Namespace, id.ServiceAccount
		}
	}
	return p
}

// Mutual reports whether the client presented a certificate.
func (p *Peer) Mutual() bool { return p != nil && len(p.Certificates) > 0 }

// XFCC renders the client certificate for x-forwarded-client-cert as Envoy
// does: By (this proxy's URI SANs) and Hash (SHA-256 of the client's
// leaf), then the parts asked for in Envoy's order (Cert, Chain, Subject,
// URI, DNS), e.g.
// By=spiffe://cluster.local/ns/default/sa/httpbin;Hash=…;Subject="";URI=spiffe://cluster.local/ns/default/sa/sleep.
func (p *Peer) XFCC(parts []string) string {
	if c := p.xfcc.Load(); c != nil && slices.Equal(c.parts, parts) {
		return c.value
	}
	v := p.renderXFCC(parts)
	p.xfcc.Store(&xfccValue{parts: parts, value: v})
	return v
}

func (p *Peer) renderXFCC(parts []string) string {
	leaf := p.Certificates[0]
	var b strings.Builder
	add := func(k, v string) {
		if b.Len() > 0 {
			b.WriteByte(';')
		}
		b.WriteString(k + "=" + v)
	}
	for _, u := range p.Local {
		add("By", u)
	}
	sum := sha256.Sum256(leaf.Raw)
	add("Hash", hex.EncodeToString(sum[:]))
	want := map[string]bool{}
	for _, part := range parts {
		want[part] = true
	}
	if want["Cert"] {
		add("Cert", url.QueryEscape(string(pemOf(leaf))))
	}
	if want["Chain"] {
		var chain []byte
		for _, c := range p.Certificates {
			chain = append(chain, pemOf(c)...)
		}
		add("Chain", url.QueryEscape(string(chain)))
	}
	if want["Subject"] {
		add("Subject", `"`+strings.ReplaceAll(leaf.Subject.String(), `"`, `\"`)+`"`)
	}
	if want["URI"] {
		for _, u := range leaf.URIs {
			add("URI", u.String())
		}
	}
	if want["DNS"] {
		for _, d := range leaf.DNSNames {
			add("DNS", d)
		}
	}
	return b.String()
}

func pemOf(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}
