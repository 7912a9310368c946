package admin

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"log/slog"
	"math/big"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lateenmesh/lateen/internal/proxy/runtime"
	"github.com/lateenmesh/lateen/internal/proxy/stats"
)

type noSource struct{}

func (noSource) Current() *runtime.Graph                              { return nil }
func (noSource) Ready() <-chan struct{}                               { return make(chan struct{}) }
func (c certSource) Certificates() (chain, roots []*x509.Certificate) { return c.chain, c.roots }

type certSource struct{ chain, roots []*x509.Certificate }

func selfSigned(t *testing.T, serial int64, notAfter time.Time, uri string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: notAfter,
		Subject: pkix.Name{Organization: []string{"cluster.local"}}, IsCA: parent == nil, BasicConstraintsValid: true}
	if uri != "" {
		u, _ := url.Parse(uri)
		tmpl.URIs = []*url.URL{u}
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key
}

func TestCerts(t *testing.T) {
	now := time.Now()
	root, rootKey := selfSigned(t, 1, now.Add(3650*24*time.Hour+time.Hour), "", nil, nil)
	leaf, _ := selfSigned(t, 0x2a, now.Add(36*time.Hour), "spiffe://cluster.local/ns/default/sa/sleep", root, rootKey)
	for _, tc := range []struct {
		name  string
		certs CertSource
		want  string
	}{
		{"no identity", nil, `{"certificates": []}`},
		{"workload certificate", certSource{[]*x509.Certificate{leaf}, []*x509.Certificate{root}}, `{"certificates": [{
			"ca_cert": [{"path": "<inline>", "serial_number": "1", "subject_alt_names": [], "days_until_expiration": "3650",
				"valid_from": "2026-01-01T00:00:00Z", "expiration_time": "` + root.NotAfter.UTC().Format(time.RFC3339) + `"}],
			"cert_chain": [{"path": "<inline>", "serial_number": "2a",
				"subject_alt_names": [{"uri": "spiffe://cluster.local/ns/default/sa/sleep"}], "days_until_expiration": "1",
				"valid_from": "2026-01-01T00:00:00Z", "expiration_time": "` + leaf.NotAfter.UTC().Format(time.RFC3339) + `"}]}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(Options{Address: "127.0.0.1:0", Source: noSource{}, Stats: stats.New(), Level: new(slog.LevelVar), Certs: tc.certs})
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			s.adminMux().ServeHTTP(rec, httptest.NewRequest("GET", "/certs", nil))
			var got, want any
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("%v: %s", err, rec.Body)
			}
			if err := json.Unmarshal([]byte(tc.want), &want); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("/certs (-want +got):\n%s", d)
			}
		})
	}
}
