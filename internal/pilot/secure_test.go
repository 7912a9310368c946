package pilot

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/lateenmesh/lateen/internal/ca"
	"github.com/lateenmesh/lateen/internal/ca/authn"
	"github.com/lateenmesh/lateen/internal/proxy"
	"github.com/lateenmesh/lateen/internal/proxy/xdsclient"
	"github.com/lateenmesh/lateen/internal/spiffe"
	"github.com/lateenmesh/lateen/internal/wait"
)

type testPilot struct {
	p        *Pilot
	dir      string
	tokens   map[string]string // workload → token
	rootFile string
}

// startPilot runs pilot with a persisted self-signed CA and a bootstrap
// token per workload (name → namespace/serviceAccount).
func startPilot(t *testing.T, workloads map[string]string, tweaks ...func(*Options)) *testPilot {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	if err := os.Mkdir(cfg, 0o755); err != nil {
		t.Fatal(err)
	}
	tp := &testPilot{dir: dir, tokens: map[string]string{}, rootFile: filepath.Join(dir, "ca", ca.RootCertFile)}
	var lines strings.Builder
	for w, id := range workloads {
		tok, err := authn.NewToken()
		if err != nil {
			t.Fatal(err)
		}
		ns, sa, _ := strings.Cut(id, "/")
		lines.WriteString(authn.TokenLine(tok, ns, sa))
		tp.tokens[w] = tok
	}
	tokens := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokens, []byte(lines.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := Options{ConfigDir: cfg, XDSAddress: "127.0.0.1:0", HTTPAddress: "127.0.0.1:0", SecureAddress: "127.0.0.1:0",
		CADir: filepath.Join(dir, "ca"), WorkloadTokensFile: tokens}
	for _, tweak := range tweaks {
		tweak(&opts)
	}
	p, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("pilot Run: %v", err)
		}
	})
	wait.For(t, 30*time.Second, "pilot listening", func() error {
		if p.SecureAddress() == nil {
			return errors.New("not yet")
		}
		return nil
	})
	tp.p = p
	return tp
}

