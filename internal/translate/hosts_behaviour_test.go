package translate_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lateenmesh/lateen/internal/mesh"
	"github.com/lateenmesh/lateen/internal/proxy/proxytest"
)

// These tests run the translator's output through a real lateen-proxy and
// check, with real requests, which backend answers a Host header: the
// control plane's host, binding and merging rules as the data plane sees
// them.

// backends starts one HTTP server per name, each answering its name in
// X-Backend; it returns name → port.
func backends(t *testing.T, names ...string) map[string]string {
	ports := map[string]string{}
	for _, n := range names {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Backend", n)
			w.Header().Set("X-Seen-Host", r.Host)
		}))
		t.Cleanup(srv.Close)
		_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
		ports[n] = port
	}
	return ports
}

// serviceEntry is a ServiceEntry whose every port reaches backend port bp
// on 127.0.0.1.
func serviceEntry(ns, name, host, addresses, bp string, ports ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: %s, namespace: %s}\n", name, ns)
	fmt.Fprintf(&b, "spec:\n  hosts: [%s]\n  addresses: [%s]\n  location: MESH_INTERNAL\n  resolution: STATIC\n  ports:\n", host, addresses)
	epPorts := []string{}
	for _, p := range ports {
		fmt.Fprintf(&b, "  - {name: http-%s, number: %s, protocol: HTTP}\n", p, p)
		epPorts = append(epPorts, fmt.Sprintf("http-%s: %s", p, bp))
	}
	fmt.Fprintf(&b, "  endpoints:\n  - address: 127.0.0.1\n    ports: {%s}\n", strings.Join(epPorts, ", "))
	return b.String()
}

// call sends GET path to addr with a Host header and returns the status
// and the answering backend.
func call(t *testing.T, c *http.Client, addr, host, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s (Host %s): %v", path, host, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Backend")
}

type hostCase struct {
	host, path string
	code       int
	backend    string
}

func checkHosts(t *testing.T, addr string, cases []hostCase) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	for _, tc := range cases {
		path := tc.path
		if path == "" {
			path = "/"
		}
		code, backend := call(t, c, addr, tc.host, path)
		if code != tc.code || backend != tc.backend {
			t.Errorf("Host %q %s: got %d from %q, want %d from %q", tc.host, path, code, backend, tc.code, tc.backend)
		}
	}
}

