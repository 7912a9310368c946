package proxy_test

import (
	"fmt"
	"regexp"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"

	"github.com/lateenmesh/lateen/internal/proxy/proxytest"
)

func route(m *routev3.RouteMatch, cluster string) *routev3.Route {
	return &routev3.Route{Match: m, Action: &routev3.Route_Route{Route: proxytest.ClusterAction(cluster)}}
}

func exact(p string) *routev3.RouteMatch {
	return &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Path{Path: p}}
}

func prefix(p string) *routev3.RouteMatch {
	return &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: p}}
}

func regex(re string) *routev3.RouteMatch {
	return &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{Regex: re}}}
}

func withHeader(m *routev3.RouteMatch, name, value string) *routev3.RouteMatch {
	m.Headers = append(m.Headers, &routev3.HeaderMatcher{Name: name, HeaderMatchSpecifier: &routev3.HeaderMatcher_StringMatch{
		StringMatch: &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: value}}}})
	return m
}

func withQuery(m *routev3.RouteMatch, name, value string) *routev3.RouteMatch {
	m.QueryParameters = append(m.QueryParameters, &routev3.QueryParameterMatcher{Name: name,
		QueryParameterMatchSpecifier: &routev3.QueryParameterMatcher_StringMatch{
			StringMatch: &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Prefix{Prefix: value}}}})
	return m
}

// threeBackends publishes clusters a, b, c (EDS) for three backends.
func threeBackends(t *testing.T, h2 bool) (map[string]*backend, proxytest.Resources) {
	bs := map[string]*backend{}
	var res proxytest.Resources
	for _, n := range []string{"a", "b", "c"} {
		bs[n] = newBackend(t, n, h2)
		cl := proxytest.EDSCluster(n)
		if h2 {
			cl = proxytest.H2(cl)
		}
		res.Clusters = append(res.Clusters, cl)
		res.Endpoints = append(res.Endpoints, proxytest.CLA(n, bs[n].hostPort()))
	}
	return bs, res
}

func TestRoutingByHostPathAndHeaders(t *testing.T) {
	e := startProxy(t)
	_, res := threeBackends(t, false)
	port := proxytest.FreePort(t)
	res.Listeners = []types.Resource{proxytest.HTTPListener("0.0.0.0_80", "0.0.0.0", port, "80")}
	res.Routes = []types.Resource{proxytest.RouteConfig("80",
		proxytest.VirtualHost("shop", []string{"shop.example", "shop.example:80"},
			route(withHeader(prefix("/"), "x-version", "v2"), "b"),
			route(exact("/exact"), "a"),
			route(regex("/items/[0-9]+"), "c"),
			route(withQuery(prefix("/q"), "user", "jason"), "c"),
			route(prefix("/b"), "b"),
			route(prefix("/"), "a")),
		proxytest.VirtualHost("wild-suffix", []string{"*.wild.example"}, route(prefix("/"), "c")),
		proxytest.VirtualHost("longer-suffix", []string{"*.deep.wild.example"}, route(prefix("/"), "b")),
		proxytest.VirtualHost("wild-prefix", []string{"api.*"}, route(prefix("/"), "b")),
	)}
	e.apply(t, "v1", res)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	c := client()
	tests := []struct {
		name, host, path string
		hdr              []string
		want             string
	}{
		{"exact path", "shop.example", "/exact", nil, "a"},
		{"exact path does not match longer", "shop.example", "/exact/more", nil, "a"},
		{"regex full match", "shop.example", "/items/42", nil, "c"},
		{"regex is anchored", "shop.example", "/items/42x", nil, "a"},
		{"prefix", "shop.example", "/books", nil, "b"},
		{"header", "shop.example", "/exact", []string{"x-version", "v2"}, "b"},
		{"query", "shop.example", "/q?user=jason1", nil, "c"},
		{"query mismatch", "shop.example", "/q?user=bob", nil, "a"},
		{"host with port", "shop.example:80", "/books", nil, "b"},
		{"host case", "SHOP.example", "/books", nil, "b"},
		{"suffix wildcard", "x.wild.example", "/", nil, "c"},
		{"longest suffix wins", "x.deep.wild.example", "/", nil, "b"},
		{"prefix wildcard", "api.anything", "/", nil, "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(t, c, addr, tt.host, tt.path, tt.hdr...)
			if r.code != 200 || r.body != tt.want {
				t.Errorf("got %d %q, want 200 %q", r.code, r.body, tt.want)
			}
		})
	}
	t.Run("no route", func(t *testing.T) {
		r := get(t, c, addr, "unknown.example", "/")
		if r.code != 404 || r.body != "route not found" {
			t.Errorf("got %d %q, want 404 route not found", r.code, r.body)
		}
	})
	t.Run("request id generated", func(t *testing.T) {
		r := get(t, c, addr, "shop.example", "/")
		uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
		if id := r.header.Get("X-Seen-Request-Id"); !uuid.MatchString(id) {
			t.Errorf("x-request-id %q is not a UUIDv4", id)
		}
		if got := get(t, c, addr, "shop.example", "/", "X-Request-Id", "mine").header.Get("X-Seen-Request-Id"); got != "mine" {
			t.Errorf("x-request-id %q, want the client's", got)
		}
		if got := r.header.Get("X-Seen-Forwarded-Proto"); got != "http" {
			t.Errorf("x-forwarded-proto %q", got)
		}
	})
	if got := e.stat("http.0.0.0.0_80.downstream_rq_4xx"); got != 1 {
		t.Errorf("downstream_rq_4xx = %d, want 1", got)
	}
	if got := e.stat("cluster.a.upstream_rq_200"); got < 1 {
		t.Errorf("cluster.a.upstream_rq_200 = %d", got)
	}
}

