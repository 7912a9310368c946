package mtls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

func leaf(t *testing.T, cn string, uris ...string) (*x509.Certificate, []byte, []byte) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"*.example.com"}}
	for _, u := range uris {
		pu, _ := url.Parse(u)
		tmpl.URIs = append(tmpl.URIs, pu)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	return c, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

func TestXFCC(t *testing.T) {
	client, _, _ := leaf(t, "", "spiffe://cluster.local/ns/default/sa/sleep")
	p := newPeer(tls.ConnectionState{PeerCertificates: []*x509.Certificate{client}}, []string{"spiffe://cluster.local/ns/default/sa/httpbin"})
	if p.Principal != "spiffe://cluster.local/ns/default/sa/sleep" || p.Namespace != "default" || p.ServiceAccount != "sleep" {
		t.Errorf("peer %+v", p)
	}
	got := p.XFCC([]string{"Subject", "URI", "DNS"})
	want := `By=spiffe://cluster.local/ns/default/sa/httpbin;Hash=` + hashHex(client) +
		`;Subject="";URI=spiffe://cluster.local/ns/default/sa/sleep;DNS=*.example.com`
	if got != want {
		t.Errorf("XFCC\n got %s\nwant %s", got, want)
	}
	if cert := p.XFCC([]string{"Cert"}); !strings.Contains(cert, "Cert=-----BEGIN+CERTIFICATE-----") {
		t.Errorf("XFCC Cert %s", cert)
	}
}

func hashHex(c *x509.Certificate) string {
	p := &Peer{Certificates: []*x509.Certificate{c}}
	h := p.XFCC(nil)
	return strings.TrimPrefix(h, "Hash=")
}

func TestSANMatching(t *testing.T) {
	c, _, _ := leaf(t, "x", "spiffe://cluster.local/ns/a/sa/b")
	exact := func(v string) []*resource.StringMatcher {
		return []*resource.StringMatcher{{Kind: resource.StringExact, Value: v}}
	}
	for _, tt := range []struct {
		ms   []*resource.StringMatcher
		want bool
	}{
		{exact("spiffe://cluster.local/ns/a/sa/b"), true},
		{exact("spiffe://cluster.local/ns/a/sa/c"), false},
		{exact("api.example.com"), true}, // wildcard certificate
		{exact("a.b.example.com"), false},
		{[]*resource.StringMatcher{{Kind: resource.StringPrefix, Value: "spiffe://cluster.local/"}}, true},
	} {
		if got := matchSANs(c, tt.ms); got != tt.want {
			t.Errorf("match %s = %v, want %v", tt.ms[0].Value, got, tt.want)
		}
	}
}

// TestFileSecretsFollowTheFiles: file-cert: and file-root: secrets are read
// again when their files change; a broken file keeps the last good one.
func TestFileSecretsFollowTheFiles(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	write := func(cn string) *x509.Certificate {
		c, cert, key := leaf(t, cn)
		if err := os.WriteFile(certFile, cert, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keyFile, key, 0o600); err != nil {
			t.Fatal(err)
		}
		future := time.Now().Add(time.Duration(len(cn)) * time.Second) // a distinct modification time
		_ = os.Chtimes(certFile, future, future)
		return c
	}
	s := NewStore(Options{}).Secrets(nil)
	ref := &resource.SecretRef{Name: "file-cert:" + certFile + "~" + keyFile, Local: true}
	first := write("one")
	c, err := s.Certificate(ref)
	if err != nil || c.Leaf.SerialNumber.Cmp(first.SerialNumber) != 0 {
		t.Fatalf("first: %v", err)
	}
	second := write("second")
	if c, err = s.Certificate(ref); err != nil || c.Leaf.SerialNumber.Cmp(second.SerialNumber) != 0 {
		t.Fatalf("after rewrite: %v", err)
	}
	if err := os.WriteFile(certFile, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err = s.Certificate(ref); err != nil || c.Leaf.SerialNumber.Cmp(second.SerialNumber) != 0 {
		t.Fatalf("broken file: %v (want the last good certificate)", err)
	}
	if _, err := s.Roots(&resource.SecretRef{Name: "file-root:" + filepath.Join(dir, "missing.pem"), Local: true}); err == nil {
		t.Error("missing CA file: no error")
	}
}

func TestMissingCredential(t *testing.T) {
	s := NewStore(Options{}).Secrets(map[string]*resource.Secret{"kubernetes://gone": {Name: "kubernetes://gone"}})
	if _, err := s.Certificate(&resource.SecretRef{Name: "kubernetes://gone"}); err == nil ||
		!strings.Contains(err.Error(), "credential not found") {
		t.Errorf("err = %v", err)
	}
	if got := s.Missing(); len(got) != 1 {
		t.Errorf("missing %v", got)
	}
	if _, err := s.Certificate(&resource.SecretRef{Name: "default", Local: true}); err == nil {
		t.Error("default without identity: no error")
	}
}

func TestSessionsExpireWithCertificates(t *testing.T) {
	now := time.Now()
	s := NewSessions(2)
	s.now = func() time.Time { return now }
	st := &tls.ClientSessionState{}
	cs := &connSessions{cache: s, key: "a"}
	cs.peerEnd.Store(now.Add(10 * time.Second).UnixNano())
	cs.Put("", st)
	if got, ok := cs.Get(""); !ok || got != st {
		t.Fatal("session not kept")
	}
	now = now.Add(10 * time.Second) // the peer's certificate expires: no resumption
	if _, ok := cs.Get(""); ok {
		t.Error("session offered after the peer certificate's expiry")
	}
	for _, k := range []string{"x", "y", "z"} {
		s.put(k, st, now.Add(time.Hour))
	}
	if s.get("x") != nil || s.get("z") == nil {
		t.Error("cache not bounded to the most recent sessions")
	}
}
