package proxy_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/lateenmesh/lateen/internal/proxy/proxytest"
	"github.com/lateenmesh/lateen/internal/wait"
)

// These tests check DestinationRule-style cluster policies (load
// balancers, consistent hashing, slow start, circuit breakers, outlier
// detection) through a real proxy fed by a fake ADS server.

// tpBackend is an upstream that answers its name; it can be switched to
// fail with a status, and counts what it served.
type tpBackend struct {
	name   string
	addr   string
	status atomic.Int32 // 0: 200
	served atomic.Int64
}

func tpBackends(t *testing.T, n int) []*tpBackend {
	t.Helper()
	var out []*tpBackend
	for i := range n {
		b := &tpBackend{name: fmt.Sprintf("b%d", i)}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b.served.Add(1)
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("X-Backend", b.name)
			if code := b.status.Load(); code != 0 {
				w.WriteHeader(int(code))
			}
			fmt.Fprint(w, b.name)
		}))
		t.Cleanup(srv.Close)
		b.addr = srv.Listener.Addr().String()
		out = append(out, b)
	}
	return out
}

func tpAddrs(bs []*tpBackend) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.addr
	}
	return out
}

// tpRig is a proxy with one listener on a fixed port whose route sends
// everything to cluster "c".
type tpRig struct {
	e       *env
	addr    string
	port    uint32
	version int
}

func newRig(t *testing.T) *tpRig {
	port := proxytest.FreePort(t)
	return &tpRig{e: startProxy(t), port: port, addr: fmt.Sprintf("127.0.0.1:%d", port)}
}

// apply publishes cluster c with its endpoints and routes (nil: one route
// forwarding "/" to c), and waits until the proxy ACKed it.
func (r *tpRig) apply(t *testing.T, c *clusterv3.Cluster, cla *endpointv3.ClusterLoadAssignment, routes ...*routev3.Route) {
	t.Helper()
	if len(routes) == 0 {
		routes = []*routev3.Route{proxytest.PrefixRoute("/", "c")}
	}
	r.version++
	r.e.apply(t, fmt.Sprintf("v%d", r.version), proxytest.Resources{
		Clusters:  []types.Resource{c},
		Endpoints: []types.Resource{cla},
		Listeners: []types.Resource{proxytest.HTTPListener("l", "0.0.0.0", r.port, "r")},
		Routes:    []types.Resource{proxytest.RouteConfig("r", proxytest.VirtualHost("vh", []string{"*"}, routes...))},
	})
}

// tpCluster is EDS cluster "c" with an lb_policy.
func tpCluster(policy clusterv3.Cluster_LbPolicy) *clusterv3.Cluster {
	c := proxytest.EDSCluster("c")
	c.LbPolicy = policy
	return c
}

// hashRoute forwards a path prefix to c with one hash policy.
func hashRoute(prefix string, hp *routev3.RouteAction_HashPolicy) *routev3.Route {
	r := proxytest.PrefixRoute(prefix, "c")
	r.GetRoute().HashPolicy = []*routev3.RouteAction_HashPolicy{hp}
	return r
}

