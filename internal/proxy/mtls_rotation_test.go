package proxy_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/lateenmesh/lateen/internal/ca"
	"github.com/lateenmesh/lateen/internal/ca/authn"
	"github.com/lateenmesh/lateen/internal/proxy"
	"github.com/lateenmesh/lateen/internal/proxy/proxytest"
	"github.com/lateenmesh/lateen/internal/wait"
)

// meshCA is pilot's CA service (the real one) on a TLS gRPC server.
type meshCA struct {
	ca       *ca.CA
	addr     string
	rootFile string
	dir      string
}

func startMeshCA(t *testing.T) *meshCA {
	t.Helper()
	dir := t.TempDir()
	c, err := ca.New(ca.Options{Dir: filepath.Join(dir, "ca"), MaxWorkloadCertTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Load(); err != nil {
		t.Fatal(err)
	}
	tokens := filepath.Join(dir, "tokens")
	lines := authn.TokenLine("sleep-token", "default", "sleep") + authn.TokenLine("httpbin-token", "default", "httpbin")
	if err := os.WriteFile(tokens, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	svc, err := ca.NewService(ca.ServiceOptions{CA: c, Authenticator: authn.Chain{
		authn.NewTokens(tokens, c.TrustDomain()),
		&authn.ClientCert{Roots: c.TrustPool, TrustDomain: c.TrustDomain()},
	}})
	if err != nil {
		t.Fatal(err)
	}
	serving := ca.NewServing(ca.ServingOptions{CA: c, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	gs := grpc.NewServer(grpc.Creds(credentials.NewTLS(serving.TLSConfig())))
	svc.Register(gs)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	return &meshCA{ca: c, addr: lis.Addr().String(), rootFile: filepath.Join(dir, "ca", ca.RootCertFile), dir: dir}
}

// agentNode is a proxy whose identity agent gets certificates of ttl from m.
func (m *meshCA) agentNode(t testing.TB, sa string, ttl time.Duration) *env {
	t.Helper()
	token := filepath.Join(m.dir, sa+".token")
	if err := os.WriteFile(token, []byte(sa+"-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := startNode(t, proxy.Options{ServiceAccount: sa, CAAddress: m.addr, RootCertFile: m.rootFile,
		TokenFile: token, CertTTL: ttl, TrustDomain: "cluster.local"})
	select {
	case <-e.p.Identity().Ready():
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: no workload certificate", sa)
	}
	return e
}

// maxRequestsPerConnection makes the client open new upstream
// connections (so new handshakes) often.
func maxRequestsPerConnection(n uint32) func(*clusterv3.Cluster) {
	return func(c *clusterv3.Cluster) {
		c.TypedExtensionProtocolOptions = map[string]*anypb.Any{
			"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": proxytest.Any(&httpv3.HttpProtocolOptions{
				CommonHttpProtocolOptions: &corev3.HttpProtocolOptions{MaxRequestsPerConnection: wrapperspb.UInt32(n)},
				UpstreamProtocolOptions: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
					ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_HttpProtocolOptions{HttpProtocolOptions: &corev3.Http1ProtocolOptions{}}}},
			}),
		}
	}
}

// TestRotationWithoutLoss sends requests at a constant rate from a client
// sidecar to a STRICT server sidecar while both workload certificates
// rotate about every 2 s and the mesh root rotates once: no request fails,
// handshakes pick up the new certificates and long-lived connections
// continue.
func TestRotationWithoutLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("rotation under load takes seconds")
	}
	m := startMeshCA(t)
	const ttl = 4 * time.Second // renewed at half-life
	client, server := m.agentNode(t, "sleep", ttl), m.agentNode(t, "httpbin", ttl)
	app := strings.TrimPrefix(echoApp(t, "httpbin").URL, "http://")
	port := serverSide(t, server, "1", strictMode, false, app)
	tweak := func(c *clusterv3.Cluster) {
		maxRequestsPerConnection(5)(c)
		withTLS(proxytest.IstioMutual(sni, httpbinID))(c)
	}
	out := clientSide(t, client, "1", proxytest.CLA("", fmt.Sprintf("127.0.0.1:%d", port)), tweak)

	var (
		mu       sync.Mutex
		failures []string
		sent     int
	)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // constant rate: one request every 20 ms
		defer close(done)
		c := &http.Client{Timeout: 10 * time.Second}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			resp, err := c.Get("http://" + out + "/")
			mu.Lock()
			sent++
			switch {
			case err != nil:
				failures = append(failures, err.Error())
			case resp.StatusCode != 200:
				failures = append(failures, resp.Status)
			}
			mu.Unlock()
			if resp != nil {
				resp.Body.Close()
			}
		}
	}()
	rotated := func(e *env, n int64) func() error {
		return func() error {
			if got := e.stat("identity.csr_success"); got < n {
				return fmt.Errorf("%d certificates issued, want %d", got, n)
			}
			return nil
		}
	}
	wait.For(t, 30*time.Second, "two rotations of each certificate", func() error {
		if err := rotated(client, 3)(); err != nil {
			return err
		}
		return rotated(server, 3)()
	})
	if err := m.ca.RotateRoot(); err != nil {
		t.Fatal(err)
	}
	before := client.stat("identity.csr_success")
	wait.For(t, 30*time.Second, "two rotations after the root's", func() error {
		if err := rotated(client, before+2)(); err != nil {
			return err
		}
		if len(server.p.Identity().Current().Roots) < 2 {
			return fmt.Errorf("server trusts %d roots, want 2", len(server.p.Identity().Current().Roots))
		}
		return nil
	})
	close(stop)
	<-done
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d requests, %d client handshakes (%d resumed)", sent, client.stat("cluster.out.ssl.handshake"),
		client.stat("cluster.out.ssl.session_reused"))
	if len(failures) > 0 {
		t.Errorf("%d of %d requests failed: %v", len(failures), sent, failures[:min(5, len(failures))])
	}
	if sent < 50 || client.stat("cluster.out.ssl.handshake") < 10 {
		t.Errorf("only %d requests and %d handshakes", sent, client.stat("cluster.out.ssl.handshake"))
	}
}
