package proxy_test

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	previousprioritiesv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/retry/priority/previous_priorities/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/lateenmesh/lateen/internal/proxy/proxytest"
)

// flaky is a backend whose first attempt of each request (by X-Test-Id)
// fails the way its path says; later attempts answer 200 "ok".
type flaky struct {
	mu       sync.Mutex
	attempts map[string]int
}

func (f *flaky) count(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts[id]
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("X-Test-Id")
	f.mu.Lock()
	f.attempts[id]++
	n := f.attempts[id]
	f.mu.Unlock()
	w.Header().Set("X-Attempt", r.Header.Get("X-Envoy-Attempt-Count"))
	mode := strings.TrimPrefix(r.URL.Path, "/")
	if n > 1 && !strings.HasPrefix(mode, "always") {
		w.Write([]byte("ok"))
		return
	}
	failWith(w, r, strings.TrimPrefix(mode, "always-"))
}

// failWith fails a request: "status-<code>", "grpc-<status>", "reset",
// "ratelimited", "header", "hang".
func failWith(w http.ResponseWriter, r *http.Request, mode string) {
	kind, arg, _ := strings.Cut(mode, "-")
	switch kind {
	case "status":
		code, _ := strconv.Atoi(arg)
		w.WriteHeader(code)
	case "grpc":
		w.Header().Set("Content-Type", "application/grpc")
		w.Header().Set("Grpc-Status", arg)
		w.WriteHeader(200)
	case "reset":
		if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
			c.Close()
		}
	case "ratelimited":
		w.Header().Set("X-Envoy-Ratelimited", "true")
		w.WriteHeader(429)
	case "header":
		w.Header().Set("X-Retry-Me", "1")
		w.WriteHeader(200)
	case "hang":
		<-r.Context().Done()
	}
}

func retryRoute(path, retryOn string, codes ...uint32) *routev3.Route {
	return forwardRoute(path, "c", func(a *routev3.RouteAction) {
		a.RetryPolicy = &routev3.RetryPolicy{RetryOn: retryOn, NumRetries: wrapperspb.UInt32(1), RetriableStatusCodes: codes}
	})
}

func TestRetryOnEachCondition(t *testing.T) {
	e := startProxy(t)
	fl := &flaky{attempts: map[string]int{}}
	backend := serve(t, fl)
	tests := []struct {
		path, retryOn string
		codes         []uint32
		retried       bool
	}{
		{"/status-500", "5xx", nil, true},
		{"/reset", "5xx", nil, true},
		{"/status-404", "5xx", nil, false},
		{"/status-502", "gateway-error", nil, true},
		{"/status-504", "gateway-error", nil, true},
		{"/status-500", "gateway-error", nil, false},
		{"/reset", "reset", nil, true},
		{"/status-503", "reset", nil, false},
		{"/reset", "connect-failure", nil, false},
		{"/status-409", "retriable-4xx", nil, true},
		{"/status-400", "retriable-4xx", nil, false},
		{"/status-418", "retriable-status-codes", []uint32{418}, true},
		{"/status-419", "retriable-status-codes", []uint32{418}, false},
		{"/grpc-14", "unavailable", nil, true},
		{"/grpc-1", "cancelled", nil, true},
		{"/grpc-4", "deadline-exceeded", nil, true},
		{"/grpc-8", "resource-exhausted", nil, true},
		{"/grpc-13", "internal", nil, true},
		{"/grpc-5", "unavailable", nil, false},
		{"/ratelimited", "envoy-ratelimited", nil, true},
		{"/status-429", "envoy-ratelimited", nil, false},
	}
	var routes []*routev3.Route
	for i, tt := range tests {
		// Each case gets its own route: /<i>/<mode>, prefix-rewritten to /<mode>.
		r := retryRoute(fmt.Sprintf("/%d/", i), tt.retryOn, tt.codes...)
		r.GetRoute().PrefixRewrite = "/"
		routes = append(routes, r)
	}
	addr := applySetup(t, e, "v1", routeSetup{clusters: map[string][]string{"c": {backend}}, routes: routes})
	c := client()
	for i, tt := range tests {
		t.Run(tt.retryOn+tt.path, func(t *testing.T) {
			id := strconv.Itoa(i)
			r := get(t, c, addr, "h", fmt.Sprintf("/%d%s", i, tt.path), "X-Test-Id", id)
			if got, want := fl.count(id), map[bool]int{true: 2, false: 1}[tt.retried]; got != want {
				t.Errorf("upstream saw %d attempts, want %d", got, want)
			}
			if tt.retried && (r.code != 200 || r.body != "ok") {
				t.Errorf("after the retry: %d %q", r.code, r.body)
			}
		})
	}
	if got := e.stat("cluster.c.upstream_rq_retry_success"); got < 10 {
		t.Errorf("upstream_rq_retry_success = %d", got)
	}
}