func TestSidecarHostsThroughProxy(t *testing.T) {
	b := backends(t, "reviews", "ratings", "api", "ext", "legacy")
	m := startMeshProxy(t, mesh.Sidecar, "default", map[string]string{"app": "sleep"})
	m.apply(t, "v1",
		serviceEntry("default", "reviews", "reviews.default.svc.cluster.local", "10.96.0.10", b["reviews"], "9080", "80"),
		serviceEntry("other", "ratings", "ratings.other.svc.cluster.local", "10.96.0.11", b["ratings"], "9080"),
		serviceEntry("default", "api", "api.example.com", "10.96.0.12", b["api"], "80"),
		serviceEntry("default", "ext", "ext-backend.default.svc.cluster.local", "10.96.0.13", b["ext"], "8000"),
		serviceEntry("default", "legacy", "reviews.default", "10.96.0.14", b["legacy"], "9080"),
		// Unknown hosts get 502 (block_all) rather than a passthrough attempt.
		`apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: default}
spec:
  outboundTrafficPolicy: {mode: REGISTRY_ONLY}`,
		`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: wild, namespace: default}
spec:
  hosts: ["*.example.com"]
  http:
  - route:
    - destination: {host: api.example.com}`,
		`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: outside, namespace: default}
spec:
  hosts: [ext.example.org, "*.internal.example.net"]
  http:
  - route:
    - destination: {host: ext-backend}`,
	)
	addr := m.httpProxyAddr()
	checkHosts(t, addr, []hostCase{
		{host: "reviews.default.svc.cluster.local:9080", code: 200, backend: "reviews"},
		{host: "reviews:9080", code: 200, backend: "reviews"},
		{host: "reviews.default.svc:9080", code: 200, backend: "reviews"},
		{host: "10.96.0.10:9080", code: 200, backend: "reviews"},
		{host: "reviews", code: 200, backend: "reviews"},    // port 80, omitted
		{host: "reviews:80", code: 200, backend: "reviews"}, // port 80, written
		{host: "reviews.default.svc.cluster.local", code: 200, backend: "reviews"},
		{host: "reviews:8080", code: 502},                               // no such port: block_all
		{host: "reviews.default:9080", code: 200, backend: "legacy"},    // a service's full name beats a short form
		{host: "ratings.other:9080", code: 200, backend: "ratings"},     // short form from another namespace
		{host: "ratings.other.svc:9080", code: 200, backend: "ratings"}, // short form from another namespace
		{host: "ratings:9080", code: 502},                               // the bare name only within its namespace
		{host: "api.example.com", code: 200, backend: "api"},            // wildcard VirtualService binds the service
		{host: "API.Example.COM:80", code: 200, backend: "api"},         // host names are case-insensitive
		{host: "ext.example.org", code: 200, backend: "ext"},            // a VirtualService host without a service, port 80
		{host: "ext.example.org:80", code: 200, backend: "ext"},
		{host: "ext.example.org:8000", code: 502},                    // only port 80 and its services' ports
		{host: "db.internal.example.net", code: 200, backend: "ext"}, // a wildcard host covering no service
		{host: "unknown.example.org", code: 502},
	})

	// As an HTTP proxy (capture NONE), with absolute-form request URIs.
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: addr})}}
	for target, want := range map[string]string{"http://reviews:9080/x": "reviews", "http://reviews/x": "reviews", "http://ext.example.org/": "ext"} {
		resp, err := c.Get(target)
		if err != nil {
			t.Fatalf("GET %s via proxy: %v", target, err)
		}
		_ = resp.Body.Close()
		if got := resp.Header.Get("X-Backend"); resp.StatusCode != 200 || got != want {
			t.Errorf("GET %s via proxy: %d from %q, want 200 from %q", target, resp.StatusCode, got, want)
		}
	}
}

func TestSidecarBindingAndDelegationThroughProxy(t *testing.T) {
	b := backends(t, "v1", "v2", "v3", "ratings")
	m := startMeshProxy(t, mesh.Sidecar, "default", map[string]string{"app": "sleep"})
	route := func(ns, name, extra, backend string) string {
		return fmt.Sprintf("apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: %s, namespace: %s}\nspec:\n"+
			"  hosts: [reviews.default.svc.cluster.local]\n%s  http:\n  - route:\n    - destination: {host: %s.default.svc.cluster.local}\n",
			name, ns, extra, backend)
	}
	services := []string{
		serviceEntry("default", "reviews", "reviews.default.svc.cluster.local", "10.96.1.1", b["v1"], "9080"),
		serviceEntry("default", "v1", "v1.default.svc.cluster.local", "10.96.1.2", b["v1"], "9080"),
		serviceEntry("default", "v2", "v2.default.svc.cluster.local", "10.96.1.3", b["v2"], "9080"),
		serviceEntry("default", "v3", "v3.default.svc.cluster.local", "10.96.1.4", b["v3"], "9080"),
		serviceEntry("back", "ratings", "ratings.back.svc.cluster.local", "10.96.1.5", b["ratings"], "9080"),
	}
	// The oldest public VirtualService wins on sidecars; the newer is shadowed.
	view := m.apply(t, "v1", append(services, route("team-a", "oldest", "", "v2"), route("team-b", "newer", "", "v3"))...)
	addr := m.httpProxyAddr()
	checkHosts(t, addr, []hostCase{{host: "reviews:9080", code: 200, backend: "v2"}})
	if len(view.Ignored) != 1 || view.Ignored[0].Object.Name != "newer" {
		t.Errorf("ignored %v, want team-b/newer shadowed", view.Ignored)
	}

	// A VirtualService of the proxy's own namespace exported "." wins.
	m.apply(t, "v2", append(services, route("team-a", "oldest", "", "v2"), route("default", "local", "  exportTo: [.]\n", "v3"))...)
	checkHosts(t, addr, []hostCase{{host: "reviews:9080", code: 200, backend: "v3"}})

	// Delegation: the root's /reviews routes come from a delegate in another
	// namespace, whose short names resolve there.
	m.apply(t, "v3", append(services, `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: root, namespace: default}
spec:
  hosts: [reviews]
  http:
  - match:
    - uri: {prefix: /reviews}
    delegate: {name: reviews-routes, namespace: back}
  - route:
    - destination: {host: v1}`, `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews-routes, namespace: back}
spec:
  http:
  - match:
    - headers: {end-user: {exact: jason}}
    route:
    - destination: {host: v2.default.svc.cluster.local}
  - match:
    - uri: {prefix: /other}
    route:
    - destination: {host: v3.default.svc.cluster.local}
  - route:
    - destination: {host: ratings}`)...)
	c := &http.Client{Timeout: 10 * time.Second}
	for _, tc := range []struct {
		path, user, want string
	}{
		{"/reviews/1", "jason", "v2"},
		{"/reviews/1", "", "ratings"}, // the delegate's "ratings" is ratings.back
		{"/other", "", "v1"},          // /other does not fit under /reviews: dropped
		{"/", "jason", "v1"},
	} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+tc.path, nil)
		req.Host = "reviews:9080"
		if tc.user != "" {
			req.Header.Set("end-user", tc.user)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if got := resp.Header.Get("X-Backend"); got != tc.want {
			t.Errorf("%s (end-user %q): backend %q, want %q", tc.path, tc.user, got, tc.want)
		}
	}
}

