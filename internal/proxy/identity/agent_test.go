package identity_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/proto"
	securityv1alpha1 "istio.io/api/security/v1alpha1"

	"github.com/lateenmesh/lateen/internal/ca"
	"github.com/lateenmesh/lateen/internal/ca/authn"
	"github.com/lateenmesh/lateen/internal/proxy/identity"
	"github.com/lateenmesh/lateen/internal/proxy/stats"
	"github.com/lateenmesh/lateen/internal/spiffe"
	"github.com/lateenmesh/lateen/internal/wait"
)

// testCA is pilot's CA (the real CA, service, authenticators and serving
// certificate) on a TLS gRPC server, recording every request it gets.
type testCA struct {
	ca       *ca.CA
	addr     string
	rootFile string
	dir      string

	mu       sync.Mutex
	requests [][]byte // marshalled IstioCertificateRequests
}

func startCA(t *testing.T, tokens map[string]string) *testCA {
	t.Helper()
	dir := t.TempDir()
	c, err := ca.New(ca.Options{Dir: filepath.Join(dir, "ca"), MaxWorkloadCertTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Load(); err != nil {
		t.Fatal(err)
	}
	var lines string
	for token, id := range tokens {
		ns, sa, _ := cutSlash(id)
		lines += authn.TokenLine(token, ns, sa)
	}
	tokenFile := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokenFile, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	svc, err := ca.NewService(ca.ServiceOptions{CA: c, Authenticator: authn.Chain{
		authn.NewTokens(tokenFile, c.TrustDomain()),
		&authn.ClientCert{Roots: c.TrustPool, TrustDomain: c.TrustDomain()},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tc := &testCA{ca: c, rootFile: filepath.Join(dir, "ca", ca.RootCertFile), dir: dir}
	serving := ca.NewServing(ca.ServingOptions{CA: c, DNSNames: []string{"istiod.istio-system.svc"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	record := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		b, _ := proto.Marshal(req.(proto.Message))
		tc.mu.Lock()
		tc.requests = append(tc.requests, b)
		tc.mu.Unlock()
		return h(ctx, req)
	}
	gs := grpc.NewServer(grpc.Creds(credentials.NewTLS(serving.TLSConfig())), grpc.UnaryInterceptor(record))
	svc.Register(gs)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	tc.addr = lis.Addr().String()
	return tc
}

func cutSlash(s string) (string, string, bool) {
	for i := range s {
		if s[i] == '/' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func writeToken(t *testing.T, token string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "workload.token")
	if err := os.WriteFile(f, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// runAgent starts an agent and stops it when the test ends.
func runAgent(t *testing.T, opts identity.Options) *identity.Agent {
	t.Helper()
	if opts.Stats == nil {
		opts.Stats = stats.New()
	}
	opts.BackoffMin, opts.BackoffMax = 20*time.Millisecond, 200*time.Millisecond
	if os.Getenv("IDENTITY_TEST_LOG") != "" {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	a, err := identity.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return a
}

func waitReady(t *testing.T, a *identity.Agent) {
	t.Helper()
	select {
	case <-a.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("no certificate after 30s")
	}
}

var reviews = spiffe.Identity{TrustDomain: "cluster.local", Namespace: "default", ServiceAccount: "bookinfo-reviews"}

func TestAgentGetsAndRotatesCertificate(t *testing.T) {
	token, _ := authn.NewToken()
	c := startCA(t, map[string]string{token: "default/bookinfo-reviews"})
	st := stats.New()
	a := runAgent(t, identity.Options{CAAddress: c.addr, RootCertFile: c.rootFile, TokenFile: writeToken(t, token),
		TrustDomain: "cluster.local", Namespace: "default", ServiceAccount: "bookinfo-reviews",
		CertTTL: 2 * time.Second, Stats: st})
	updates, cancel := a.Subscribe()
	defer cancel()
	waitReady(t, a)
	first := a.Current()
	if first.Identity != reviews {
		t.Fatalf("identity = %s, want %s", first.Identity, reviews)
	}
	leaf := first.Chain[0]
	if life := leaf.NotAfter.Sub(leaf.NotBefore); life != 2*time.Second {
		t.Fatalf("lifetime = %s, want the 2s asked for", life)
	}
	if mid := leaf.NotBefore.Add(time.Second); first.RenewAt.Before(mid.Add(-100*time.Millisecond)) || first.RenewAt.After(mid.Add(100*time.Millisecond)) {
		t.Errorf("renew at %s, want about half of the lifetime (%s)", first.RenewAt, mid)
	}
	if got := st.Gauge("ssl.certificate.default.expiration_unix_time_seconds").Value(); got != leaf.NotAfter.Unix() {
		t.Errorf("expiry gauge = %d, want %d", got, leaf.NotAfter.Unix())
	}
	wait.For(t, 30*time.Second, "a rotated certificate", func() error {
		if a.Current().Chain[0].SerialNumber.Cmp(leaf.SerialNumber) == 0 {
			return errors.New("still the first certificate")
		}
		return nil
	})
	next := a.Current()
	if publicKeyEqual(next.Chain[0].PublicKey, leaf.PublicKey) {
		t.Error("the rotated certificate reuses the old key")
	}
	if next.Identity != reviews {
		t.Errorf("rotated identity = %s", next.Identity)
	}
	select {
	case <-updates:
	default:
		t.Error("subscribers were not told")
	}
	cert, err := a.Certificate()
	if err != nil || cert.Leaf.SerialNumber.Cmp(next.Chain[0].SerialNumber) != 0 {
		t.Errorf("Certificate() = %v, %v; want the current one", cert, err)
	}
}

// TestKeyNeverLeaves checks every request sent to the CA: it carries a CSR
// for the agent's key, and none of the private key's bytes.
func TestKeyNeverLeaves(t *testing.T) {
	for _, alg := range []string{identity.ECDSA, identity.RSA} {
		t.Run(alg, func(t *testing.T) {
			token, _ := authn.NewToken()
			c := startCA(t, map[string]string{token: "default/bookinfo-reviews"})
			a := runAgent(t, identity.Options{CAAddress: c.addr, RootCertFile: c.rootFile, TokenFile: writeToken(t, token),
				KeyAlgorithm: alg})
			waitReady(t, a)
			cred := a.Current()
			var secret []byte
			switch k := cred.Certificate.PrivateKey.(type) {
			case *ecdsa.PrivateKey:
				if alg != identity.ECDSA {
					t.Fatalf("key is %T, want %s", k, alg)
				}
				secret = k.D.FillBytes(make([]byte, 32))
			case *rsa.PrivateKey:
				if alg != identity.RSA || k.N.BitLen() != 2048 {
					t.Fatalf("key is %T (%d bits), want RSA 2048", k, k.N.BitLen())
				}
				secret = k.Primes[0].Bytes()
			}
			c.mu.Lock()
			defer c.mu.Unlock()
			if len(c.requests) == 0 {
				t.Fatal("the CA saw no request")
			}
			for _, raw := range c.requests {
				if bytes.Contains(raw, secret) {
					t.Fatal("a request to the CA contains the private key")
				}
				var req securityv1alpha1.IstioCertificateRequest
				if err := proto.Unmarshal(raw, &req); err != nil {
					t.Fatal(err)
				}
				b, _ := pem.Decode([]byte(req.Csr))
				csr, err := x509.ParseCertificateRequest(b.Bytes)
				if err != nil {
					t.Fatal(err)
				}
				if !publicKeyEqual(csr.PublicKey, cred.Chain[0].PublicKey) {
					t.Error("the CSR is not for the key in use")
				}
			}
		})
	}
}

func TestRenewalWithCertificateAfterTokenRemoved(t *testing.T) {
	token, _ := authn.NewToken()
	c := startCA(t, map[string]string{token: "default/bookinfo-reviews"})
	tokenFile := writeToken(t, token)
	a := runAgent(t, identity.Options{CAAddress: c.addr, RootCertFile: c.rootFile, TokenFile: tokenFile, CertTTL: 2 * time.Second})
	waitReady(t, a)
	first := a.Current().Chain[0].SerialNumber
	if err := os.Remove(tokenFile); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 30*time.Second, "a certificate renewed with the current certificate", func() error {
		if a.Current().Chain[0].SerialNumber.Cmp(first) == 0 {
			return errors.New("not renewed yet")
		}
		return nil
	})
	if a.Current().Identity != reviews {
		t.Errorf("renewed identity = %s", a.Current().Identity)
	}
}

func TestAgentRefusals(t *testing.T) {
	token, _ := authn.NewToken()
	c := startCA(t, map[string]string{token: "default/sleep"})
	other := startCA(t, nil)
	for name, opts := range map[string]identity.Options{
		// The CA is verified against the root file: another root fails.
		"CA not verified by the root file": {CAAddress: c.addr, RootCertFile: other.rootFile, TokenFile: writeToken(t, token)},
		// The token grants default/sleep: a proxy running as reviews refuses it.
		"identity other than the proxy's": {CAAddress: c.addr, RootCertFile: c.rootFile, TokenFile: writeToken(t, token),
			Namespace: "default", ServiceAccount: "bookinfo-reviews"},
		// With the trust domain known, the CSR asks for reviews: the CA refuses.
		"CSR for another identity": {CAAddress: c.addr, RootCertFile: c.rootFile, TokenFile: writeToken(t, token),
			TrustDomain: "cluster.local", Namespace: "default", ServiceAccount: "bookinfo-reviews"},
		"unknown token": {CAAddress: c.addr, RootCertFile: c.rootFile, TokenFile: writeToken(t, "nope")},
	} {
		t.Run(name, func(t *testing.T) {
			st := stats.New()
			opts.Stats = st
			a := runAgent(t, opts)
			wait.For(t, 30*time.Second, "two failed requests", func() error {
				if st.Counter("identity.csr_failure").Value() < 2 {
					return errors.New("fewer than two failures")
				}
				return nil
			})
			select {
			case <-a.Ready():
				t.Fatal("the agent got a certificate")
			default:
			}
			if _, err := a.Certificate(); !errors.Is(err, identity.ErrNoCertificate) {
				t.Fatalf("Certificate() error = %v", err)
			}
		})
	}
	if _, err := identity.New(identity.Options{CAAddress: c.addr}); err == nil {
		t.Error("New accepted an agent without a root file (trust on first use)")
	}
	if _, err := identity.New(identity.Options{CAAddress: c.addr, RootCertFile: c.rootFile, KeyAlgorithm: "DSA"}); err == nil {
		t.Error("New accepted key algorithm DSA")
	}
}

// TestMutualTLSPicksUpRotation runs a mutual TLS server and client from two
// agents: every handshake sees the peer's identity, and a rotated server
// certificate is used without rebuilding the listener.
func TestMutualTLSPicksUpRotation(t *testing.T) {
	srvToken, _ := authn.NewToken()
	cliToken, _ := authn.NewToken()
	c := startCA(t, map[string]string{srvToken: "default/bookinfo-reviews", cliToken: "default/sleep"})
	srv := runAgent(t, identity.Options{CAAddress: c.addr, RootCertFile: c.rootFile, TokenFile: writeToken(t, srvToken), CertTTL: 2 * time.Second})
	cli := runAgent(t, identity.Options{CAAddress: c.addr, RootCertFile: c.rootFile, TokenFile: writeToken(t, cliToken)})
	waitReady(t, srv)
	waitReady(t, cli)

	var seenMu sync.Mutex
	var seenClient spiffe.Identity
	lis, err := tls.Listen("tcp", "127.0.0.1:0", identity.ServerTLS(srv, func(id spiffe.Identity) error {
		seenMu.Lock()
		seenClient = id
		seenMu.Unlock()
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	go func() {
		for {
			conn, err := lis.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_ = conn.(*tls.Conn).Handshake()
				_, _ = conn.Write([]byte("ok"))
			}()
		}
	}()
	handshake := func(authorize func(spiffe.Identity) error) (*x509.Certificate, error) {
		conn, err := tls.Dial("tcp", lis.Addr().String(), identity.ClientTLS(cli, authorize))
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		buf := make([]byte, 2)
		if _, err := conn.Read(buf); err != nil {
			return nil, err
		}
		return conn.ConnectionState().PeerCertificates[0], nil
	}
	first, err := handshake(func(id spiffe.Identity) error {
		if id != reviews {
			return errors.New("unexpected server " + id.String())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	seenMu.Lock()
	if seenClient.ServiceAccount != "sleep" {
		t.Errorf("server saw client %s, want sleep", seenClient)
	}
	seenMu.Unlock()
	if _, err := handshake(func(spiffe.Identity) error { return errors.New("not this server") }); err == nil {
		t.Error("a handshake succeeded although the client refused the server identity")
	}
	wait.For(t, 30*time.Second, "the server presenting its rotated certificate", func() error {
		got, err := handshake(nil)
		if err != nil {
			return err
		}
		if got.SerialNumber.Cmp(first.SerialNumber) == 0 {
			return errors.New("still the first certificate")
		}
		return nil
	})
}

func publicKeyEqual(a, b any) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

// TestRootRotation rotates the CA's root under a running agent: the agent
// keeps renewing (verifying the CA's new serving certificate), learns the
// two-root bundle, and its new leaves chain to the new root.
func TestRootRotation(t *testing.T) {
	token, _ := authn.NewToken()
	c := startCA(t, map[string]string{token: "default/bookinfo-reviews"})
	a := runAgent(t, identity.Options{CAAddress: c.addr, RootCertFile: c.rootFile, TokenFile: writeToken(t, token), CertTTL: 2 * time.Second})
	waitReady(t, a)
	oldRoot := a.Current().Roots[0]
	if err := c.ca.RotateRoot(); err != nil {
		t.Fatal(err)
	}
	newRoot := c.ca.Roots()[0]
	wait.For(t, 30*time.Second, "a certificate from the new root", func() error {
		cur := a.Current()
		if len(cur.Roots) != 2 || !cur.Roots[0].Equal(newRoot) {
			return errors.New("bundle not updated yet")
		}
		return cur.Chain[0].CheckSignatureFrom(newRoot)
	})
	// A peer that trusts only the old root still verifies the new leaf.
	cur := a.Current()
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(oldRoot)
	for _, x := range cur.Chain[1:] {
		inter.AddCert(x)
	}
	if _, err := cur.Chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("new leaf against the old root: %v", err)
	}
}
