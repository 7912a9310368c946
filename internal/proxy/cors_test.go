package proxy_test

import (
	"net/http"
	"sync/atomic"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	corsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/cors/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestCORS(t *testing.T) {
	e := startProxy(t)
	var hits atomic.Int64
	backend := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("X-Seen-Method", r.Method)
		w.Header().Set("Access-Control-Allow-Origin", "upstream-value")
		w.Write([]byte("upstream"))
	}))
	exact := func(s string) *matcherv3.StringMatcher {
		return &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: s}}
	}
	policy := &corsv3.CorsPolicy{
		AllowOriginStringMatch: []*matcherv3.StringMatcher{exact("https://example.com"),
			{MatchPattern: &matcherv3.StringMatcher_Prefix{Prefix: "https://app."}},
			{MatchPattern: &matcherv3.StringMatcher_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{Regex: `https://.*\.example\.org`}}}},
		AllowMethods: "GET,POST", AllowHeaders: "x-custom,authorization", ExposeHeaders: "x-exposed", MaxAge: "86400",
		AllowCredentials: wrapperspb.Bool(true), ForwardNotMatchingPreflights: wrapperspb.Bool(false),
		FilterEnabled: &corev3.RuntimeFractionalPercent{DefaultValue: percent(100)},
	}
	forward := &corsv3.CorsPolicy{AllowOriginStringMatch: []*matcherv3.StringMatcher{exact("https://example.com")},
		ForwardNotMatchingPreflights: wrapperspb.Bool(true)}
	anyOrigin := &corsv3.CorsPolicy{AllowOriginStringMatch: []*matcherv3.StringMatcher{exact("*")}, AllowMethods: "*", AllowHeaders: "*"}
	addr := applySetup(t, e, "v1", routeSetup{clusters: map[string][]string{"c": {backend}}, routes: []*routev3.Route{
		perFilter(forwardRoute("/forward", "c", nil), corsFilter, forward),
		perFilter(forwardRoute("/any", "c", nil), corsFilter, anyOrigin),
		perFilter(forwardRoute("/", "c", nil), corsFilter, policy),
	}})
	c := client()
	preflight := func(path, origin string, hdr ...string) result {
		return do(t, c, request(t, "OPTIONS", addr, "h", path, append([]string{"Origin", origin,
			"Access-Control-Request-Method", "POST"}, hdr...)...))
	}

	t.Run("preflight answered by the proxy", func(t *testing.T) {
		before := hits.Load()
		for _, origin := range []string{"https://example.com", "https://app.shop", "https://a.example.org"} {
			r := preflight("/x", origin)
			want := map[string]string{"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true",
				"Access-Control-Allow-Methods": "GET,POST", "Access-Control-Allow-Headers": "x-custom,authorization",
				"Access-Control-Max-Age": "86400"}
			if r.code != 200 {
				t.Errorf("%s: status %d", origin, r.code)
			}
			for k, v := range want {
				if got := r.header.Get(k); got != v {
					t.Errorf("%s: %s = %q, want %q", origin, k, got, v)
				}
			}
		}
		if hits.Load() != before {
			t.Error("a preflight reached the upstream")
		}
	})
	t.Run("actual request", func(t *testing.T) {
		r := get(t, c, addr, "h", "/x", "Origin", "https://example.com")
		if r.body != "upstream" || r.header.Get("Access-Control-Allow-Origin") != "https://example.com" ||
			r.header.Get("Access-Control-Allow-Credentials") != "true" || r.header.Get("Access-Control-Expose-Headers") != "x-exposed" {
			t.Errorf("got %q %v", r.body, r.header)
		}
		if r.header.Get("Access-Control-Max-Age") != "" {
			t.Error("max age on an actual request")
		}
	})
	t.Run("origin not allowed", func(t *testing.T) {
		r := get(t, c, addr, "h", "/x", "Origin", "https://evil.example")
		if r.body != "upstream" || r.header.Get("Access-Control-Allow-Origin") != "upstream-value" ||
			r.header.Get("Access-Control-Expose-Headers") != "" {
			t.Errorf("response changed for an origin not allowed: %v", r.header)
		}
		before := hits.Load()
		r = preflight("/x", "https://evil.example")
		if r.code != 200 || r.header.Get("Access-Control-Allow-Origin") != "" || hits.Load() != before {
			t.Errorf("unmatched preflight with IGNORE: %d %v, upstream hits %d", r.code, r.header, hits.Load()-before)
		}
		r = preflight("/forward", "https://evil.example")
		if r.body != "upstream" || r.header.Get("X-Seen-Method") != "OPTIONS" {
			t.Errorf("unmatched preflight with FORWARD: %d %q", r.code, r.body)
		}
	})
	t.Run("without origin", func(t *testing.T) {
		r := get(t, c, addr, "h", "/x")
		if r.header.Get("Access-Control-Allow-Origin") != "upstream-value" {
			t.Errorf("non-CORS request changed: %v", r.header)
		}
		r = do(t, c, request(t, "OPTIONS", addr, "h", "/x", "Origin", "https://example.com"))
		if r.body != "upstream" {
			t.Errorf("OPTIONS without Access-Control-Request-Method is not a preflight: %d %q", r.code, r.body)
		}
	})
	t.Run("wildcard origin and echoed methods", func(t *testing.T) {
		r := preflight("/any", "https://whoever.test", "Access-Control-Request-Headers", "x-a,x-b")
		if r.header.Get("Access-Control-Allow-Origin") != "https://whoever.test" ||
			r.header.Get("Access-Control-Allow-Methods") != "POST" || r.header.Get("Access-Control-Allow-Headers") != "x-a,x-b" {
			t.Errorf("got %v", r.header)
		}
	})
	if v, i := e.stat("http.l.cors.origin_valid"), e.stat("http.l.cors.origin_invalid"); v < 5 || i < 3 {
		t.Errorf("origin_valid %d, origin_invalid %d", v, i)
	}
}
