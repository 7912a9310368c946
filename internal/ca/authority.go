package ca

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/lateenmesh/lateen/internal/certpem"
)

// authority is one immutable state of the CA: the signing key and
// certificate, the chain sent after every leaf, and the trust bundle.
// Rotation and reload build a new authority and swap it in.
type authority struct {
	key   crypto.Signer
	cert  *x509.Certificate   // signs leaves
	chain []*x509.Certificate // sent after the leaf: intermediates (or a cross-signed root); never a bundle root
	roots []*x509.Certificate // trust bundle, current root first
	pool  *x509.CertPool
	pem   []byte // roots as PEM
	gen   uint64 // increases with every swap
	files [4][]byte
}

func newAuthority(key crypto.Signer, cert *x509.Certificate, chain, roots []*x509.Certificate, now time.Time) (*authority, error) {
	a := &authority{key: key, cert: cert, chain: chain, roots: roots, pool: x509.NewCertPool()}
	for _, r := range roots {
		a.pool.AddCert(r)
	}
	a.pem = certpem.Encode(roots...)
	return a, a.check(now)
}

// check verifies that the key belongs to the signing certificate, that it
// may sign certificates, and that it chains to the trust bundle.
func (a *authority) check(now time.Time) error {
	if !samePublicKey(a.key.Public(), a.cert.PublicKey) {
		return errors.New("the CA key does not match the CA certificate")
	}
	if !a.cert.IsCA || a.cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return errors.New("the CA certificate is not a CA (basic constraints or key usage certSign missing)")
	}
	if len(a.roots) == 0 {
		return errors.New("the trust bundle has no root certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range a.chain {
		inter.AddCert(c)
	}
	_, err := a.cert.Verify(x509.VerifyOptions{
		Roots: a.pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
		CurrentTime: now,
	})
	if err != nil {
		return fmt.Errorf("the CA certificate does not chain to the root bundle: %w", err)
	}
	return nil
}

// sign issues a certificate from template for pub, capped to the signing
// certificate's lifetime.
func (a *authority) sign(template *x509.Certificate, pub crypto.PublicKey) (*x509.Certificate, error) {
	if template.NotAfter.After(a.cert.NotAfter) {
		template.NotAfter = a.cert.NotAfter
	}
	der, err := x509.CreateCertificate(rand.Reader, template, a.cert, pub, a.key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// serialNumber returns a random positive 128-bit serial.
func serialNumber() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, err
	}
	return n.Add(n, big.NewInt(1)), nil
}

// unexpired returns the certificates still valid at now.
func unexpired(certs []*x509.Certificate, now time.Time) []*x509.Certificate {
	var out []*x509.Certificate
	for _, c := range certs {
		if now.Before(c.NotAfter) {
			out = append(out, c)
		}
	}
	return out
}

// withoutSelfSigned drops self-signed certificates (roots) from a chain.
func withoutSelfSigned(certs []*x509.Certificate) []*x509.Certificate {
	var out []*x509.Certificate
	for _, c := range certs {
		if !isSelfSigned(c) {
			out = append(out, c)
		}
	}
	return out
}

func isSelfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil
}

// dedupe drops repeated certificates, keeping the first occurrence.
func dedupe(certs []*x509.Certificate) []*x509.Certificate {
	var out []*x509.Certificate
	for _, c := range certs {
		dup := false
		for _, o := range out {
			if c.Equal(o) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, c)
		}
	}
	return out
}
