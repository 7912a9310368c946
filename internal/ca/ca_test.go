package ca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lateenmesh/lateen/internal/certpem"
	"github.com/lateenmesh/lateen/internal/spiffe"
)

var reviews = spiffe.Identity{TrustDomain: "cluster.local", Namespace: "default", ServiceAccount: "bookinfo-reviews"}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().Truncate(time.Second)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newCA(t *testing.T, opts Options) *CA {
	t.Helper()
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Load(); err != nil {
		t.Fatal(err)
	}
	return c
}

func newCSR(t *testing.T, uris ...string) *x509.CertificateRequest {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.CertificateRequest{}
	for _, u := range uris {
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.URIs = append(tmpl.URIs, pu)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	return csr
}

// verify checks chain against roots as a TLS client certificate at now.
func verify(chain []*x509.Certificate, roots []*x509.Certificate, now time.Time) error {
	rp, ip := x509.NewCertPool(), x509.NewCertPool()
	for _, r := range roots {
		rp.AddCert(r)
	}
	for _, c := range chain[1:] {
		ip.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{Roots: rp, Intermediates: ip, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	return err
}

func TestIssue(t *testing.T) {
	clk := newClock()
	c := newCA(t, Options{Now: clk.Now})
	issued, err := c.Sign(newCSR(t, reviews.String()), reviews, 0)
	if err != nil {
		t.Fatal(err)
	}
	leaf := issued.Chain[0]
	if len(leaf.URIs) != 1 || leaf.URIs[0].String() != reviews.String() {
		t.Errorf("URIs = %v, want [%s]", leaf.URIs, reviews)
	}
	if len(leaf.DNSNames)+len(leaf.IPAddresses)+len(leaf.EmailAddresses) > 0 || leaf.Subject.String() != "" {
		t.Errorf("leaf has more than the SPIFFE URI: subject %q dns %v ip %v", leaf.Subject, leaf.DNSNames, leaf.IPAddresses)
	}
	if leaf.IsCA {
		t.Error("leaf is a CA")
	}
	if got := leaf.NotAfter.Sub(leaf.NotBefore); got != DefaultWorkloadCertTTL {
		t.Errorf("lifetime = %s, want the 24h default", got)
	}
	if err := verify(issued.Chain, issued.Roots, clk.Now()); err != nil {
		t.Errorf("chain does not verify to the root: %v", err)
	}
	if len(issued.Roots) != 1 || !issued.Roots[0].IsCA || issued.Roots[0].PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("roots = %d, want one ECDSA root", len(issued.Roots))
	}
	id, err := spiffe.FromCertificate(leaf)
	if err != nil || id != reviews {
		t.Errorf("identity = %v, %v", id, err)
	}
}

func TestTTL(t *testing.T) {
	clk := newClock()
	c := newCA(t, Options{Now: clk.Now, WorkloadCertTTL: time.Hour, MaxWorkloadCertTTL: 48 * time.Hour})
	for _, tc := range []struct {
		name string
		ttl  time.Duration
		want time.Duration
		err  error
	}{
		{"default", 0, time.Hour, nil},
		{"requested", 2 * time.Hour, 2 * time.Hour, nil},
		{"at max", 48 * time.Hour, 48 * time.Hour, nil},
		{"above max", 49 * time.Hour, 0, ErrTTL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			issued, err := c.Sign(newCSR(t), reviews, tc.ttl)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err == nil {
				if got := issued.Chain[0].NotAfter.Sub(issued.Chain[0].NotBefore); got != tc.want {
					t.Errorf("lifetime = %s, want %s", got, tc.want)
				}
			}
		})
	}
	if _, err := New(Options{WorkloadCertTTL: 2 * time.Hour, MaxWorkloadCertTTL: time.Hour}); err == nil {
		t.Error("New accepted a default TTL above the maximum")
	}
	if _, err := c.Sign(newCSR(t), spiffe.Identity{TrustDomain: "other.org", Namespace: "a", ServiceAccount: "b"}, 0); err == nil {
		t.Error("signed an identity of another trust domain")
	}
}

func TestPersistence(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	c1 := newCA(t, Options{Dir: dir})
	st, err := os.Stat(filepath.Join(dir, CAKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("%s mode = %v, want 0600", CAKeyFile, st.Mode().Perm())
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Errorf("dir mode = %v, want 0700", st.Mode().Perm())
	}
	c2 := newCA(t, Options{Dir: dir})
	if !c1.Roots()[0].Equal(c2.Roots()[0]) {
		t.Fatal("the root changed across a reload")
	}
	// A leaf of the reloaded CA verifies against the root file on disk.
	issued, err := c2.Sign(newCSR(t), reviews, 0)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, RootCertFile))
	if err != nil {
		t.Fatal(err)
	}
	roots, err := certpem.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := verify(issued.Chain, roots, time.Now()); err != nil {
		t.Fatal(err)
	}
	// Half a CA is an error, not a silent new root.
	if err := os.Remove(filepath.Join(dir, CACertFile)); err != nil {
		t.Fatal(err)
	}
	if c, _ := New(Options{Dir: dir}); c.Load() == nil {
		t.Fatal("Load accepted a key without its certificate")
	}
}