func TestHeaderOpsRewritesAndLocalReplies(t *testing.T) {
	e := startProxy(t)
	_, res := threeBackends(t, false)
	port := proxytest.FreePort(t)
	rewrite := proxytest.ClusterAction("a")
	rewrite.PrefixRewrite = "/new"
	rewrite.HostRewriteSpecifier = &routev3.RouteAction_HostRewriteLiteral{HostRewriteLiteral: "rewritten.example"}
	ops := &routev3.Route{Match: prefix("/old"), Action: &routev3.Route_Route{Route: rewrite},
		RequestHeadersToAdd: []*corev3.HeaderValueOption{{Header: &corev3.HeaderValue{Key: "x-test-added", Value: "yes"},
			AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD}},
		RequestHeadersToRemove:  []string{"x-test-secret"},
		ResponseHeadersToAdd:    []*corev3.HeaderValueOption{{Header: &corev3.HeaderValue{Key: "x-resp", Value: "r"}}},
		ResponseHeadersToRemove: []string{"x-backend"}}
	direct := &routev3.Route{Match: exact("/direct"), Action: &routev3.Route_DirectResponse{DirectResponse: &routev3.DirectResponseAction{
		Status: 418, Body: &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: "teapot"}}}}}
	redirect := &routev3.Route{Match: prefix("/go"), Action: &routev3.Route_Redirect{Redirect: &routev3.RedirectAction{
		HostRedirect: "elsewhere.example", PathRewriteSpecifier: &routev3.RedirectAction_PrefixRewrite{PrefixRewrite: "/there"}}}}
	res.Listeners = []types.Resource{proxytest.HTTPListener("l", "0.0.0.0", port, "r")}
	res.Routes = []types.Resource{proxytest.RouteConfig("r", proxytest.VirtualHost("vh", []string{"*"}, ops, direct, redirect))}
	e.apply(t, "v1", res)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	r := get(t, client(), addr, "h", "/old/x?q=1", "X-Test-Secret", "s")
	if r.header.Get("X-Path") != "/new/x?q=1" || r.header.Get("X-Host") != "rewritten.example" {
		t.Errorf("rewrite: path %q host %q", r.header.Get("X-Path"), r.header.Get("X-Host"))
	}
	if r.header.Get("Seen-X-Test-Added") != "yes" || r.header.Get("Seen-X-Test-Secret") != "" {
		t.Errorf("request header ops: %v", r.header)
	}
	if r.header.Get("X-Resp") != "r" || r.header.Get("X-Backend") != "" {
		t.Errorf("response header ops: %v", r.header)
	}
	if r := get(t, client(), addr, "h", "/direct"); r.code != 418 || r.body != "teapot" {
		t.Errorf("direct response: %d %q", r.code, r.body)
	}
	if r := get(t, client(), addr, "h", "/go/on?x=1"); r.code != 301 || r.header.Get("Location") != "http://elsewhere.example/there/on?x=1" {
		t.Errorf("redirect: %d %q", r.code, r.header.Get("Location"))
	}
}

func TestWeightedRoundRobinAndWeightedClusters(t *testing.T) {
	e := startProxy(t)
	b1, b2 := newBackend(t, "one", false), newBackend(t, "two", false)
	port := proxytest.FreePort(t)
	e.apply(t, "v1", proxytest.Resources{
		Clusters:  []types.Resource{proxytest.EDSCluster("c")},
		Endpoints: []types.Resource{proxytest.WeightedCLA("c", []string{b1.hostPort(), b2.hostPort()}, []uint32{1, 3})},
		Listeners: []types.Resource{proxytest.HTTPListener("l", "0.0.0.0", port, "r")},
		Routes:    []types.Resource{proxytest.RouteConfig("r", proxytest.VirtualHost("vh", []string{"*"}, proxytest.PrefixRoute("/", "c")))},
	})
	counts := map[string]int{}
	c := client()
	for range 40 {
		counts[get(t, c, fmt.Sprintf("127.0.0.1:%d", port), "h", "/").body]++
	}
	if counts["one"] != 10 || counts["two"] != 30 {
		t.Errorf("weighted round robin 1:3 over 40 requests = %v, want one:10 two:30", counts)
	}
}

func TestNoHealthyUpstreamAndConnectFailure(t *testing.T) {
	e := startProxy(t)
	dead := fmt.Sprintf("127.0.0.1:%d", proxytest.FreePort(t)) // nobody listens there
	port := proxytest.FreePort(t)
	e.apply(t, "v1", proxytest.Resources{
		Clusters:  []types.Resource{proxytest.EDSCluster("empty"), proxytest.EDSCluster("dead")},
		Endpoints: []types.Resource{proxytest.CLA("empty"), proxytest.CLA("dead", dead)},
		Listeners: []types.Resource{proxytest.HTTPListener("l", "0.0.0.0", port, "r")},
		Routes: []types.Resource{proxytest.RouteConfig("r", proxytest.VirtualHost("vh", []string{"*"},
			proxytest.PrefixRoute("/empty", "empty"), proxytest.PrefixRoute("/dead", "dead")))},
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if r := get(t, client(), addr, "h", "/empty"); r.code != 503 || r.body != "no healthy upstream" {
		t.Errorf("UH: got %d %q", r.code, r.body)
	}
	r := get(t, client(), addr, "h", "/dead")
	want := "upstream connect error or disconnect/reset before headers. reset reason: connection failure"
	if r.code != 503 || r.body != want {
		t.Errorf("UF: got %d %q", r.code, r.body)
	}
	if got := e.stat("cluster.dead.upstream_cx_connect_fail"); got < 1 {
		t.Errorf("upstream_cx_connect_fail = %d", got)
	}
}
