package translate_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lateenmesh/lateen/internal/mesh"
	"github.com/lateenmesh/lateen/internal/wait"
)

// These tests run DestinationRule traffic policies from YAML through the
// translator and a real lateen-proxy (capture NONE: requests go to its
// HTTP proxy port with the service's Host).

// drServer is an upstream on its own loopback address that answers its
// name, or fails with a settable status, or holds requests until released.
type drServer struct {
	name    string
	addr    string // ip:port
	status  atomic.Int32
	served  atomic.Int64
	hold    atomic.Bool
	arrived chan struct{}
	release chan struct{}
}

func drServe(t *testing.T, name, ip string) *drServer {
	t.Helper()
	s := &drServer{name: name, arrived: make(chan struct{}, 64), release: make(chan struct{})}
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.served.Add(1)
		if s.hold.Load() {
			s.arrived <- struct{}{}
			<-s.release
		}
		w.Header().Set("X-Backend", s.name)
		if code := s.status.Load(); code != 0 {
			w.WriteHeader(int(code))
		}
		fmt.Fprint(w, s.name)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { s.open(); srv.Close() })
	s.addr = ln.Addr().String()
	return s
}

func (s *drServer) open() {
	select {
	case <-s.release:
	default:
		close(s.release)
	}
}

func (s *drServer) port() string {
	_, p, _ := net.SplitHostPort(s.addr)
	return p
}

// drProxy is a sidecar for workload "client" (127.0.0.1, namespace
// default) fed with the translator's output.
type drProxy struct {
	*meshProxy
	addr   string
	client *http.Client
}

func startDRProxy(t *testing.T) *drProxy {
	t.Helper()
	m := startMeshProxy(t, mesh.Sidecar, "default", map[string]string{"app": "client"})
	return &drProxy{meshProxy: m, addr: m.httpProxyAddr(), client: &http.Client{Timeout: 30 * time.Second}}
}

// apply translates yaml for the proxy and waits until every type is ACKed.
func (d *drProxy) apply(t *testing.T, version, yaml string) {
	t.Helper()
	d.meshProxy.apply(t, version, yaml)
}

// get sends GET / with a Host header through the proxy.
func (d *drProxy) get(t *testing.T, host string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+d.addr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	resp, err := d.client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", host, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (d *drProxy) stat(name string) int64 {
	v, _ := d.p.Stats().Value(name)
	return v
}

const geoCluster = "cluster.outbound|8000||geo.default.svc.cluster.local."