// tpGet sends a request and returns the status, body and headers.
func tpGet(t *testing.T, c *http.Client, addr, path string, hdr ...string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

func tally(t *testing.T, c *http.Client, addr string, n int) map[string]int {
	t.Helper()
	out := map[string]int{}
	for range n {
		code, body, _ := tpGet(t, c, addr, "/")
		if code != 200 {
			t.Fatalf("status %d %q", code, body)
		}
		out[body]++
	}
	return out
}

func TestLoadBalancerPoliciesThroughProxy(t *testing.T) {
	rig := newRig(t)
	bs := tpBackends(t, 3)
	c := client()
	t.Run("ROUND_ROBIN weighted is exact", func(t *testing.T) {
		rig.apply(t, tpCluster(clusterv3.Cluster_ROUND_ROBIN), proxytest.WeightedCLA("c", tpAddrs(bs), []uint32{1, 2, 3}))
		got := tally(t, c, rig.addr, 600)
		if got["b0"] != 100 || got["b1"] != 200 || got["b2"] != 300 {
			t.Errorf("picks %v, want 100/200/300", got)
		}
	})
	for _, policy := range []clusterv3.Cluster_LbPolicy{clusterv3.Cluster_LEAST_REQUEST, clusterv3.Cluster_RANDOM,
		clusterv3.Cluster_RING_HASH, clusterv3.Cluster_MAGLEV} {
		t.Run(policy.String()+" spreads evenly", func(t *testing.T) {
			rig.apply(t, tpCluster(policy), proxytest.CLA("c", tpAddrs(bs)...))
			const n = 300
			got := tally(t, c, rig.addr, n)
			for _, b := range bs {
				if share := float64(got[b.name]) / n; share < 0.18 || share > 0.50 {
					t.Errorf("%s got %.2f of the requests: %v", b.name, share, got)
				}
			}
		})
	}
}

func TestConsistentHashIsSticky(t *testing.T) {
	rig := newRig(t)
	bs := tpBackends(t, 4)
	routes := []*routev3.Route{
		hashRoute("/header", &routev3.RouteAction_HashPolicy{PolicySpecifier: &routev3.RouteAction_HashPolicy_Header_{
			Header: &routev3.RouteAction_HashPolicy_Header{HeaderName: "x-user"}}}),
		hashRoute("/query", &routev3.RouteAction_HashPolicy{PolicySpecifier: &routev3.RouteAction_HashPolicy_QueryParameter_{
			QueryParameter: &routev3.RouteAction_HashPolicy_QueryParameter{Name: "user"}}}),
		hashRoute("/source", &routev3.RouteAction_HashPolicy{PolicySpecifier: &routev3.RouteAction_HashPolicy_ConnectionProperties_{
			ConnectionProperties: &routev3.RouteAction_HashPolicy_ConnectionProperties{SourceIp: true}}}),
		hashRoute("/cookie", &routev3.RouteAction_HashPolicy{PolicySpecifier: &routev3.RouteAction_HashPolicy_Cookie_{
			Cookie: &routev3.RouteAction_HashPolicy_Cookie{Name: "sticky", Path: "/", Ttl: durationpb.New(30 * time.Second)}}}),
	}
	for _, policy := range []clusterv3.Cluster_LbPolicy{clusterv3.Cluster_RING_HASH, clusterv3.Cluster_MAGLEV} {
		t.Run(policy.String(), func(t *testing.T) {
			rig.apply(t, tpCluster(policy), proxytest.CLA("c", tpAddrs(bs)...), routes...)
			c := client()
			sticky(t, "header", func(key string) string {
				_, body, _ := tpGet(t, c, rig.addr, "/header", "X-User", key)
				return body
			})
			sticky(t, "query", func(key string) string {
				_, body, _ := tpGet(t, c, rig.addr, "/query?user="+key+"&other=1")
				return body
			})
			sticky(t, "source ip", func(key string) string {
				_, body, _ := tpGet(t, fromIP(key), rig.addr, "/source")
				return body
			})
			stickyCookie(t, rig.addr)
		})
	}
}

// sticky checks that requests with one key always reach one backend, and
// that keys spread over several backends.
func sticky(t *testing.T, what string, send func(key string) string) {
	t.Helper()
	seen := map[string]bool{}
	for i := range 16 {
		key := fmt.Sprintf("%d", i+2)
		first := send(key)
		for range 3 {
			if again := send(key); again != first {
				t.Fatalf("%s %s: %s then %s", what, key, first, again)
			}
		}
		seen[first] = true
	}
	if len(seen) < 2 {
		t.Errorf("%s: 16 keys all reached %v", what, seen)
	}
}

// fromIP returns a client whose connections come from 127.0.0.<last>.
func fromIP(last string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0." + last)}}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
}

var setCookie = regexp.MustCompile(`^sticky="([0-9a-f]{16})"; Max-Age=30; Path=/; HttpOnly$`)

// stickyCookie checks cookie generation: a request without the cookie gets
// one (per downstream connection) and requests carrying it stay on one
// backend.
func stickyCookie(t *testing.T, addr string) {
	t.Helper()
	seen := map[string]bool{}
	for range 8 {
		c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		_, first, hdr := tpGet(t, c, addr, "/cookie")
		m := setCookie.FindStringSubmatch(hdr.Get("Set-Cookie"))
		if m == nil {
			t.Fatalf("Set-Cookie %q, want a generated sticky cookie", hdr.Get("Set-Cookie"))
		}
		for range 3 {
			_, again, hdr := tpGet(t, c, addr, "/cookie", "Cookie", `sticky="`+m[1]+`"`)
			if again != first || hdr.Get("Set-Cookie") != "" {
				t.Fatalf("cookie %s: %s then %s (Set-Cookie %q)", m[1], first, again, hdr.Get("Set-Cookie"))
			}
		}
		seen[first] = true
	}
	if len(seen) < 2 {
		t.Errorf("cookie: 8 generated cookies all reached %v", seen)
	}
}

func TestSlowStartRampsUpANewEndpoint(t *testing.T) {
	rig := newRig(t)
	bs := tpBackends(t, 2)
	c := tpCluster(clusterv3.Cluster_ROUND_ROBIN)
	window := 3 * time.Second
	c.LbConfig = &clusterv3.Cluster_RoundRobinLbConfig_{RoundRobinLbConfig: &clusterv3.Cluster_RoundRobinLbConfig{
		SlowStartConfig: &clusterv3.Cluster_SlowStartConfig{SlowStartWindow: durationpb.New(window)}}}
	rig.apply(t, c, proxytest.CLA("c", bs[0].addr))
	joined := time.Now()
	cl := client()
	// b0 must leave its own slow start first (every host starts in it).
	wait.For(t, 2*window, "b0 to leave slow start", func() error {
		if time.Since(joined) < window {
			return fmt.Errorf("b0 joined %s ago", time.Since(joined))
		}
		return nil
	})
	rig.apply(t, c, proxytest.CLA("c", bs[0].addr, bs[1].addr))
	const n = 200
	// In its first second b1 weighs max(10%, 1s/3s) of b0: a quarter of
	// the requests.
	if share := float64(tally(t, cl, rig.addr, n)["b1"]) / n; share < 0.10 || share > 0.38 {
		t.Errorf("new endpoint's share in its first second = %.2f, want about 0.25", share)
	}
	wait.For(t, 4*window, "b1 to get its full share", func() error {
		if share := float64(tally(t, cl, rig.addr, n)["b1"]) / n; share < 0.45 {
			return fmt.Errorf("share %.2f", share)
		}
		return nil
	})
}

// gated is an upstream that holds each request until released.
type gated struct {
	arrived chan struct{}
	release chan struct{}
}

func newGated(t *testing.T) (*gated, string) {
	g := &gated{arrived: make(chan struct{}, 16), release: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.arrived <- struct{}{}
		<-g.release
		fmt.Fprint(w, "done")
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(g.open)
	return g, srv.Listener.Addr().String()
}

func (g *gated) open() {
	select {
	case <-g.release:
	default:
		close(g.release)
	}
}

func thresholds(c *clusterv3.Cluster, t *clusterv3.CircuitBreakers_Thresholds) *clusterv3.Cluster {
	t.TrackRemaining = true
	c.CircuitBreakers = &clusterv3.CircuitBreakers{Thresholds: []*clusterv3.CircuitBreakers_Thresholds{t}}
	return c
}

type reply struct {
	code int
	body string
}

func goGet(t *testing.T, addr string) chan reply {
	out := make(chan reply, 1)
	go func() {
		c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}}
		resp, err := c.Get("http://" + addr + "/")
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

const overflowBody = "upstream connect error or disconnect/reset before headers. reset reason: overflow"

// TestCircuitBreakerMaxConnectionsAndPending is Istio's circuit breaking
// task in small: maxConnections 1 and http1MaxPendingRequests 1 against
// three concurrent requests: one is served, one waits for the connection,
// one fails fast with 503 (flag UO).
func TestCircuitBreakerMaxConnectionsAndPending(t *testing.T) {
	rig := newRig(t)
	g, addr := newGated(t)
	rig.apply(t, thresholds(proxytest.EDSCluster("c"), &clusterv3.CircuitBreakers_Thresholds{
		MaxConnections: wrapperspb.UInt32(1), MaxPendingRequests: wrapperspb.UInt32(1)}), proxytest.CLA("c", addr))
	first := goGet(t, rig.addr)
	<-g.arrived
	second := goGet(t, rig.addr)
	wait.For(t, 10*time.Second, "a pending request", func() error {
		if n := rig.e.stat("cluster.c.upstream_rq_pending_active"); n != 1 {
			return fmt.Errorf("upstream_rq_pending_active = %d", n)
		}
		return nil
	})
	third := <-goGet(t, rig.addr)
	if third.code != 503 || third.body != overflowBody {
		t.Errorf("third request: %d %q, want 503 overflow", third.code, third.body)
	}
	if v := rig.e.stat("cluster.c.circuit_breakers.default.rq_pending_open"); v != 1 {
		t.Errorf("rq_pending_open = %d while the queue is full", v)
	}
	g.open()
	for i, ch := range []chan reply{first, second} {
		if r := <-ch; r.code != 200 || r.body != "done" {
			t.Errorf("request %d: %d %q", i+1, r.code, r.body)
		}
	}
	for stat, want := range map[string]int64{"upstream_rq_pending_overflow": 1, "upstream_cx_overflow": 1, "upstream_cx_total": 1,
		"upstream_rq_pending_total": 2, "circuit_breakers.default.remaining_cx": 0} {
		if got := rig.e.stat("cluster.c." + stat); got != want {
			t.Errorf("%s = %d, want %d", stat, got, want)
		}
	}
}

func TestCircuitBreakerMaxRequestsAndRetries(t *testing.T) {
	rig := newRig(t)
	g, addr := newGated(t)
	rig.apply(t, thresholds(proxytest.EDSCluster("c"), &clusterv3.CircuitBreakers_Thresholds{
		MaxRequests: wrapperspb.UInt32(1)}), proxytest.CLA("c", addr))
	first := goGet(t, rig.addr)
	<-g.arrived
	if r := <-goGet(t, rig.addr); r.code != 503 || r.body != overflowBody {
		t.Errorf("second concurrent request: %d %q, want 503 overflow", r.code, r.body)
	}
	g.open()
	if r := <-first; r.code != 200 {
		t.Errorf("first request: %d", r.code)
	}

	bs := tpBackends(t, 1)
	bs[0].status.Store(503)
	retry := proxytest.PrefixRoute("/", "c")
	retry.GetRoute().RetryPolicy = &routev3.RetryPolicy{RetryOn: "5xx", NumRetries: wrapperspb.UInt32(2)}
	rig.apply(t, thresholds(proxytest.EDSCluster("c"), &clusterv3.CircuitBreakers_Thresholds{
		MaxRetries: wrapperspb.UInt32(0)}), proxytest.CLA("c", bs[0].addr), retry)
	if code, _, _ := tpGet(t, client(), rig.addr, "/"); code != 503 || bs[0].served.Load() != 1 {
		t.Errorf("with max_retries 0: %d after %d attempts, want the upstream's 503 after 1", code, bs[0].served.Load())
	}
	if got := rig.e.stat("cluster.c.upstream_rq_retry_overflow"); got != 1 {
		t.Errorf("upstream_rq_retry_overflow = %d, want 1", got)
	}
}

func TestMaxRequestsPerConnection(t *testing.T) {
	rig := newRig(t)
	bs := tpBackends(t, 1)
	c := proxytest.EDSCluster("c")
	c.TypedExtensionProtocolOptions = map[string]*anypb.Any{
		"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": proxytest.Any(&httpv3.HttpProtocolOptions{
			CommonHttpProtocolOptions: &corev3.HttpProtocolOptions{MaxRequestsPerConnection: wrapperspb.UInt32(2)},
			UpstreamProtocolOptions: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
				ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_HttpProtocolOptions{HttpProtocolOptions: &corev3.Http1ProtocolOptions{}}}}}),
	}
	rig.apply(t, c, proxytest.CLA("c", bs[0].addr))
	tally(t, client(), rig.addr, 6)
	if got := rig.e.stat("cluster.c.upstream_cx_total"); got != 3 {
		t.Errorf("6 requests, 2 per connection: upstream_cx_total = %d, want 3", got)
	}
}

