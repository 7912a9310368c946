package proxy_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"

	"github.com/lateenmesh/lateen/internal/proxy"
	"github.com/lateenmesh/lateen/internal/proxy/proxytest"
	"github.com/lateenmesh/lateen/internal/proxy/xdsclient"
)

const nodeID = "sidecar~127.0.0.1~test.default~default.svc.cluster.local"

type env struct {
	srv   *proxytest.Server
	p     *proxy.Proxy
	admin string
	ready string
}

// startProxy runs a real proxy against a fake management server.
func startProxy(t *testing.T) *env {
	t.Helper()
	srv := proxytest.NewServer(t)
	var logger *slog.Logger
	if os.Getenv("PROXY_TEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	p, err := proxy.New(proxy.Options{XDSAddress: srv.Addr, IP: "127.0.0.1", WorkloadName: "test",
		AdminAddress: "127.0.0.1:0", ReadyAddress: "127.0.0.1:0", StatsAddress: "127.0.0.1:0", MergedStatsAddress: "-",
		Logger: logger, DrainTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if got := xdsclient.Node(xdsclient.NodeInfo{Type: "sidecar", IP: "127.0.0.1", WorkloadName: "test", Namespace: "default"}).Id; got != nodeID {
		t.Fatalf("node id %q", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return")
		}
	})
	e := &env{srv: srv, p: p}
	if e.admin, err = p.AdminAddr(ctx); err != nil {
		t.Fatal(err)
	}
	e.ready, _ = p.ReadyAddr(ctx)
	return e
}

// apply publishes a snapshot and waits until the proxy ACKed it on every type.
func (e *env) apply(t *testing.T, version string, r proxytest.Resources) {
	t.Helper()
	e.srv.Set(t, nodeID, version, r)
	types := []string{
		"type.googleapis.com/envoy.config.cluster.v3.Cluster",
		"type.googleapis.com/envoy.config.listener.v3.Listener",
	}
	if len(r.Routes) > 0 {
		types = append(types, "type.googleapis.com/envoy.config.route.v3.RouteConfiguration")
	}
	if len(r.Endpoints) > 0 {
		types = append(types, "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment")
	}
	for _, typeURL := range types {
		e.srv.WaitRequest(t, typeURL+" "+version, func(req *discoveryv3.DiscoveryRequest) bool {
			return req.TypeUrl == typeURL && req.VersionInfo == version && req.ErrorDetail == nil
		})
	}
	<-e.p.Ready()
}

func (e *env) stat(name string) int64 {
	v, _ := e.p.Stats().Value(name)
	return v
}

// backend is an upstream test server that reports what it received.
type backend struct {
	*httptest.Server
	name string
}

func (b *backend) hostPort() string { return strings.TrimPrefix(b.URL, "http://") }

func newBackend(t *testing.T, name string, h2c bool) *backend {
	t.Helper()
	b := &backend{name: name}
	b.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend", name)
		w.Header().Set("X-Path", r.URL.RequestURI())
		w.Header().Set("X-Host", r.Host)
		w.Header().Set("X-Proto", fmt.Sprint(r.ProtoMajor))
		w.Header().Set("X-Seen-Request-Id", r.Header.Get("X-Request-Id"))
		w.Header().Set("X-Seen-Forwarded-Proto", r.Header.Get("X-Forwarded-Proto"))
		for k, v := range r.Header {
			if strings.HasPrefix(k, "X-Test-") {
				w.Header()["Seen-"+k] = v
			}
		}
		n, _ := io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Body-Bytes", fmt.Sprint(n))
		fmt.Fprint(w, name)
	}))
	if h2c {
		b.Config.Protocols = new(http.Protocols)
		b.Config.Protocols.SetHTTP1(true)
		b.Config.Protocols.SetUnencryptedHTTP2(true)
	}
	b.Start()
	t.Cleanup(b.Close)
	return b
}

// client returns an HTTP/1.1 client that does not follow redirects.
func client() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// h2cClient returns an h2c (prior knowledge) client.
func h2cClient() *http.Client {
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Timeout: 30 * time.Second, Transport: tr}
}

type result struct {
	code    int
	body    string
	header  http.Header
	trailer http.Header
	proto   int
}

func get(t *testing.T, c *http.Client, addr, host, path string, hdr ...string) result {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return do(t, c, req)
}

func do(t *testing.T, c *http.Client, req *http.Request) result {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return result{code: resp.StatusCode, body: string(b), header: resp.Header, trailer: resp.Trailer, proto: resp.ProtoMajor}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}
