package http

import (
	"errors"
	"io"
	nethttp "net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

func testRoute(m resource.RouteMatch, rd *resource.Redirect, a *resource.RouteAction) *route {
	return &route{cfg: &resource.Route{Match: m, Redirect: rd, Action: a}, vhost: &vhost{cfg: &resource.VirtualHost{}}}
}

func TestRedirectURL(t *testing.T) {
	prefix := resource.RouteMatch{Kind: resource.PathPrefix, Path: "/v1/"}
	regex := resource.RouteMatch{Kind: resource.PathRegex, Regex: regexp.MustCompile("^(?:/r/.*)$")}
	tests := []struct {
		name, host, target, xfp string
		match                   resource.RouteMatch
		rd                      resource.Redirect
		want                    string
	}{
		{"path keeps query", "h:8000", "/v1/a?x=1", "", prefix, resource.Redirect{Path: "/new"}, "http://h:8000/new?x=1"},
		{"path with query replaces it", "h", "/v1/a?x=1", "", prefix, resource.Redirect{Path: "/new?y=2", StripQuery: true}, "http://h/new?y=2"},
		{"strip query", "h", "/v1/a?x=1", "", prefix, resource.Redirect{Path: "/new", StripQuery: true}, "http://h/new"},
		{"prefix rewrite", "h", "/v1/a/b", "", prefix, resource.Redirect{Prefix: "/v2/", PrefixSet: true}, "http://h/v2/a/b"},
		{"prefix rewrite of a regex match replaces the path", "h", "/r/x", "", regex, resource.Redirect{Prefix: "/all", PrefixSet: true}, "http://h/all"},
		{"host redirect drops the request port", "h:8000", "/v1/", "", prefix, resource.Redirect{Host: "other"}, "http://other/v1/"},
		{"new port replaces the request's", "h:8000", "/v1/", "", prefix, resource.Redirect{Port: 9000}, "http://h:9000/v1/"},
		{"host and port", "h:8000", "/v1/", "", prefix, resource.Redirect{Host: "o:1", Port: 2}, "http://o:2/v1/"},
		{"https drops :80", "h:80", "/v1/", "", prefix, resource.Redirect{Scheme: "https"}, "https://h/v1/"},
		{"https keeps another port", "h:8080", "/v1/", "", prefix, resource.Redirect{Scheme: "https"}, "https://h:8080/v1/"},
		{"http from https drops :443", "h:443", "/v1/", "https", prefix, resource.Redirect{Scheme: "http"}, "http://h/v1/"},
		{"scheme from x-forwarded-proto", "h", "/v1/", "https", prefix, resource.Redirect{Host: "o"}, "https://o/v1/"},
		{"ipv6 host port", "[::1]:8000", "/v1/", "", prefix, resource.Redirect{Port: 9}, "http://[::1]:9/v1/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "http://"+tt.host+tt.target, nil)
			if tt.xfp != "" {
				r.Header.Set("X-Forwarded-Proto", tt.xfp)
			}
			rd := tt.rd
			if got := redirectURL(r, testRoute(tt.match, &rd, nil)); got != tt.want {
				t.Errorf("redirectURL = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRewritePath(t *testing.T) {
	tests := []struct {
		name   string
		match  resource.RouteMatch
		action resource.RouteAction
		target string
		want   string
	}{
		{"prefix", resource.RouteMatch{Kind: resource.PathPrefix, Path: "/api/v1"}, resource.RouteAction{PrefixRewrite: "/v2"}, "/api/v1/x?q=1", "/v2/x?q=1"},
		{"exact", resource.RouteMatch{Kind: resource.PathExact, Path: "/status"}, resource.RouteAction{PrefixRewrite: "/status/418"}, "/status", "/status/418"},
		{"regex match: whole path", resource.RouteMatch{Kind: resource.PathRegex, Regex: regexp.MustCompile(`^(?:/items/[0-9]+)$`)},
			resource.RouteAction{PrefixRewrite: "/all"}, "/items/42?x=y", "/all?x=y"},
		{"regex rewrite", resource.RouteMatch{Kind: resource.PathPrefix, Path: "/"},
			resource.RouteAction{RegexRewrite: &resource.RegexRewrite{Pattern: regexp.MustCompile(`^/items/([0-9]+)$`), Substitution: "/anything/${1}"}},
			"/items/7?z=1", "/anything/7?z=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "http://h"+tt.target, nil)
			a := tt.action
			rewritePath(r, testRoute(tt.match, nil, &a))
			if got := r.URL.RequestURI(); got != tt.want {
				t.Errorf("path %q, want %q", got, tt.want)
			}
			if got := r.Header.Get("X-Envoy-Original-Path"); got != tt.target {
				t.Errorf("x-envoy-original-path %q, want %q", got, tt.target)
			}
		})
	}
}

func TestShadowHost(t *testing.T) {
	for in, want := range map[string]string{
		"httpbin:8000": "httpbin-shadow:8000", "httpbin": "httpbin-shadow",
		"10.0.0.1:80": "10.0.0.1-shadow:80", "[::1]:8000": "[::1]-shadow:8000", "[::1]": "[::1]-shadow",
	} {
		if got := shadowHost(in); got != want {
			t.Errorf("shadowHost(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBackoffDelayIsEnvoysFullJitter(t *testing.T) {
	base, maxI := 25*time.Millisecond, 250*time.Millisecond
	for n, span := range map[int]time.Duration{1: 25 * time.Millisecond, 2: 75 * time.Millisecond, 3: 175 * time.Millisecond} {
		var longest time.Duration
		for range 500 {
			d := backoffDelay(base, maxI, n)
			if d < 0 || d >= span {
				t.Fatalf("retry %d: back-off %s outside [0, %s)", n, d, span)
			}
			longest = max(longest, d)
		}
		if longest < span/2 {
			t.Errorf("retry %d: longest of 500 back-offs %s, want jitter over [0, %s)", n, longest, span)
		}
	}
	for range 200 {
		if d := backoffDelay(base, maxI, 30); d > maxI {
			t.Fatalf("back-off %s above the maximum %s", d, maxI)
		}
	}
}

func TestComputeTimeouts(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	zero, two := time.Duration(0), 2*time.Second
	tests := []struct {
		name     string
		action   resource.RouteAction
		retry    *resource.RetryPolicy
		grpc     bool
		headers  map[string]string
		want     timeouts
		expected string // x-envoy-expected-rq-timeout-ms
		grpcTO   string // grpc-timeout upstream
	}{
		{name: "envoy default 15s", want: timeouts{global: 15 * time.Second}, expected: "15000"},
		{name: "route timeout 0 is none", action: resource.RouteAction{TimeoutSet: true}, want: timeouts{}},
		{name: "header override", action: resource.RouteAction{TimeoutSet: true},
			headers: map[string]string{"X-Envoy-Upstream-Rq-Timeout-Ms": "250"}, want: timeouts{global: ms(250)}, expected: "250"},
		{name: "per try below global", action: resource.RouteAction{Timeout: time.Second, TimeoutSet: true},
			retry: &resource.RetryPolicy{PerTryTimeout: ms(300)}, want: timeouts{global: time.Second, perTry: ms(300)}, expected: "300"},
		{name: "per try not below global dropped", action: resource.RouteAction{Timeout: time.Second, TimeoutSet: true},
			retry: &resource.RetryPolicy{PerTryTimeout: time.Second}, want: timeouts{global: time.Second}, expected: "1000"},
		{name: "per try header", action: resource.RouteAction{TimeoutSet: true},
			headers: map[string]string{"X-Envoy-Upstream-Rq-Per-Try-Timeout-Ms": "40"}, want: timeouts{perTry: ms(40)}, expected: "40"},
		{name: "grpc-timeout under max_grpc_timeout 0", action: resource.RouteAction{TimeoutSet: true, MaxGRPCTimeout: &zero}, grpc: true,
			headers: map[string]string{"Grpc-Timeout": "500m"}, want: timeouts{global: ms(500)}, expected: "500", grpcTO: "500m"},
		{name: "grpc-timeout capped", action: resource.RouteAction{Timeout: two, TimeoutSet: true, MaxGRPCTimeout: &two}, grpc: true,
			headers: map[string]string{"Grpc-Timeout": "1M"}, want: timeouts{global: two}, expected: "2000", grpcTO: "2000m"},
		{name: "no grpc-timeout under a max", action: resource.RouteAction{Timeout: two, TimeoutSet: true, MaxGRPCTimeout: &two}, grpc: true,
			want: timeouts{global: two}, expected: "2000", grpcTO: "2000m"},
		{name: "not gRPC: grpc-timeout ignored", action: resource.RouteAction{TimeoutSet: true, MaxGRPCTimeout: &zero},
			headers: map[string]string{"Grpc-Timeout": "1S"}, want: timeouts{}, grpcTO: "1S"},
		{name: "grpc_timeout_header_max bounds the stream", action: resource.RouteAction{TimeoutSet: true, GRPCTimeoutHeaderMax: &zero}, grpc: true,
			headers: map[string]string{"Grpc-Timeout": "3S"}, want: timeouts{stream: 3 * time.Second}, grpcTO: "3S"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "http://h/", nil)
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			a := tt.action
			if got := computeTimeouts(r, &a, tt.retry, tt.grpc); got != tt.want {
				t.Errorf("timeouts %+v, want %+v", got, tt.want)
			}
			if got := r.Header.Get("X-Envoy-Expected-Rq-Timeout-Ms"); got != tt.expected {
				t.Errorf("x-envoy-expected-rq-timeout-ms %q, want %q", got, tt.expected)
			}
			if got := r.Header.Get("Grpc-Timeout"); got != tt.grpcTO {
				t.Errorf("grpc-timeout %q, want %q", got, tt.grpcTO)
			}
			if r.Header.Get("X-Envoy-Upstream-Rq-Timeout-Ms")+r.Header.Get("X-Envoy-Upstream-Rq-Per-Try-Timeout-Ms") != "" {
				t.Error("timeout headers not removed")
			}
		})
	}
}

func TestMatchHeaderEnvoySemantics(t *testing.T) {
	exact := &resource.StringMatcher{Kind: resource.StringExact, Value: "v"}
	tests := []struct {
		name string
		hm   resource.HeaderMatcher
		hdr  []string // values of x-h; nil: absent
		want bool
	}{
		{"string, absent", resource.HeaderMatcher{Name: "x-h", String: exact}, nil, false},
		{"inverted string, absent: no match", resource.HeaderMatcher{Name: "x-h", String: exact, Invert: true}, nil, false},
		{"inverted string, absent, treat missing as empty", resource.HeaderMatcher{Name: "x-h", String: exact, Invert: true, TreatMissingAsEmpty: true}, nil, true},
		{"inverted string, other value", resource.HeaderMatcher{Name: "x-h", String: exact, Invert: true}, []string{"w"}, true},
		{"inverted string, same value", resource.HeaderMatcher{Name: "x-h", String: exact, Invert: true}, []string{"v"}, false},
		{"present, absent", resource.HeaderMatcher{Name: "x-h", Present: true}, nil, false},
		{"inverted present, absent", resource.HeaderMatcher{Name: "x-h", Present: true, Invert: true}, nil, true},
		{"present false, absent", resource.HeaderMatcher{Name: "x-h"}, nil, true},
		{"values joined", resource.HeaderMatcher{Name: "x-h", String: &resource.StringMatcher{Kind: resource.StringExact, Value: "a,b"}}, []string{"a", "b"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "http://h/", nil)
			for _, v := range tt.hdr {
				r.Header.Add("X-H", v)
			}
			if got := matchHeader(&tt.hm, r); got != tt.want {
				t.Errorf("match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestGRPCLocalReply(t *testing.T) {
	w := httptest.NewRecorder()
	info := &Info{GRPC: true}
	localReply(w, info, 504, FlagUpstreamTimeout, "upstream request timeout")
	if w.Code != 200 || w.Header().Get("Grpc-Status") != "14" || w.Header().Get("Grpc-Message") != "upstream request timeout" ||
		w.Header().Get("Content-Type") != "application/grpc" || w.Body.Len() != 0 {
		t.Errorf("got %d %v %q", w.Code, w.Header(), w.Body.String())
	}
	w = httptest.NewRecorder()
	code := uint32(7)
	localReplyGRPC(w, &Info{GRPC: true}, 503, FlagFaultInjected, "50% off\n", &code)
	if w.Header().Get("Grpc-Status") != "7" || w.Header().Get("Grpc-Message") != "50%25 off%0A" {
		t.Errorf("explicit status: %v", w.Header())
	}
	for code, want := range map[int]uint32{400: 13, 401: 16, 403: 7, 404: 12, 429: 14, 502: 14, 503: 14, 504: 14, 500: 2, 418: 2} {
		if got := grpcStatusForHTTP(code); got != want {
			t.Errorf("grpcStatusForHTTP(%d) = %d, want %d", code, got, want)
		}
	}
	for ct, want := range map[string]bool{"application/grpc": true, "application/grpc+proto": true, "application/grpc;x=y": true,
		"application/grpc-web": false, "application/json": false} {
		r := httptest.NewRequest("POST", "http://h/", nil)
		r.Header.Set("Content-Type", ct)
		if isGRPC(r) != want {
			t.Errorf("isGRPC(%q) = %v", ct, !want)
		}
	}
}

func TestRetryOnConditions(t *testing.T) {
	resp := func(code int, hdr ...string) *nethttp.Response {
		r := &nethttp.Response{StatusCode: code, Header: nethttp.Header{}}
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		return r
	}
	errReset := errors.New("reset")
	tests := []struct {
		on   string
		resp *nethttp.Response
		flag ResponseFlag
		want bool
	}{
		{"5xx", resp(500), 0, true}, {"5xx", resp(404), 0, false}, {"5xx", nil, FlagUpstreamConnTermination, true},
		{"5xx", nil, FlagUpstreamTimeout, true},
		{"gateway-error", resp(502), 0, true}, {"gateway-error", resp(504), 0, true}, {"gateway-error", resp(500), 0, false},
		{"gateway-error", nil, FlagUpstreamConnFailure, true},
		{"reset", nil, FlagUpstreamConnTermination, true}, {"reset", resp(503), 0, false},
		{"connect-failure", nil, FlagUpstreamConnFailure, true}, {"connect-failure", nil, FlagUpstreamConnTermination, false},
		{"reset-before-request", nil, FlagUpstreamConnFailure, true}, {"reset-before-request", nil, FlagUpstreamConnTermination, false},
		{"refused-stream", nil, FlagUpstreamReset, true}, {"refused-stream", nil, FlagUpstreamConnTermination, false},
		{"retriable-4xx", resp(409), 0, true}, {"retriable-4xx", resp(400), 0, false},
		{"retriable-status-codes", resp(418), 0, true}, {"retriable-status-codes", resp(419), 0, false},
		{"envoy-ratelimited", resp(429, "X-Envoy-Ratelimited", "true"), 0, true}, {"envoy-ratelimited", resp(429), 0, false},
		{"retriable-headers", resp(200, "X-Retry-Me", "1"), 0, true}, {"retriable-headers", resp(200), 0, false},
		{"unavailable", resp(200, "Grpc-Status", "14"), 0, true}, {"cancelled", resp(200, "Grpc-Status", "1"), 0, true},
		{"deadline-exceeded", resp(200, "Grpc-Status", "4"), 0, true}, {"resource-exhausted", resp(200, "Grpc-Status", "8"), 0, true},
		{"internal", resp(200, "Grpc-Status", "13"), 0, true}, {"unavailable", resp(200, "Grpc-Status", "0"), 0, false},
		{"http3-post-connect-failure", nil, FlagUpstreamConnFailure, false},
	}
	for _, tt := range tests {
		var err error
		if tt.resp == nil {
			err = errReset
		}
		if got := retryOn(tt.on, tt.resp, err, tt.flag, []uint32{418}, []string{"x-retry-me"}); got != tt.want {
			t.Errorf("retryOn(%s, %v, flag %s) = %v, want %v", tt.on, tt.resp != nil, tt.flag, got, tt.want)
		}
	}
}

func TestRetryFromRequestHeaders(t *testing.T) {
	h := nethttp.Header{}
	h.Set("X-Envoy-Retry-On", "5xx, bogus")
	h.Set("X-Envoy-Retry-Grpc-On", "unavailable")
	h.Set("X-Envoy-Max-Retries", "4")
	h.Set("X-Envoy-Retriable-Status-Codes", "418,419")
	h.Set("X-Envoy-Retriable-Header-Names", "x-a,x-b")
	route := &resource.RetryPolicy{RetryOn: []string{"connect-failure"}, NumRetries: 2, RetriableStatusCodes: []uint32{503}}
	p, opts := retryFromRequest(h, route)
	if strings.Join(p.RetryOn, ",") != "connect-failure,5xx,unavailable" || p.NumRetries != 4 ||
		len(p.RetriableStatusCodes) != 3 || strings.Join(opts.headerNames, ",") != "x-a,x-b" {
		t.Errorf("policy %+v opts %+v", p, opts)
	}
	if len(route.RetryOn) != 1 || len(route.RetriableStatusCodes) != 1 {
		t.Error("the route's policy was modified")
	}
	for k := range h {
		t.Errorf("header %s not removed", k)
	}
	if p, _ := retryFromRequest(nethttp.Header{"X-Envoy-Max-Retries": {"3"}}, nil); p != nil {
		t.Errorf("max retries alone made a policy: %+v", p)
	}
}

func TestMirrorPipe(t *testing.T) {
	src := io.NopCloser(strings.NewReader(strings.Repeat("x", 100)))
	tee := &mirrorTee{src: src}
	p := tee.branch()
	got := make(chan string, 1)
	go func() { b, _ := io.ReadAll(p); got <- string(b) }()
	if b, err := io.ReadAll(tee); err != nil || len(b) != 100 {
		t.Fatalf("request body: %d bytes, %v", len(b), err)
	}
	if s := <-got; s != strings.Repeat("x", 100) {
		t.Errorf("mirror got %d bytes", len(s))
	}
	// A mirror that does not read is cut off once it lags too far behind.
	big := io.NopCloser(strings.NewReader(strings.Repeat("y", 2*mirrorBufferBytes)))
	tee = &mirrorTee{src: big}
	p = tee.branch()
	if n, err := io.Copy(io.Discard, tee); err != nil || n != 2*mirrorBufferBytes {
		t.Fatalf("request body: %d, %v", n, err)
	}
	if _, err := io.ReadAll(p); !errors.Is(err, errMirrorBehind) {
		t.Errorf("lagging mirror: err %v, want %v", err, errMirrorBehind)
	}
	// A request that ends before its body does aborts the mirror's.
	tee = &mirrorTee{src: io.NopCloser(strings.NewReader("zz"))}
	p = tee.branch()
	tee.finish()
	if _, err := io.ReadAll(p); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("unfinished body: err %v", err)
	}
}

// BenchmarkHeaderRewrite measures applying route header operations at the
// weighted cluster, route and virtual host levels to a request.
func BenchmarkHeaderRewrite(b *testing.B) {
	ops := func(prefix string) resource.HeaderOps {
		return resource.HeaderOps{
			RequestAdd: []resource.HeaderValue{{Name: prefix + "-Set", Value: "v"}, {Name: prefix + "-Add", Value: "v", Append: true},
				{Name: "X-Common", Value: prefix}},
			RequestRemove: []string{"X-Secret"},
		}
	}
	wc, rt, vh := ops("X-Cluster"), ops("X-Route"), ops("X-Vhost")
	levels := []*resource.HeaderOps{&wc, &rt, &vh}
	base := nethttp.Header{"X-Secret": {"s"}, "User-Agent": {"bench"}, "Accept": {"*/*"}, "X-Request-Id": {"id"}}
	b.ReportAllocs()
	for b.Loop() {
		h := base.Clone()
		applyRequestOps(h, levels)
	}
}

func TestRouteTimeoutStartsWhenTheRequestEnds(t *testing.T) {
	f := &forward{timeouts: timeouts{global: time.Hour}, cancel: func() {}}
	r := httptest.NewRequest("POST", "http://h/", strings.NewReader("body"))
	r.ContentLength = -1
	f.armTimeout(r)
	f.mu.Lock()
	armed := f.timer != nil
	f.mu.Unlock()
	if armed {
		t.Fatal("timer armed before the request body ended")
	}
	_, _ = io.ReadAll(r.Body)
	f.mu.Lock()
	armed = f.timer != nil
	f.mu.Unlock()
	if !armed {
		t.Fatal("timer not armed at the end of the request body")
	}
	f.stopTimeout()

	f = &forward{timeouts: timeouts{global: time.Hour}, cancel: func() {}}
	f.armTimeout(httptest.NewRequest("GET", "http://h/", nil))
	if f.timer == nil {
		t.Error("timer not armed for a request without a body")
	}
	f.stopTimeout()
}