func TestRetryLimitBackoffAttemptCountAndPerTryTimeout(t *testing.T) {
	e := startProxy(t)
	fl := &flaky{attempts: map[string]int{}}
	backend := serve(t, fl)
	port := proxytest.FreePort(t)
	policy := func(perTry time.Duration) *routev3.RetryPolicy {
		p := &routev3.RetryPolicy{RetryOn: "5xx", NumRetries: wrapperspb.UInt32(2),
			RetryBackOff: &routev3.RetryPolicy_RetryBackOff{BaseInterval: dur(10 * time.Millisecond)}}
		if perTry > 0 {
			p.PerTryTimeout = dur(perTry)
		}
		return p
	}
	vh := proxytest.VirtualHost("vh", []string{"*"},
		forwardRoute("/hang", "c", func(a *routev3.RouteAction) { a.RetryPolicy = policy(200 * time.Millisecond) }),
		forwardRoute("/always-hang", "c", func(a *routev3.RouteAction) { a.RetryPolicy = policy(200 * time.Millisecond) }),
		forwardRoute("/", "c", func(a *routev3.RouteAction) { a.RetryPolicy = policy(0) }))
	vh.IncludeRequestAttemptCount = true
	e.apply(t, "v1", proxytest.Resources{
		Clusters:  []types.Resource{proxytest.EDSCluster("c")},
		Endpoints: []types.Resource{proxytest.CLA("c", backend)},
		Listeners: []types.Resource{proxytest.Listener("l", "0.0.0.0", port, filterHCM("l", "r", false))},
		Routes:    []types.Resource{proxytest.RouteConfig("r", vh)},
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)

	r := get(t, client(), addr, "h", "/always-status-503", "X-Test-Id", "limit")
	if r.code != 503 || fl.count("limit") != 3 || r.header.Get("X-Attempt") != "3" {
		t.Errorf("exhausted retries: %d after %d attempts (last x-envoy-attempt-count %q), want 503 after 3",
			r.code, fl.count("limit"), r.header.Get("X-Attempt"))
	}
	if got := e.stat("cluster.c.upstream_rq_retry_limit_exceeded"); got != 1 {
		t.Errorf("upstream_rq_retry_limit_exceeded = %d, want 1", got)
	}
	if got := e.stat("cluster.c.upstream_rq_retry_backoff_exponential"); got != 2 {
		t.Errorf("upstream_rq_retry_backoff_exponential = %d, want 2", got)
	}
	r = get(t, client(), addr, "h", "/hang", "X-Test-Id", "per-try")
	if r.code != 200 || r.body != "ok" || r.header.Get("X-Attempt") != "2" {
		t.Errorf("per-try timeout then retry: %d %q attempt %q", r.code, r.body, r.header.Get("X-Attempt"))
	}
	if got := e.stat("cluster.c.upstream_rq_per_try_timeout"); got != 1 {
		t.Errorf("upstream_rq_per_try_timeout = %d, want 1", got)
	}
	r = get(t, client(), addr, "h", "/always-hang", "X-Test-Id", "per-try-exhausted")
	if r.code != 504 || r.body != "upstream request timeout" || fl.count("per-try-exhausted") != 3 {
		t.Errorf("every attempt timing out: %d %q after %d attempts", r.code, r.body, fl.count("per-try-exhausted"))
	}
}

func TestRouteTimeoutsAndHeaderOverride(t *testing.T) {
	e := startProxy(t)
	backend := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, h := range []string{"X-Envoy-Upstream-Rq-Timeout-Ms", "X-Envoy-Expected-Rq-Timeout-Ms", "X-Envoy-Internal", "Grpc-Timeout"} {
			w.Header().Set("Seen-"+h, r.Header.Get(h))
		}
		if strings.HasPrefix(r.URL.Path, "/hang") || r.Header.Get("X-Hang") != "" {
			<-r.Context().Done()
			return
		}
		w.Write([]byte("ok"))
	}))
	zero := dur(0)
	routes := []*routev3.Route{
		forwardRoute("/hang-timeout", "c", func(a *routev3.RouteAction) { a.Timeout = dur(200 * time.Millisecond) }),
		forwardRoute("/hang-stream", "c", func(a *routev3.RouteAction) {
			a.MaxStreamDuration = &routev3.RouteAction_MaxStreamDuration{MaxStreamDuration: dur(200 * time.Millisecond)}
		}),
		forwardRoute("/grpc", "c", func(a *routev3.RouteAction) { a.MaxGrpcTimeout = zero }),
		forwardRoute("/", "c", nil), // timeout 0: none
	}
	internal := applySetup(t, e, "v1", routeSetup{clusters: map[string][]string{"c": {backend}}, useRemote: true, routes: routes})
	c := client()

	t.Run("route timeout", func(t *testing.T) {
		start := time.Now()
		r := get(t, c, internal, "h", "/hang-timeout")
		if r.code != 504 || r.body != "upstream request timeout" {
			t.Errorf("got %d %q", r.code, r.body)
		}
		if took := time.Since(start); took < 200*time.Millisecond {
			t.Errorf("timed out after %s", took)
		}
		if got := e.stat("cluster.c.upstream_rq_timeout"); got != 1 {
			t.Errorf("upstream_rq_timeout = %d, want 1", got)
		}
	})
	t.Run("gRPC route timeout", func(t *testing.T) {
		r := do(t, h2cClient(), grpcRequest(t, internal, "/hang-timeout"))
		if r.code != 200 || r.header.Get("Grpc-Status") != "14" || r.header.Get("Grpc-Message") != "upstream request timeout" {
			t.Errorf("got %d %v", r.code, r.header)
		}
	})
	t.Run("max stream duration", func(t *testing.T) {
		if r := get(t, c, internal, "h", "/hang-stream"); r.code != 408 || r.body != "downstream duration timeout" {
			t.Errorf("got %d %q", r.code, r.body)
		}
		if r := do(t, h2cClient(), grpcRequest(t, internal, "/hang-stream")); r.header.Get("Grpc-Status") != "4" {
			t.Errorf("gRPC: grpc-status %q, want 4 (deadline exceeded)", r.header.Get("Grpc-Status"))
		}
	})
	t.Run("internal request header override", func(t *testing.T) {
		r := get(t, c, internal, "h", "/", "X-Envoy-Upstream-Rq-Timeout-Ms", "150", "X-Hang", "1")
		if r.code != 504 {
			t.Errorf("got %d, want 504 after the header's 150ms", r.code)
		}
		r = get(t, c, internal, "h", "/", "X-Envoy-Upstream-Rq-Timeout-Ms", "5000")
		if r.header.Get("Seen-X-Envoy-Upstream-Rq-Timeout-Ms") != "" || r.header.Get("Seen-X-Envoy-Expected-Rq-Timeout-Ms") != "5000" ||
			r.header.Get("Seen-X-Envoy-Internal") != "true" {
			t.Errorf("upstream saw %v", r.header)
		}
	})
	t.Run("grpc-timeout under max_grpc_timeout", func(t *testing.T) {
		start := time.Now()
		r := do(t, h2cClient(), grpcRequest(t, internal, "/grpc", "Grpc-Timeout", "150m", "X-Hang", "1"))
		if r.header.Get("Grpc-Status") != "14" || time.Since(start) < 150*time.Millisecond {
			t.Errorf("got %d %v after %s", r.code, r.header, time.Since(start))
		}
		r = do(t, h2cClient(), grpcRequest(t, internal, "/grpc", "Grpc-Timeout", "3S"))
		if r.header.Get("Seen-Grpc-Timeout") != "3000m" || r.header.Get("Seen-X-Envoy-Expected-Rq-Timeout-Ms") != "3000" {
			t.Errorf("upstream saw grpc-timeout %q expected %q", r.header.Get("Seen-Grpc-Timeout"),
				r.header.Get("Seen-X-Envoy-Expected-Rq-Timeout-Ms"))
		}
	})
	t.Run("external request: header removed", func(t *testing.T) {
		external := applySetup(t, e, "v2", routeSetup{clusters: map[string][]string{"c": {backend}}, routes: routes})
		r := get(t, c, external, "h", "/", "X-Envoy-Upstream-Rq-Timeout-Ms", "1", "X-Envoy-Internal", "true")
		if r.code != 200 || r.header.Get("Seen-X-Envoy-Upstream-Rq-Timeout-Ms") != "" || r.header.Get("Seen-X-Envoy-Internal") != "" {
			t.Errorf("got %d, upstream saw %v", r.code, r.header)
		}
	})
}

