package proxy_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lateenmesh/lateen/internal/proxy"
	"github.com/lateenmesh/lateen/internal/proxy/proxytest"
)

// pki is a CA writing PEM files for TLS origination tests.
type pki struct {
	dir  string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "external CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	p := &pki{dir: t.TempDir(), cert: c, key: key}
	p.write(t, "ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	return p
}

func (p *pki) write(t *testing.T, name string, data []byte) string {
	t.Helper()
	f := filepath.Join(p.dir, name)
	if err := os.WriteFile(f, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// issue returns a certificate for dns, and writes it with its key.
func (p *pki) issue(t *testing.T, name string, dns ...string) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name}, DNSNames: dns,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.cert, key.Public(), p.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	p.write(t, name+".pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	p.write(t, name+"-key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// origination is a DestinationRule SIMPLE/MUTUAL context, as translated:
// no SNI or SANs (auto SNI and SAN validation from the request's host),
// roots from a file, optionally a client certificate from files.
func origination(p *pki, clientCert bool) func(*clusterv3.Cluster) {
	return func(c *clusterv3.Cluster) {
		ctx := &tlsv3.UpstreamTlsContext{CommonTlsContext: &tlsv3.CommonTlsContext{
			ValidationContextType: proxytest.Validation(proxytest.LocalSDS("file-root:" + filepath.Join(p.dir, "ca.pem"))),
		}}
		if clientCert {
			ctx.CommonTlsContext.TlsCertificateSdsSecretConfigs = []*tlsv3.SdsSecretConfig{proxytest.LocalSDS(
				"file-cert:" + filepath.Join(p.dir, "client.pem") + "~" + filepath.Join(p.dir, "client-key.pem"))}
		}
		c.TransportSocket = proxytest.UpstreamSocket(ctx)
		c.TypedExtensionProtocolOptions = map[string]*anypb.Any{
			"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": proxytest.Any(&httpv3.HttpProtocolOptions{
				UpstreamHttpProtocolOptions: &corev3.UpstreamHttpProtocolOptions{AutoSni: true, AutoSanValidation: true}}),
		}
	}
}

// TestTLSOrigination: the sidecar originates TLS to an external HTTPS
// server (DestinationRule SIMPLE and MUTUAL with certificate files): SNI
// and certificate check from the request's host; a host the certificate
// does not cover fails; a server requiring a client certificate gets the
// one from the files.
func TestTLSOrigination(t *testing.T) {
	p := newPKI(t)
	serverCert := p.issue(t, "server", "api.example.com")
	p.issue(t, "client", "client.example.com")
	var sni string
	server := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.PeerCertificates) > 0 {
			w.Header().Set("X-Client", r.TLS.PeerCertificates[0].Subject.CommonName)
		}
		sni = r.TLS.ServerName
	}))
	roots := x509.NewCertPool()
	roots.AddCert(p.cert)
	server.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	server.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}, ClientCAs: roots, ClientAuth: tls.VerifyClientCertIfGiven}
	server.StartTLS()
	defer server.Close()
	addr := strings.TrimPrefix(server.URL, "https://")

	e := startNode(t, proxy.Options{})
	out := clientSide(t, e, "1", proxytest.CLA("", addr), origination(p, false))
	r := get(t, client(), out, "api.example.com", "/")
	if r.code != 200 || sni != "api.example.com" || r.header.Get("X-Client") != "" {
		t.Fatalf("SIMPLE: %d %q, SNI %q, client %q", r.code, r.body, sni, r.header.Get("X-Client"))
	}
	if r = get(t, client(), out, "other.example.com", "/"); r.code != 503 || !strings.Contains(r.body, "subject alternative name mismatch") {
		t.Errorf("a host the certificate does not cover: %d %q", r.code, r.body)
	}

	out = clientSide(t, e, "2", proxytest.CLA("", addr), origination(p, true))
	if r = get(t, client(), out, "api.example.com", "/"); r.code != 200 || r.header.Get("X-Client") != "client" {
		t.Fatalf("MUTUAL: %d %q, client %q", r.code, r.body, r.header.Get("X-Client"))
	}
}
