package identity

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	securityv1alpha1 "istio.io/api/security/v1alpha1"

	"github.com/lateenmesh/lateen/internal/certpem"
	"github.com/lateenmesh/lateen/internal/spiffe"
)

// fetch generates a key, sends a CSR and checks the answer. The key never
// leaves the process: only the CSR (public key) is sent.
func (a *Agent) fetch(ctx context.Context) (*Credential, error) {
	if err := a.loadRootFile(); err != nil {
		return nil, err
	}
	key, err := generateKey(a.opts.KeyAlgorithm)
	if err != nil {
		return nil, err
	}
	csr, err := a.csr(key)
	if err != nil {
		return nil, err
	}
	resp, err := a.call(ctx, csr)
	if err != nil {
		return nil, err
	}
	return a.credential(key, resp.GetCertChain())
}

func generateKey(alg string) (crypto.Signer, error) {
	if alg == RSA {
		return rsa.GenerateKey(rand.Reader, 2048)
	}
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

// csr builds the PEM CSR; it names the identity when the trust domain is
// known (the CA signs the identity the caller proved either way).
func (a *Agent) csr(key crypto.Signer) (string, error) {
	tmpl := &x509.CertificateRequest{}
	if a.opts.TrustDomain != "" && a.opts.Namespace != "" && a.opts.ServiceAccount != "" {
		id, err := spiffe.New(a.opts.TrustDomain, a.opts.Namespace, a.opts.ServiceAccount)
		if err != nil {
			return "", fmt.Errorf("identity: %w", err)
		}
		tmpl.URIs = append(tmpl.URIs, id.URL())
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return "", fmt.Errorf("identity: CSR: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})), nil
}

// call sends the CSR on a fresh connection, so that the handshake presents
// the certificate held now (renewal) and the token as it is now.
func (a *Agent) call(ctx context.Context, csr string) (*securityv1alpha1.IstioCertificateResponse, error) {
	opts := []grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(a.ControlPlaneTLS("")))}
	if a.opts.TokenFile != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(tokenCredentials(a.opts.TokenFile)))
	}
	conn, err := grpc.NewClient(a.opts.CAAddress, opts...)
	if err != nil {
		return nil, fmt.Errorf("identity: dial CA %s: %w", a.opts.CAAddress, err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, a.opts.RequestTimeout)
	defer cancel()
	resp, err := securityv1alpha1.NewIstioCertificateServiceClient(conn).CreateCertificate(ctx,
		&securityv1alpha1.IstioCertificateRequest{Csr: csr, ValidityDuration: int64(a.opts.CertTTL.Seconds())})
	if err != nil {
		return nil, fmt.Errorf("identity: CreateCertificate at %s: %w", a.opts.CAAddress, err)
	}
	return resp, nil
}

// credential checks the CA's answer (leaf, intermediates, then the trust
// bundle last): the leaf carries our key, verifies against the bundle, and
// names the identity this proxy expects.
func (a *Agent) credential(key crypto.Signer, pems []string) (*Credential, error) {
	if len(pems) < 2 {
		return nil, fmt.Errorf("identity: CA returned %d chain elements, want the leaf and the roots", len(pems))
	}
	var chain []*x509.Certificate
	for _, p := range pems[:len(pems)-1] {
		certs, err := certpem.Parse([]byte(p))
		if err != nil {
			return nil, fmt.Errorf("identity: certificate chain: %w", err)
		}
		chain = append(chain, certs...)
	}
	roots, err := certpem.Parse([]byte(pems[len(pems)-1]))
	if err != nil || len(roots) == 0 {
		return nil, fmt.Errorf("identity: trust bundle: no certificate (%v)", err)
	}
	leaf := chain[0]
	if !publicKeyEqual(key.Public(), leaf.PublicKey) {
		return nil, errors.New("identity: the issued certificate is not for our key")
	}
	pool := x509.NewCertPool()
	for _, r := range roots {
		pool.AddCert(r)
	}
	if err := verifyChain(chain, pool, "", x509.ExtKeyUsageClientAuth, a.opts.Now()); err != nil {
		return nil, fmt.Errorf("identity: issued certificate: %w", err)
	}
	id, err := spiffe.FromCertificate(leaf)
	if err != nil {
		return nil, fmt.Errorf("identity: issued certificate: %w", err)
	}
	if err := a.expected(id); err != nil {
		return nil, err
	}
	cert := &tls.Certificate{PrivateKey: key, Leaf: leaf}
	for _, c := range chain {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	return &Credential{Identity: id, Certificate: cert, Chain: chain, Roots: roots, RootPool: pool,
		RenewAt: a.renewAt(leaf)}, nil
}

func (a *Agent) expected(id spiffe.Identity) error {
	if (a.opts.Namespace != "" && id.Namespace != a.opts.Namespace) ||
		(a.opts.ServiceAccount != "" && id.ServiceAccount != a.opts.ServiceAccount) ||
		(a.opts.TrustDomain != "" && id.TrustDomain != a.opts.TrustDomain) {
		return fmt.Errorf("identity: the CA issued %s, but this proxy runs as %s/%s (check its token)",
			id, a.opts.Namespace, a.opts.ServiceAccount)
	}
	return nil
}

func publicKeyEqual(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

// tokenCredentials sends the bootstrap token read from file at every call;
// a missing file sends nothing, so renewal by certificate still works
// after the token is removed.
type tokenCredentials string

func (f tokenCredentials) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	data, err := os.ReadFile(string(f))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("identity: token file: %w", err)
	}
	token := strings.TrimSpace(string(data))
	if token == "" {
		return nil, nil
	}
	return map[string]string{"authorization": "Bearer " + token}, nil
}

func (tokenCredentials) RequireTransportSecurity() bool { return true }