func TestRetryInternalRequestHeaders(t *testing.T) {
	e := startProxy(t)
	fl := &flaky{attempts: map[string]int{}}
	backend := serve(t, fl)
	routes := []*routev3.Route{forwardRoute("/", "c", nil)} // no retry policy
	internal := applySetup(t, e, "v1", routeSetup{clusters: map[string][]string{"c": {backend}}, useRemote: true, routes: routes})
	r := get(t, client(), internal, "h", "/status-503", "X-Test-Id", "in", "X-Envoy-Retry-On", "5xx", "X-Envoy-Max-Retries", "1")
	if r.code != 200 || fl.count("in") != 2 {
		t.Errorf("internal request with x-envoy-retry-on: %d after %d attempts", r.code, fl.count("in"))
	}
	external := applySetup(t, e, "v2", routeSetup{clusters: map[string][]string{"c": {backend}}, routes: routes})
	r = get(t, client(), external, "h", "/status-503", "X-Test-Id", "ex", "X-Envoy-Retry-On", "5xx")
	if r.code != 503 || fl.count("ex") != 1 {
		t.Errorf("external request with x-envoy-retry-on: %d after %d attempts", r.code, fl.count("ex"))
	}
}

// priorityCLA puts each address in its own priority level (0, 1, ...).
func priorityCLA(name string, addrs ...string) *endpointv3.ClusterLoadAssignment {
	cla := &endpointv3.ClusterLoadAssignment{ClusterName: name}
	for i, a := range addrs {
		host, port, _ := net.SplitHostPort(a)
		p, _ := strconv.Atoi(port)
		cla.Endpoints = append(cla.Endpoints, &endpointv3.LocalityLbEndpoints{
			Locality: &corev3.Locality{Region: fmt.Sprintf("r%d", i)}, Priority: uint32(i),
			LbEndpoints: []*endpointv3.LbEndpoint{{HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
				Address: &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
					Address: host, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: uint32(p)}}}}}}}},
		})
	}
	return cla
}