// TestLocalityFailoverWhenLocalEndpointIsEjected: with outlier detection,
// Istio gives the endpoints in the client's locality priority 0 and the
// others lower priorities; when the local endpoint is ejected, traffic
// fails over to the remote one, and comes back after the ejection.
func TestLocalityFailoverWhenLocalEndpointIsEjected(t *testing.T) {
	local, remote := drServe(t, "local", "127.0.0.2"), drServe(t, "remote", "127.0.0.3")
	d := startDRProxy(t)
	d.apply(t, "v1", fmt.Sprintf(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: client, namespace: default}
spec:
  hosts: [client.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{name: http, number: 80, protocol: HTTP}]
  endpoints: [{address: 127.0.0.1, locality: region-a/zone-a, labels: {app: client}}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: geo, namespace: default}
spec:
  hosts: [geo.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{name: http, number: 8000, protocol: HTTP}]
  endpoints:
  - {address: 127.0.0.2, ports: {http: %s}, locality: region-a/zone-a}
  - {address: 127.0.0.3, ports: {http: %s}, locality: region-b/zone-b}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: geo, namespace: default}
spec:
  host: geo
  trafficPolicy:
    outlierDetection: {consecutive5xxErrors: 1, interval: 1s, baseEjectionTime: 1s, maxEjectionPercent: 100}
`, local.port(), remote.port()))
	for i := range 10 {
		if code, body := d.get(t, "geo:8000"); code != 200 || body != "local" {
			t.Fatalf("request %d: %d %q, want the local endpoint", i, code, body)
		}
	}
	local.status.Store(500) // 503 would be retried on the remote host by Istio's default retry policy
	if code, body := d.get(t, "geo:8000"); code != 500 || body != "local" {
		t.Fatalf("failing local endpoint: %d %q", code, body)
	}
	for i := range 10 {
		if code, body := d.get(t, "geo:8000"); code != 200 || body != "remote" {
			t.Fatalf("request %d after the local endpoint's ejection: %d %q, want the remote one", i, code, body)
		}
	}
	if got := d.stat(geoCluster + "outlier_detection.ejections_active"); got != 1 {
		t.Errorf("ejections_active = %d, want 1", got)
	}
	local.status.Store(0)
	wait.For(t, 15*time.Second, "traffic back on the local endpoint", func() error {
		if _, body := d.get(t, "geo:8000"); body != "local" {
			return fmt.Errorf("answered by %s", body)
		}
		return nil
	})
}

// TestCircuitBreakerSample applies Istio's circuit breaking sample
// (httpbin-circuit-breaker.yaml: maxConnections 1, http1MaxPendingRequests
// 1, maxRequestsPerConnection 1) and sends three concurrent requests: one
// is served, one waits for the connection, the third gets 503 overflow.
func TestCircuitBreakerSample(t *testing.T) {
	sample, err := os.ReadFile("../config/validate/testdata/httpbin-circuit-breaker.yaml")
	if err != nil {
		t.Fatal(err)
	}
	httpbin := drServe(t, "httpbin", "127.0.0.2")
	httpbin.hold.Store(true)
	d := startDRProxy(t)
	d.apply(t, "v1", fmt.Sprintf(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: httpbin, namespace: default}
spec:
  hosts: [httpbin.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{name: http, number: 8000, protocol: HTTP}]
  endpoints: [{address: 127.0.0.2, ports: {http: %s}}]
---
%s`, httpbin.port(), strings.TrimSpace(string(sample))))
	type reply struct {
		code int
		body string
	}
	fire := func() chan reply {
		out := make(chan reply, 1)
		go func() {
			c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}}
			req, _ := http.NewRequest(http.MethodGet, "http://"+d.addr+"/", nil)
			req.Host = "httpbin:8000"
			resp, err := c.Do(req)
			if err != nil {
				out <- reply{body: err.Error()}
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			out <- reply{resp.StatusCode, string(b)}
		}()
		return out
	}
	const cb = "cluster.outbound|8000||httpbin.default.svc.cluster.local."
	first := fire()
	<-httpbin.arrived
	second := fire()
	wait.For(t, 10*time.Second, "the second request to wait", func() error {
		if n := d.stat(cb + "upstream_rq_pending_active"); n != 1 {
			return fmt.Errorf("upstream_rq_pending_active = %d", n)
		}
		return nil
	})
	if r := <-fire(); r.code != 503 || !strings.HasSuffix(r.body, "reset reason: overflow") {
		t.Errorf("third concurrent request: %d %q, want 503 overflow (UO)", r.code, r.body)
	}
	httpbin.open()
	for i, ch := range []chan reply{first, second} {
		if r := <-ch; r.code != 200 {
			t.Errorf("request %d: %d %q", i+1, r.code, r.body)
		}
	}
	if got := d.stat(cb + "upstream_rq_pending_overflow"); got != 1 {
		t.Errorf("upstream_rq_pending_overflow = %d, want 1", got)
	}
	if got := d.stat(cb + "upstream_cx_total"); got != 2 {
		t.Errorf("upstream_cx_total = %d, want 2 (one request per connection)", got)
	}
	if got := d.stat(cb + "outlier_detection.ejections_active"); got != 0 {
		t.Errorf("ejections_active = %d: local overflow replies must not count as upstream errors", got)
	}
}