func TestGatewayMergingThroughProxy(t *testing.T) {
	b := backends(t, "productpage", "reviews", "ratings")
	port := proxytest.FreePort(t)
	m := startMeshProxy(t, mesh.Router, "istio-system", map[string]string{"istio": "ingressgateway"})
	m.apply(t, "v1",
		serviceEntry("default", "productpage", "productpage.default.svc.cluster.local", "10.96.2.1", b["productpage"], "9080"),
		serviceEntry("default", "reviews", "reviews.default.svc.cluster.local", "10.96.2.2", b["reviews"], "9080"),
		serviceEntry("default", "ratings", "ratings.default.svc.cluster.local", "10.96.2.3", b["ratings"], "9080"),
		fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: %d, name: http, protocol: HTTP}
    hosts: ["*.example.com"]`, port),
		`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop-a, namespace: default}
spec:
  hosts: [shop.example.com]
  gateways: [istio-system/gw]
  http:
  - match:
    - uri: {prefix: /productpage}
    route:
    - destination: {host: productpage}
  - route:
    - destination: {host: productpage}`,
		`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop-b, namespace: default}
spec:
  hosts: [shop.example.com]
  gateways: [istio-system/gw]
  http:
  - match:
    - uri: {prefix: /reviews}
    route:
    - destination: {host: reviews}
  - route:
    - destination: {host: ratings}`,
		`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: wild, namespace: default}
spec:
  hosts: ["*.example.com"]
  gateways: [istio-system/gw]
  http:
  - route:
    - destination: {host: ratings}`,
	)
	checkHosts(t, fmt.Sprintf("127.0.0.1:%d", port), []hostCase{
		{host: "shop.example.com", path: "/productpage", code: 200, backend: "productpage"},
		{host: "shop.example.com", path: "/reviews/1", code: 200, backend: "reviews"}, // merged from the newer one
		{host: "shop.example.com", path: "/", code: 200, backend: "productpage"},      // the older catch-all first
		{host: fmt.Sprintf("shop.example.com:%d", port), path: "/reviews", code: 200, backend: "reviews"},
		{host: "other.example.com", path: "/", code: 200, backend: "ratings"}, // wildcard host
		{host: "example.org", path: "/", code: 404},                           // no virtual host
	})
}