func (tp *testPilot) writeToken(t *testing.T, workload string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), workload+".token")
	if err := os.WriteFile(f, []byte(tp.tokens[workload]), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestProxyOverSecurePort runs a real proxy against pilot's 15012: it gets
// its certificate with its bootstrap token, then its configuration over
// xDS on TLS, authenticated by that certificate.
func TestProxyOverSecurePort(t *testing.T) {
	tp := startPilot(t, map[string]string{"reviews-v1": "default/bookinfo-reviews"})
	secure := tp.p.SecureAddress().String()
	px, err := proxy.New(proxy.Options{XDSAddress: secure, XDSTLS: true, CAAddress: secure, RootCertFile: tp.rootFile,
		TokenFile: tp.writeToken(t, "reviews-v1"), IP: "127.0.77.1", WorkloadName: "reviews-v1",
		ServiceAccount: "bookinfo-reviews", AdminAddress: "127.0.0.1:0", ReadyAddress: "127.0.0.1:0",
		StatsAddress: "127.0.0.1:0", MergedStatsAddress: "-", DrainTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- px.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("proxy Run: %v", err)
		}
	}()
	select {
	case <-px.Ready():
	case <-time.After(60 * time.Second):
		t.Fatal("the proxy got no configuration over the secure port")
	}
	admin, err := px.AdminAddr(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var certs struct {
		Certificates []struct {
			CACert    []map[string]any `json:"ca_cert"`
			CertChain []struct {
				SerialNumber    string              `json:"serial_number"`
				SubjectAltNames []map[string]string `json:"subject_alt_names"`
				Days            string              `json:"days_until_expiration"`
				ValidFrom       string              `json:"valid_from"`
				ExpirationTime  string              `json:"expiration_time"`
			} `json:"cert_chain"`
		} `json:"certificates"`
	}
	if err := json.Unmarshal(get(t, "http://"+admin+"/certs"), &certs); err != nil {
		t.Fatal(err)
	}
	if len(certs.Certificates) != 1 || len(certs.Certificates[0].CertChain) == 0 || len(certs.Certificates[0].CACert) != 1 {
		t.Fatalf("/certs = %+v, want one certificate with its chain and root", certs)
	}
	leaf := certs.Certificates[0].CertChain[0]
	if len(leaf.SubjectAltNames) != 1 || leaf.SubjectAltNames[0]["uri"] != "spiffe://cluster.local/ns/default/sa/bookinfo-reviews" {
		t.Errorf("leaf SANs = %v", leaf.SubjectAltNames)
	}
	if leaf.SerialNumber == "" || leaf.Days != "0" || leaf.ValidFrom == "" || leaf.ExpirationTime == "" {
		t.Errorf("leaf details = %+v", leaf)
	}
	if exp := px.Stats().Gauge("ssl.certificate.default.expiration_unix_time_seconds").Value(); exp < time.Now().Add(23*time.Hour).Unix() {
		t.Errorf("certificate expiry gauge = %d, want about 24h from now", exp)
	}
	_, httpAddr := tp.p.Addresses()
	metrics := string(get(t, "http://"+httpAddr.String()+"/metrics"))
	for _, want := range []string{"citadel_server_csr_count 1", "citadel_server_success_cert_issuance_count 1", "citadel_server_root_cert_expiry_timestamp"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func get(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", url, resp.Status, err)
	}
	return b
}

// TestSecureADSAuthorization opens ADS streams on the secure port as a
// proxy that holds the sleep identity: claiming sleep works, claiming
// another service account or namespace is refused, and so is a stream
// without credentials.
func TestSecureADSAuthorization(t *testing.T) {
	tp := startPilot(t, nil)
	secure := tp.p.SecureAddress().String()
	sleep := spiffe.Identity{TrustDomain: "cluster.local", Namespace: "default", ServiceAccount: "sleep"}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	req, _ := x509.ParseCertificateRequest(csr)
	issued, err := tp.p.CA().Sign(req, sleep, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert := &tls.Certificate{Certificate: [][]byte{issued.Chain[0].Raw}, PrivateKey: key}

	for _, tc := range []struct {
		name     string
		cert     *tls.Certificate
		ns, sa   string
		wantCode codes.Code
	}{
		{"own identity", cert, "default", "sleep", codes.OK},
		{"another service account", cert, "default", "bookinfo-reviews", codes.PermissionDenied},
		{"another namespace", cert, "istio-system", "sleep", codes.PermissionDenied},
		{"no credentials", nil, "default", "sleep", codes.Unauthenticated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &tls.Config{RootCAs: tp.p.CA().TrustPool(), ServerName: "istiod.istio-system.svc"}
			if tc.cert != nil {
				cfg.Certificates = []tls.Certificate{*tc.cert}
			}
			conn, err := grpc.NewClient(secure, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
			if err != nil {
				t.Fatal(err)
			}
			node := xdsclient.Node(xdsclient.NodeInfo{Type: "sidecar", IP: "127.0.77.2", WorkloadName: "sleep",
				Namespace: tc.ns, ServiceAccount: tc.sa})
			// The server may end an unauthenticated stream before the first
			// request; Send then reports io.EOF and Recv carries the status.
			if err := stream.Send(&discoveryv3.DiscoveryRequest{Node: node, TypeUrl: "type.googleapis.com/envoy.config.cluster.v3.Cluster"}); err != nil && !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			_, err = stream.Recv()
			if got := status.Code(err); got != tc.wantCode {
				t.Fatalf("Recv: code %v (%v), want %v", got, err, tc.wantCode)
			}
		})
	}
}

// TestServingCertificate checks pilot's own certificate: its names, and
// that it comes from the mesh CA.
func TestServingCertificate(t *testing.T) {
	tp := startPilot(t, nil)
	conn, err := tls.Dial("tcp", tp.p.SecureAddress().String(), &tls.Config{RootCAs: tp.p.CA().TrustPool(),
		ServerName: "istiod.istio-system.svc", NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	leaf := conn.ConnectionState().PeerCertificates[0]
	for _, name := range []string{"istiod.istio-system.svc", "lateen-pilot", "127.0.0.1"} {
		if err := leaf.VerifyHostname(name); err != nil {
			t.Errorf("serving certificate: %v", err)
		}
	}
	if ip := net.ParseIP("127.0.0.2"); leaf.VerifyHostname(ip.String()) == nil {
		t.Error("serving certificate valid for an address pilot does not listen on")
	}
}

// POST /debug/ca/rotate-root replaces the self-signed root; the bundle
// keeps the old root next to the new one.
func TestRotateRootEndpoint(t *testing.T) {
	tp := startPilot(t, nil)
	_, httpAddr := tp.p.Addresses()
	before := tp.p.CA().Roots()[0]
	url := "http://" + httpAddr.String() + "/debug/ca/rotate-root"
	resp, err := http.Post(url, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Roots int }
	err = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || err != nil || out.Roots != 2 {
		t.Fatalf("rotate-root: %d, %+v, %v", resp.StatusCode, out, err)
	}
	roots := tp.p.CA().Roots()
	if len(roots) != 2 || roots[0].Equal(before) || !roots[1].Equal(before) {
		t.Errorf("roots after rotation: %d, new first = %v", len(roots), !roots[0].Equal(before))
	}
	if resp, err := http.Get(url); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET rotate-root: %d, want 405", resp.StatusCode)
		}
	}
}
