package authn

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/lateenmesh/lateen/internal/spiffe"
)

// ClientCert authenticates a caller by the workload certificate it
// presented in the TLS handshake (renewal): the chain must verify against
// the current trust bundle, and the identity is its SPIFFE URI SAN.
type ClientCert struct {
	// Roots returns the current trust bundle.
	Roots func() *x509.CertPool
	// TrustDomain the identity must belong to.
	TrustDomain string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

var _ Authenticator = (*ClientCert)(nil)

// Authenticate implements Authenticator.
func (c *ClientCert) Authenticate(ctx context.Context) (spiffe.Identity, error) {
	chain, err := peerChain(ctx)
	if err != nil {
		return spiffe.Identity{}, err
	}
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	return VerifyWorkload(chain, c.Roots(), c.TrustDomain, now)
}

// VerifyWorkload verifies a presented chain (leaf first) against roots for
// client use and returns the leaf's identity, which must be in
// trustDomain.
func VerifyWorkload(chain []*x509.Certificate, roots *x509.CertPool, trustDomain string, now time.Time) (spiffe.Identity, error) {
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	if _, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return spiffe.Identity{}, fmt.Errorf("client certificate: %w", err)
	}
	id, err := spiffe.FromCertificate(chain[0])
	if err != nil {
		return spiffe.Identity{}, fmt.Errorf("client certificate: %w", err)
	}
	if id.TrustDomain != trustDomain {
		return spiffe.Identity{}, fmt.Errorf("client certificate: identity %s is outside trust domain %s", id, trustDomain)
	}
	return id, nil
}

func peerChain(ctx context.Context) ([]*x509.Certificate, error) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil, ErrNoCredentials
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok {
		return nil, ErrNoCredentials
	}
	if len(info.State.PeerCertificates) == 0 {
		return nil, ErrNoCredentials
	}
	if !info.State.HandshakeComplete {
		return nil, errors.New("TLS handshake not complete")
	}
	return info.State.PeerCertificates, nil
}
