package translate_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lateenmesh/lateen/internal/mesh"
	"github.com/lateenmesh/lateen/internal/wait"
)

// These tests run VirtualService HTTP route features from YAML through
// the translator and a real lateen-proxy (capture NONE: the client uses
// the proxy as its HTTP proxy), with real backends.

// vsBackend is a test upstream recording what it receives.
type vsBackend struct {
	name string
	port string
	mu   sync.Mutex
	reqs []*http.Request
	// handle, when set, answers instead of the default ("<name>").
	handle func(w http.ResponseWriter, r *http.Request)
}

func (b *vsBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	b.mu.Lock()
	b.reqs = append(b.reqs, r)
	b.mu.Unlock()
	w.Header().Set("X-Backend", b.name)
	w.Header().Set("X-Seen-Host", r.Host)
	w.Header().Set("X-Seen-Path", r.URL.RequestURI())
	if b.handle != nil {
		b.handle(w, r)
		return
	}
	fmt.Fprint(w, b.name)
}

func (b *vsBackend) received() []*http.Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]*http.Request(nil), b.reqs...)
}

func startVSBackend(t *testing.T, name string) *vsBackend {
	t.Helper()
	b := &vsBackend{name: name}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: b}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	_, b.port, _ = net.SplitHostPort(ln.Addr().String())
	return b
}

// vsMesh is httpbin (port 8000; subsets v1 and v2) and ratings (9080;
// subset v1) whose endpoints are test backends, and a sidecar proxy for a
// client in namespace default.
type vsMesh struct {
	*meshProxy
	t               *testing.T
	v1, v2, ratings *vsBackend
	version         int
	client          *http.Client
}

func startVSMesh(t *testing.T) *vsMesh {
	t.Helper()
	m := &vsMesh{t: t, meshProxy: startMeshProxy(t, mesh.Sidecar, "default", nil),
		v1: startVSBackend(t, "v1"), v2: startVSBackend(t, "v2"), ratings: startVSBackend(t, "ratings")}
	proxyURL, _ := url.Parse("http://" + m.httpProxyAddr())
	m.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL)},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return m
}