// outlierCluster ejects a host after one 5xx for a second; every host may
// be ejected and there is no panic mode (Istio's translation).
func outlierCluster() *clusterv3.Cluster {
	c := tpCluster(clusterv3.Cluster_ROUND_ROBIN)
	c.OutlierDetection = &clusterv3.OutlierDetection{
		Consecutive_5Xx: wrapperspb.UInt32(1), EnforcingConsecutive_5Xx: wrapperspb.UInt32(100),
		EnforcingSuccessRate: wrapperspb.UInt32(0), Interval: durationpb.New(time.Second),
		BaseEjectionTime: durationpb.New(time.Second), MaxEjectionPercent: wrapperspb.UInt32(100)}
	c.CommonLbConfig = &clusterv3.Cluster_CommonLbConfig{HealthyPanicThreshold: &typev3.Percent{Value: 0}}
	return c
}

func TestOutlierEjectionRecoveryAndNoHealthyUpstream(t *testing.T) {
	rig := newRig(t)
	bs := tpBackends(t, 2)
	rig.apply(t, outlierCluster(), proxytest.CLA("c", tpAddrs(bs)...))
	c := client()
	bs[0].status.Store(500)
	for range 2 { // round robin: one of these reaches b0, which answers 500
		tpGet(t, c, rig.addr, "/")
	}
	if got := rig.e.stat("cluster.c.outlier_detection.ejections_active"); got != 1 {
		t.Fatalf("ejections_active = %d after a 5xx, want 1", got)
	}
	served := bs[0].served.Load()
	for i := range 20 {
		if code, body, _ := tpGet(t, c, rig.addr, "/"); code != 200 || body != "b1" {
			t.Fatalf("request %d while b0 is ejected: %d %q", i, code, body)
		}
	}
	if bs[0].served.Load() != served {
		t.Error("the ejected host still received requests")
	}
	bs[0].status.Store(0)
	wait.For(t, 15*time.Second, "b0 back after its ejection time", func() error {
		tpGet(t, c, rig.addr, "/")
		if bs[0].served.Load() == served {
			return fmt.Errorf("b0 not picked yet")
		}
		return nil
	})
	if got := rig.e.stat("cluster.c.outlier_detection.ejections_active"); got != 0 {
		t.Errorf("ejections_active = %d after recovery", got)
	}
	// Every host failing: all ejected, then 503 no healthy upstream (UH).
	bs[0].status.Store(500)
	bs[1].status.Store(500)
	wait.For(t, 10*time.Second, "both hosts ejected", func() error {
		if code, body, _ := tpGet(t, c, rig.addr, "/"); code != 503 || body != "no healthy upstream" {
			return fmt.Errorf("got %d %q", code, body)
		}
		return nil
	})
	if got := rig.e.stat("cluster.c.upstream_cx_none_healthy"); got == 0 {
		t.Error("upstream_cx_none_healthy not counted")
	}
	if got := rig.e.stat("cluster.c.outlier_detection.ejections_enforced_consecutive_5xx"); got < 3 {
		t.Errorf("ejections_enforced_consecutive_5xx = %d, want 3", got)
	}
}

func TestMaxEjectionPercentKeepsHostsIn(t *testing.T) {
	rig := newRig(t)
	bs := tpBackends(t, 2)
	c := outlierCluster()
	c.OutlierDetection.MaxEjectionPercent = wrapperspb.UInt32(10) // Envoy's default: not even one of two hosts
	rig.apply(t, c, proxytest.CLA("c", tpAddrs(bs)...))
	bs[0].status.Store(500)
	cl := client()
	for range 6 {
		tpGet(t, cl, rig.addr, "/")
	}
	if got := rig.e.stat("cluster.c.outlier_detection.ejections_active"); got != 0 {
		t.Errorf("ejections_active = %d, want 0 (max_ejection_percent)", got)
	}
	if got := rig.e.stat("cluster.c.outlier_detection.ejections_overflow"); got == 0 {
		t.Error("ejections_overflow not counted")
	}
}
