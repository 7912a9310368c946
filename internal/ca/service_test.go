package ca

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	securityv1alpha1 "istio.io/api/security/v1alpha1"

	"github.com/lateenmesh/lateen/internal/ca/authn"
	"github.com/lateenmesh/lateen/internal/certpem"
	"github.com/lateenmesh/lateen/internal/spiffe"
)

type caServer struct {
	ca   *CA
	addr string
	m    *Metrics
}

func startService(t *testing.T, tokenFile string) *caServer {
	t.Helper()
	m := NewMetrics(nil)
	c := newCA(t, Options{Metrics: m, MaxWorkloadCertTTL: 48 * time.Hour})
	svc, err := NewService(ServiceOptions{CA: c, Authenticator: authn.Chain{
		authn.NewTokens(tokenFile, c.TrustDomain()),
		&authn.ClientCert{Roots: c.TrustPool, TrustDomain: c.TrustDomain()},
	}})
	if err != nil {
		t.Fatal(err)
	}
	serving := NewServing(ServingOptions{CA: c, DNSNames: []string{"istiod.istio-system.svc"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	gs := grpc.NewServer(grpc.Creds(credentials.NewTLS(serving.TLSConfig())))
	svc.Register(gs)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	return &caServer{ca: c, addr: lis.Addr().String(), m: m}
}

// request sends a CSR for key with the given URIs, authenticated by token
// and/or client certificate.
func (s *caServer) request(t *testing.T, token string, client *tls.Certificate, key crypto.Signer, ttl int64, uris ...string) (*securityv1alpha1.IstioCertificateResponse, error) {
	t.Helper()
	cfg := &tls.Config{RootCAs: s.ca.TrustPool(), ServerName: "127.0.0.1"}
	if client != nil {
		cfg.Certificates = []tls.Certificate{*client}
	}
	conn, err := grpc.NewClient(s.addr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	return securityv1alpha1.NewIstioCertificateServiceClient(conn).CreateCertificate(ctx,
		&securityv1alpha1.IstioCertificateRequest{Csr: csrPEM(t, key, uris...), ValidityDuration: ttl})
}

func csrPEM(t *testing.T, key crypto.Signer, uris ...string) string {
	t.Helper()
	tmpl := &x509.CertificateRequest{}
	for _, u := range uris {
		pu, _ := url.Parse(u)
		tmpl.URIs = append(tmpl.URIs, pu)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

func parseResponse(t *testing.T, resp *securityv1alpha1.IstioCertificateResponse, key crypto.Signer) (*tls.Certificate, []*x509.Certificate) {
	t.Helper()
	if len(resp.CertChain) < 2 {
		t.Fatalf("cert_chain has %d elements, want leaf ... roots", len(resp.CertChain))
	}
	c := &tls.Certificate{PrivateKey: key}
	for _, p := range resp.CertChain[:len(resp.CertChain)-1] {
		certs, err := certpem.Parse([]byte(p))
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range certs {
			c.Certificate = append(c.Certificate, x.Raw)
		}
	}
	roots, err := certpem.Parse([]byte(resp.CertChain[len(resp.CertChain)-1]))
	if err != nil {
		t.Fatal(err)
	}
	c.Leaf, _ = x509.ParseCertificate(c.Certificate[0])
	return c, roots
}

func genKey(t *testing.T) crypto.Signer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestCreateCertificate(t *testing.T) {
	tokReviews, _ := authn.NewToken()
	tokSleep, _ := authn.NewToken()
	tokenFile := filepath.Join(t.TempDir(), "tokens")
	lines := "# bootstrap tokens\n" + authn.TokenLine(tokReviews, "default", "bookinfo-reviews") + authn.TokenLine(tokSleep, "default", "sleep")
	if err := os.WriteFile(tokenFile, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startService(t, tokenFile)
	sleep := spiffe.Identity{TrustDomain: "cluster.local", Namespace: "default", ServiceAccount: "sleep"}

	key := genKey(t)
	resp, err := s.request(t, tokReviews, nil, key, 0, reviews.String())
	if err != nil {
		t.Fatal(err)
	}
	cert, roots := parseResponse(t, resp, key)
	if id, err := spiffe.FromCertificate(cert.Leaf); err != nil || id != reviews {
		t.Fatalf("issued identity = %v, %v; want %s", id, err, reviews)
	}
	if len(roots) != 1 || !roots[0].Equal(s.ca.Roots()[0]) {
		t.Fatal("the last chain element is not the trust bundle")
	}

	// A CSR without SANs gets the caller's identity.
	resp, err = s.request(t, tokSleep, nil, genKey(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := parseResponse(t, resp, key); c.Leaf.URIs[0].String() != sleep.String() {
		t.Fatalf("issued %v, want %s", c.Leaf.URIs, sleep)
	}

	// Renewal with the current certificate and no token.
	newKey := genKey(t)
	resp, err = s.request(t, "", cert, newKey, 0, reviews.String())
	if err != nil {
		t.Fatalf("renewal with a client certificate: %v", err)
	}
	if c, _ := parseResponse(t, resp, newKey); c.Leaf.URIs[0].String() != reviews.String() {
		t.Fatalf("renewal issued %v", c.Leaf.URIs)
	}

	foreign := newCA(t, Options{})
	fi, err := foreign.Sign(newCSR(t), reviews, 0)
	if err != nil {
		t.Fatal(err)
	}
	foreignCert := &tls.Certificate{Certificate: [][]byte{fi.Chain[0].Raw}, PrivateKey: genKey(t)}
	for _, tc := range []struct {
		name  string
		token string
		cert  *tls.Certificate
		ttl   int64
		uris  []string
		code  codes.Code
	}{
		{"another workload's identity with a token", tokSleep, nil, 0, []string{reviews.String()}, codes.PermissionDenied},
		{"another workload's identity with a certificate", "", cert, 0, []string{sleep.String()}, codes.PermissionDenied},
		{"a DNS SAN", tokReviews, nil, 0, []string{reviews.String(), "spiffe://cluster.local/ns/default/sa/x"}, codes.PermissionDenied},
		{"unknown token", "not-a-token", nil, 0, nil, codes.Unauthenticated},
		{"no credentials", "", nil, 0, nil, codes.Unauthenticated},
		{"TTL above the maximum", tokReviews, nil, 49 * 3600, nil, codes.InvalidArgument},
		{"certificate of another CA", "", foreignCert, 0, nil, codes.Unavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.request(t, tc.token, tc.cert, genKey(t), tc.ttl, tc.uris...)
			if got := status.Code(err); got != tc.code {
				t.Fatalf("code = %v (%v), want %v", got, err, tc.code)
			}
		})
	}
	if got := counterValue(s.m.csr); got != 9 {
		t.Errorf("citadel_server_csr_count = %v, want 9 (the foreign certificate fails the handshake)", got)
	}
	if got := counterValue(s.m.issued); got != 3 {
		t.Errorf("citadel_server_success_cert_issuance_count = %v, want 3", got)
	}
	if got := counterValue(s.m.authzFailure); got != 3 {
		t.Errorf("authorization failures = %v, want 3", got)
	}
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}