func (m *vsMesh) services() string {
	entry := func(name string, port int, eps ...string) string {
		return fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: %s, namespace: default}
spec:
  hosts: [%s.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{name: http, number: %d, protocol: HTTP}]
  endpoints:
%s`, name, name, port, strings.Join(eps, ""))
	}
	ep := func(b *vsBackend, version string) string {
		return fmt.Sprintf("  - {address: 127.0.0.1, ports: {http: %s}, labels: {version: %s}}\n", b.port, version)
	}
	return entry("httpbin", 8000, ep(m.v1, "v1"), ep(m.v2, "v2")) + "\n---\n" +
		entry("ratings", 9080, ep(m.ratings, "v1")) + `
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: httpbin, namespace: default}
spec:
  host: httpbin
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ratings, namespace: default}
spec:
  host: ratings
  subsets:
  - {name: v1, labels: {version: v1}}`
}

// apply translates the services and docs for the proxy and waits until
// it acknowledged every type.
func (m *vsMesh) apply(docs ...string) {
	m.t.Helper()
	m.version++
	m.meshProxy.apply(m.t, fmt.Sprint(m.version), append([]string{m.services()}, docs...)...)
}

type vsResult struct {
	code   int
	body   string
	header http.Header
}

// do sends method url (through the proxy) with header pairs.
func (m *vsMesh) do(method, u string, hdr ...string) vsResult {
	m.t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		m.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := m.client.Do(req)
	if err != nil {
		m.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return vsResult{code: resp.StatusCode, body: string(b), header: resp.Header}
}

func sample(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../config/validate/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Replace(string(b), "metadata:\n  name: ", "metadata:\n  namespace: default\n  name: ", -1)
}

func TestVSFaultSamplesThroughProxy(t *testing.T) {
	m := startVSMesh(t)
	m.apply(sample(t, "virtual-service-ratings-test-abort.yaml"))
	if r := m.do("GET", "http://ratings:9080/ratings/0", "end-user", "jason"); r.code != 500 || r.body != "fault filter abort" {
		t.Errorf("jason: %d %q, want the injected 500", r.code, r.body)
	}
	if r := m.do("GET", "http://ratings:9080/ratings/0"); r.code != 200 || r.body != "ratings" {
		t.Errorf("others: %d %q", r.code, r.body)
	}
	delay := strings.Replace(sample(t, "virtual-service-ratings-test-delay.yaml"), "fixedDelay: 7s", "fixedDelay: 300ms", 1)
	m.apply(delay)
	start := time.Now()
	if r := m.do("GET", "http://ratings:9080/ratings/0", "end-user", "jason"); r.code != 200 || time.Since(start) < 300*time.Millisecond {
		t.Errorf("jason: %d after %s, want 200 after the 300ms delay", r.code, time.Since(start))
	}
}

func TestVSMirroringSampleThroughProxy(t *testing.T) {
	m := startVSMesh(t)
	m.apply(sample(t, "httpbin-mirroring.yaml"))
	for range 3 {
		if r := m.do("GET", "http://httpbin:8000/headers", "X-Test", "mirror"); r.code != 200 || r.body != "v1" {
			t.Fatalf("got %d %q, want v1's answer", r.code, r.body)
		}
	}
	wait.For(t, 10*time.Second, "three mirrored requests at v2", func() error {
		if n := len(m.v2.received()); n != 3 {
			return fmt.Errorf("v2 received %d", n)
		}
		return nil
	})
	got := m.v2.received()[0]
	if got.Host != "httpbin-shadow:8000" || got.URL.Path != "/headers" || got.Header.Get("X-Test") != "mirror" {
		t.Errorf("mirror got Host %q path %q", got.Host, got.URL.Path)
	}
}

func TestVSRouteFeaturesThroughProxy(t *testing.T) {
	m := startVSMesh(t)
	attempts := 0
	var mu sync.Mutex
	m.ratings.handle = func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/flaky":
			mu.Lock()
			attempts++
			n := attempts
			mu.Unlock()
			if n == 1 {
				w.WriteHeader(503)
				return
			}
		case "/slow":
			<-r.Context().Done()
			return
		}
		fmt.Fprint(w, "ratings")
	}
	m.apply(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings, namespace: default}
spec:
  hosts: [ratings]
  http:
  - match: [{uri: {prefix: /slow}}]
    timeout: 200ms
    route: [{destination: {host: ratings}}]
  - match: [{uri: {prefix: /flaky}}]
    retries: {attempts: 2, retryOn: 5xx}
    route: [{destination: {host: ratings}}]
  - match: [{uri: {prefix: /no-retry}}]
    retries: {attempts: 0}
    route: [{destination: {host: ratings}}]
  - route: [{destination: {host: ratings}}]`, `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: httpbin, namespace: default}
spec:
  hosts: [httpbin]
  http:
  - match: [{uri: {exact: /old}}]
    redirect: {uri: /new, authority: elsewhere.example, redirectCode: 302}
  - match: [{uri: {prefix: /to-port}}]
    redirect: {derivePort: FROM_REQUEST_PORT, scheme: https}
  - match: [{uri: {exact: /teapot}}]
    directResponse: {status: 418, body: {string: short and stout}}
  - match: [{uri: {prefix: /api/v1}}]
    rewrite: {uri: /v2, authority: api.internal}
    route: [{destination: {host: httpbin, subset: v2}}]
  - match: [{uri: {prefix: /cors}}]
    corsPolicy:
      allowOrigins: [{exact: "https://example.com"}]
      allowMethods: [GET]
      maxAge: 1h
    route: [{destination: {host: httpbin, subset: v1}}]
  - match: [{withoutHeaders: {x-canary: {exact: "yes"}}}]
    headers:
      request: {set: {x-route: stable}, remove: [x-drop]}
      response: {add: {x-served-by: mesh}}
    route:
    - destination: {host: httpbin, subset: v1}
      headers: {request: {set: {host: v1.internal}}}
  - route: [{destination: {host: httpbin, subset: v2}}]`)

	t.Run("timeout", func(t *testing.T) {
		if r := m.do("GET", "http://ratings:9080/slow"); r.code != 504 || r.body != "upstream request timeout" {
			t.Errorf("got %d %q", r.code, r.body)
		}
	})
	t.Run("retries", func(t *testing.T) {
		if r := m.do("GET", "http://ratings:9080/flaky"); r.code != 200 || attempts != 2 {
			t.Errorf("got %d after %d attempts", r.code, attempts)
		}
	})
	t.Run("redirect", func(t *testing.T) {
		r := m.do("GET", "http://httpbin:8000/old?q=1")
		if r.code != 302 || r.header.Get("Location") != "http://elsewhere.example/new?q=1" {
			t.Errorf("got %d %q", r.code, r.header.Get("Location"))
		}
		r = m.do("GET", "http://httpbin:8000/to-port/x")
		if r.code != 301 || r.header.Get("Location") != "https://httpbin:8000/to-port/x" {
			t.Errorf("derivePort: got %d %q", r.code, r.header.Get("Location"))
		}
	})
	t.Run("direct response", func(t *testing.T) {
		if r := m.do("GET", "http://httpbin:8000/teapot"); r.code != 418 || r.body != "short and stout" {
			t.Errorf("got %d %q", r.code, r.body)
		}
	})
	t.Run("rewrite", func(t *testing.T) {
		r := m.do("GET", "http://httpbin:8000/api/v1/items?x=1")
		if r.header.Get("X-Backend") != "v2" || r.header.Get("X-Seen-Path") != "/v2/items?x=1" || r.header.Get("X-Seen-Host") != "api.internal" {
			t.Errorf("backend %s saw path %q host %q", r.header.Get("X-Backend"), r.header.Get("X-Seen-Path"), r.header.Get("X-Seen-Host"))
		}
	})
	t.Run("cors", func(t *testing.T) {
		r := m.do("OPTIONS", "http://httpbin:8000/cors", "Origin", "https://example.com", "Access-Control-Request-Method", "GET")
		if r.code != 200 || r.header.Get("Access-Control-Allow-Origin") != "https://example.com" ||
			r.header.Get("Access-Control-Max-Age") != "3600" || r.header.Get("X-Backend") != "" {
			t.Errorf("preflight: %d %v", r.code, r.header)
		}
	})
	t.Run("headers and withoutHeaders", func(t *testing.T) {
		r := m.do("GET", "http://httpbin:8000/h", "X-Drop", "secret")
		if r.header.Get("X-Backend") != "v1" || r.header.Get("X-Served-By") != "mesh" || r.header.Get("X-Seen-Host") != "v1.internal" {
			t.Errorf("got backend %q %v", r.header.Get("X-Backend"), r.header)
		}
		seen := m.v1.received()
		last := seen[len(seen)-1]
		if last.Header.Get("X-Route") != "stable" || last.Header.Get("X-Drop") != "" {
			t.Errorf("upstream headers %v", last.Header)
		}
		if r := m.do("GET", "http://httpbin:8000/h", "X-Canary", "yes"); r.header.Get("X-Backend") != "v2" {
			t.Errorf("canary went to %q", r.header.Get("X-Backend"))
		}
	})
}
