package proxy_test

import (
	"net/http"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestLocalRepliesHostRewritesAndHeaderMatching(t *testing.T) {
	e := startProxy(t)
	backend := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Seen-Host", r.Host)
		w.Write([]byte("upstream"))
	}))
	weighted := forwardRoute("/weighted", "c", func(a *routev3.RouteAction) {
		a.HostRewriteSpecifier = &routev3.RouteAction_HostRewriteLiteral{HostRewriteLiteral: "route.example"}
		a.ClusterSpecifier = &routev3.RouteAction_WeightedClusters{WeightedClusters: &routev3.WeightedCluster{
			Clusters: []*routev3.WeightedCluster_ClusterWeight{{Name: "c", Weight: wrapperspb.UInt32(100),
				HostRewriteSpecifier: &routev3.WeightedCluster_ClusterWeight_HostRewriteLiteral{HostRewriteLiteral: "cluster.example"}}}}}
	})
	notCanary := forwardRoute("/match", "c", nil)
	notCanary.Match.Headers = []*routev3.HeaderMatcher{{Name: "x-canary", InvertMatch: true, TreatMissingHeaderAsEmpty: true,
		HeaderMatchSpecifier: &routev3.HeaderMatcher_StringMatch{StringMatch: &matcherv3.StringMatcher{
			MatchPattern: &matcherv3.StringMatcher_Exact{Exact: "yes"}}}}}
	direct := &routev3.Route{Match: prefix("/direct"), Action: &routev3.Route_DirectResponse{DirectResponse: &routev3.DirectResponseAction{
		Status: 404, Body: &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: "nothing here"}}}}}
	addr := applySetup(t, e, "v1", routeSetup{clusters: map[string][]string{"c": {backend}, "empty": nil}, routes: []*routev3.Route{
		weighted, notCanary, direct, forwardRoute("/empty", "empty", nil),
		{Match: prefix("/"), Action: &routev3.Route_DirectResponse{DirectResponse: &routev3.DirectResponseAction{Status: 418}}},
	}})
	c := client()
	if r := get(t, c, addr, "h", "/weighted"); r.header.Get("X-Seen-Host") != "cluster.example" {
		t.Errorf("host %q, want the weighted cluster's rewrite", r.header.Get("X-Seen-Host"))
	}
	if r := get(t, c, addr, "h", "/match"); r.body != "upstream" {
		t.Errorf("missing header under treat_missing_header_as_empty: %d %q, want the route", r.code, r.body)
	}
	if r := get(t, c, addr, "h", "/match", "X-Canary", "yes"); r.code != 418 {
		t.Errorf("inverted match on its value: %d, want the next route", r.code)
	}
	if r := do(t, h2cClient(), grpcRequest(t, addr, "/empty")); r.code != 200 || r.header.Get("Grpc-Status") != "14" ||
		r.header.Get("Grpc-Message") != "no healthy upstream" {
		t.Errorf("gRPC, no healthy upstream: %d %v", r.code, r.header)
	}
	if r := do(t, h2cClient(), grpcRequest(t, addr, "/direct")); r.code != 200 || r.header.Get("Grpc-Status") != "12" ||
		r.header.Get("Grpc-Message") != "nothing here" {
		t.Errorf("gRPC, direct 404: %d %v", r.code, r.header)
	}
	if r := get(t, c, addr, "h", "/direct"); r.code != 404 || r.body != "nothing here" {
		t.Errorf("direct 404: %d %q", r.code, r.body)
	}
}
