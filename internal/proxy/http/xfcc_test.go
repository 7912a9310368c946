package http

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"math/big"
	nethttp "net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/mtls"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

func TestForwardClientCert(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	u, _ := url.Parse("spiffe://cluster.local/ns/default/sa/sleep")
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), URIs: []*url.URL{u}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	leaf, _ := x509.ParseCertificate(der)
	mutual := &mtls.Peer{Certificates: []*x509.Certificate{leaf}, Local: []string{"spiffe://cluster.local/ns/default/sa/httpbin"}}
	oneWay := &mtls.Peer{}
	tests := []struct {
		mode  string
		peer  *mtls.Peer
		prior string
		want  string // "" removed; "=" kept; a prefix of the new value otherwise
	}{
		{"APPEND_FORWARD", mutual, "By=a", "By=a,By=spiffe://cluster.local/ns/default/sa/httpbin;Hash="},
		{"APPEND_FORWARD", nil, "By=spoofed", ""},
		{"APPEND_FORWARD", oneWay, "By=spoofed", ""},
		{"SANITIZE_SET", mutual, "By=a", "By=spiffe://cluster.local/ns/default/sa/httpbin;Hash="},
		{"SANITIZE", mutual, "By=a", ""},
		{"FORWARD_ONLY", mutual, "By=a", "="},
		{"FORWARD_ONLY", nil, "By=a", ""},
		{"ALWAYS_FORWARD_ONLY", nil, "By=a", "="},
	}
	for _, tt := range tests {
		h := nethttp.Header{}
		h.Set(xfccHeader, tt.prior)
		forwardClientCert(h, &resource.HTTPConnectionManager{ForwardClientCert: tt.mode, SetCurrentCertParts: []string{"URI"}}, tt.peer)
		got := h.Get(xfccHeader)
		switch tt.want {
		case "":
			if got != "" {
				t.Errorf("%s (peer %v): kept %q", tt.mode, tt.peer != nil, got)
			}
		case "=":
			if got != tt.prior {
				t.Errorf("%s: %q, want it kept", tt.mode, got)
			}
		default:
			if !strings.HasPrefix(got, tt.want) || !strings.HasSuffix(got, ";URI=spiffe://cluster.local/ns/default/sa/sleep") {
				t.Errorf("%s: %q", tt.mode, got)
			}
		}
	}
}