// testPKI is an offline root, as an operator keeps, that signs intermediates.
type testPKI struct {
	key  *ecdsa.PrivateKey
	cert *x509.Certificate
}

func newTestPKI(t *testing.T, name string) *testPKI {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: randSerial(t), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(10 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testPKI{key: key, cert: cert}
}

func randSerial(t *testing.T) *big.Int {
	s, err := serialNumber()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// writeCACerts writes an intermediate signed by p (valid for life) in the
// cacerts layout into a new directory.
func (p *testPKI) writeCACerts(t *testing.T, name string, life time.Duration, extraRoots ...*x509.Certificate) string {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: randSerial(t), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(life),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.cert, key.Public(), p.key)
	if err != nil {
		t.Fatal(err)
	}
	inter, _ := x509.ParseCertificate(der)
	keyPEM, _ := EncodePrivateKey(key)
	dir := t.TempDir()
	for name, data := range map[string][]byte{
		CACertFile:    certpem.Encode(inter),
		CAKeyFile:     keyPEM,
		RootCertFile:  certpem.Encode(append([]*x509.Certificate{p.cert}, extraRoots...)...),
		CertChainFile: certpem.Encode(inter, p.cert),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestPluggedInCACerts(t *testing.T) {
	shared := newTestPKI(t, "shared root")
	east := newCA(t, Options{CACertsDir: shared.writeCACerts(t, "east", 5*24*time.Hour)})
	west := newCA(t, Options{CACertsDir: shared.writeCACerts(t, "west", 5*24*time.Hour)})

	issued, err := east.Sign(newCSR(t), reviews, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(issued.Chain) != 2 || issued.Chain[1].Subject.CommonName != "east" {
		t.Fatalf("chain = %d certs, want leaf + the east intermediate (roots are sent apart)", len(issued.Chain))
	}
	if err := verify(issued.Chain, []*x509.Certificate{shared.cert}, time.Now()); err != nil {
		t.Errorf("leaf does not verify against the supplied root: %v", err)
	}
	if err := verify(issued.Chain, west.Roots(), time.Now()); err != nil {
		t.Errorf("a mesh sharing the root does not trust the leaf: %v", err)
	}
	other := newCA(t, Options{CACertsDir: newTestPKI(t, "other root").writeCACerts(t, "x", 5*24*time.Hour)})
	if err := verify(issued.Chain, other.Roots(), time.Now()); err == nil {
		t.Error("a mesh with another root trusts the leaf")
	}
	// Leaves never outlive the intermediate.
	short := newCA(t, Options{CACertsDir: shared.writeCACerts(t, "short", 2*time.Hour)})
	issued, err = short.Sign(newCSR(t), reviews, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !issued.Chain[0].NotAfter.Equal(issued.Chain[1].NotAfter) {
		t.Errorf("leaf expires %s after its intermediate %s", issued.Chain[0].NotAfter, issued.Chain[1].NotAfter)
	}
	if err := short.RotateRoot(); err == nil {
		t.Error("RotateRoot of a plugged-in CA succeeded")
	}
}

func TestPluggedInMismatchAndReload(t *testing.T) {
	pki := newTestPKI(t, "root")
	dir := pki.writeCACerts(t, "one", 5*24*time.Hour)
	c := newCA(t, Options{CACertsDir: dir})
	gen := c.Generation()
	if err := c.Check(); err != nil || c.Generation() != gen {
		t.Fatalf("unchanged files: Check = %v, generation %d → %d", err, gen, c.Generation())
	}
	// Replace the files with a new intermediate and a two-root bundle (a
	// root rotation as Istio documents it): the reload picks both up.
	next := newTestPKI(t, "next root")
	dir2 := next.writeCACerts(t, "two", 5*24*time.Hour, pki.cert)
	for _, name := range []string{CACertFile, CAKeyFile, RootCertFile, CertChainFile} {
		data, _ := os.ReadFile(filepath.Join(dir2, name))
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
	if c.Generation() == gen || len(c.Roots()) != 2 {
		t.Fatalf("after reload: generation %d, %d roots; want a new generation and 2 roots", c.Generation(), len(c.Roots()))
	}
	// A broken file keeps the current state.
	if err := os.WriteFile(filepath.Join(dir, CAKeyFile), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	gen = c.Generation()
	if err := c.Check(); err == nil || c.Generation() != gen {
		t.Fatalf("broken key: Check = %v, generation %d → %d; want an error and no change", err, gen, c.Generation())
	}
	if _, err := c.Sign(newCSR(t), reviews, 0); err != nil {
		t.Fatalf("signing after a failed reload: %v", err)
	}
	// A key that does not match the certificate is refused at load.
	other := pki.writeCACerts(t, "three", 5*24*time.Hour)
	key, _ := os.ReadFile(filepath.Join(other, CAKeyFile))
	os.WriteFile(filepath.Join(dir, CAKeyFile), key, 0o600)
	if c, _ := New(Options{CACertsDir: dir}); c.Load() == nil {
		t.Fatal("Load accepted a key of another certificate")
	}
}

func TestRootRotationOverlap(t *testing.T) {
	clk := newClock()
	dir := t.TempDir()
	c := newCA(t, Options{Dir: dir, Now: clk.Now})
	oldRoot := c.Roots()[0]
	before, err := c.Sign(newCSR(t), reviews, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RotateRoot(); err != nil {
		t.Fatal(err)
	}
	after, err := c.Sign(newCSR(t), reviews, 0)
	if err != nil {
		t.Fatal(err)
	}
	bundle := c.Roots()
	if len(bundle) != 2 || !bundle[1].Equal(oldRoot) || bundle[0].Equal(oldRoot) {
		t.Fatalf("bundle = %d roots; want the new root then the old one", len(bundle))
	}
	if err := after.Chain[0].CheckSignatureFrom(bundle[0]); err != nil {
		t.Errorf("the new leaf is not signed by the new root: %v", err)
	}
	now := clk.Now()
	for name, tc := range map[string]struct {
		chain []*x509.Certificate
		roots []*x509.Certificate
	}{
		"old leaf, new bundle":      {before.Chain, bundle},
		"new leaf, new bundle":      {after.Chain, bundle},
		"new leaf, old root only":   {after.Chain, []*x509.Certificate{oldRoot}},
		"new leaf, new root only":   {after.Chain, bundle[:1]},
		"old leaf, bundle returned": {before.Chain, after.Roots},
	} {
		if err := verify(tc.chain, tc.roots, now); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The rotation is persisted.
	reloaded := newCA(t, Options{Dir: dir, Now: clk.Now})
	if got := reloaded.Roots(); len(got) != 2 || !got[0].Equal(bundle[0]) {
		t.Fatalf("reloaded bundle = %d roots, want the rotated one", len(got))
	}
	again, err := reloaded.Sign(newCSR(t), reviews, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := verify(again.Chain, []*x509.Certificate{oldRoot}, now); err != nil {
		t.Errorf("after reload, a new leaf no longer verifies against the old root: %v", err)
	}
}

func TestAutomaticRootRotation(t *testing.T) {
	clk := newClock()
	c := newCA(t, Options{Now: clk.Now, RootCertTTL: 100 * time.Hour})
	first := c.Roots()[0]
	sub, cancel := c.Subscribe()
	defer cancel()
	clk.Add(79 * time.Hour) // 21% left: no rotation
	if err := c.Check(); err != nil || !c.Roots()[0].Equal(first) {
		t.Fatalf("rotated too early (err %v)", err)
	}
	clk.Add(2 * time.Hour) // 19% left: rotation
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
	if c.Roots()[0].Equal(first) || len(c.Roots()) != 2 {
		t.Fatalf("no rotation inside the grace period (%d roots)", len(c.Roots()))
	}
	select {
	case <-sub:
	default:
		t.Error("subscribers were not told about the rotation")
	}
	clk.Add(20 * time.Hour) // the old root expired: it leaves the bundle and the chain
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
	issued, err := c.Sign(newCSR(t), reviews, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Roots()) != 1 || len(issued.Chain) != 1 {
		t.Fatalf("after the old root expired: %d roots, chain of %d; want 1 and 1", len(c.Roots()), len(issued.Chain))
	}
}