func TestRetryPreviousPriorities(t *testing.T) {
	e := startProxy(t)
	local := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	remote := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("remote")) }))
	priorities := &routev3.RetryPolicy_RetryPriority{Name: "envoy.retry_priorities.previous_priorities",
		ConfigType: &routev3.RetryPolicy_RetryPriority_TypedConfig{
			TypedConfig: proxytest.Any(&previousprioritiesv3.PreviousPrioritiesConfig{UpdateFrequency: 2})}}
	port := proxytest.FreePort(t)
	route := func(path string, prio *routev3.RetryPolicy_RetryPriority) *routev3.Route {
		return forwardRoute(path, "c", func(a *routev3.RouteAction) {
			a.RetryPolicy = &routev3.RetryPolicy{RetryOn: "5xx", NumRetries: wrapperspb.UInt32(2), RetryPriority: prio}
		})
	}
	e.apply(t, "v1", proxytest.Resources{
		Clusters:  []types.Resource{proxytest.EDSCluster("c")},
		Endpoints: []types.Resource{priorityCLA("c", local, remote)},
		Listeners: []types.Resource{proxytest.Listener("l", "0.0.0.0", port, filterHCM("l", "r", false))},
		Routes: []types.Resource{proxytest.RouteConfig("r", proxytest.VirtualHost("vh", []string{"*"},
			route("/other-priorities", priorities), route("/", nil)))},
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	// Update frequency 2: two attempts on priority 0, then it is excluded.
	if r := get(t, client(), addr, "h", "/other-priorities"); r.code != 200 || r.body != "remote" {
		t.Errorf("with previous_priorities: %d %q, want the priority 1 endpoint", r.code, r.body)
	}
	if r := get(t, client(), addr, "h", "/"); r.code != 503 {
		t.Errorf("without: %d, want every attempt on priority 0 (503)", r.code)
	}
}
