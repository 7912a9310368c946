// Package catest gives tests workload identities issued by a real CA,
// without an agent: a certificate for default/<service account> and the
// CA's trust bundle, served as the proxy's identity provider serves them.
package catest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"

	"github.com/lateenmesh/lateen/internal/ca"
	"github.com/lateenmesh/lateen/internal/spiffe"
)

// Identity is a fixed certificate and trust bundle (mtls.Identity).
type Identity struct {
	Cert  *tls.Certificate
	Roots *x509.CertPool
}

// Certificate returns the workload certificate.
func (i *Identity) Certificate() (*tls.Certificate, error) { return i.Cert, nil }

// TrustBundle returns the CA's roots.
func (i *Identity) TrustBundle() *x509.CertPool { return i.Roots }

// NewCA returns a loaded self-signed CA kept in memory.
func NewCA(t testing.TB) *ca.CA {
	t.Helper()
	c, err := ca.New(ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Load(); err != nil {
		t.Fatal(err)
	}
	return c
}

// Issue has c sign an hour-long certificate for
// spiffe://cluster.local/ns/default/sa/<sa> with a new P-256 key.
func Issue(t testing.TB, c *ca.CA, sa string) *Identity {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	id, err := spiffe.New("cluster.local", "default", sa)
	if err != nil {
		t.Fatal(err)
	}
	issued, err := c.Sign(csr, id, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert := &tls.Certificate{PrivateKey: key, Leaf: issued.Chain[0]}
	for _, x := range issued.Chain {
		cert.Certificate = append(cert.Certificate, x.Raw)
	}
	return &Identity{Cert: cert, Roots: c.TrustPool()}
}
