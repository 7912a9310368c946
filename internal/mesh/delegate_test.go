package mesh

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/lateenmesh/lateen/internal/config"
)

const delegateRoot = `  hosts: [shop.example.com]
  http:
  - name: reviews
    match:
    - uri: {prefix: /reviews}
    - uri: {prefix: /r}
      headers: {x-user: {exact: jason}}
    timeout: 5s
    delegate: {name: reviews-routes, namespace: back}
  - name: missing
    match: [{uri: {prefix: /missing}}]
    delegate: {name: nope}
  - name: hidden
    match: [{uri: {prefix: /hidden}}]
    delegate: {name: private-routes, namespace: back}
  - name: rest
    route: [{destination: {host: web}}]
`

const delegateLeaf = `  http:
  - name: v2
    match: [{uri: {prefix: /reviews/v2}, gateways: [gw]}]
    route: [{destination: {host: reviews, subset: v2}}]
  - name: other
    match: [{uri: {prefix: /other}}]
    route: [{destination: {host: reviews}}]
  - name: all
    timeout: 1s
    route: [{destination: {host: reviews, subset: v1}}]
    mirror: {host: shadow}
`

// wantExpanded is the root after expansion, as Istio merges it.
const wantExpanded = `  hosts: [shop.example.com]
  http:
  - name: reviews-v2
    match:
    - uri: {prefix: /reviews/v2}
      gateways: [back/gw]
    - uri: {prefix: /reviews/v2}
      headers: {x-user: {exact: jason}}
      gateways: [back/gw]
    timeout: 5s
    route: [{destination: {host: reviews.back.svc.cluster.local, subset: v2}}]
  - name: reviews-all
    match:
    - uri: {prefix: /reviews}
    - uri: {prefix: /r}
      headers: {x-user: {exact: jason}}
    timeout: 1s
    route: [{destination: {host: reviews.back.svc.cluster.local, subset: v1}}]
    mirror: {host: shadow.back.svc.cluster.local}
  - name: rest
    route: [{destination: {host: web}}]
`

func TestDelegateExpansion(t *testing.T) {
	s := build(t, nil,
		vs("front", "root", delegateRoot),
		vs("back", "reviews-routes", delegateLeaf),
		vs("back", "private-routes", "  exportTo: [.]\n  http:\n  - route: [{destination: {host: reviews}}]\n"),
	)
	if len(s.virtualServices) != 1 {
		t.Fatalf("virtual services %v: delegates must not be bound by themselves", vsNames(s.virtualServices))
	}
	got := s.virtualServices[0]
	objs, rejs := config.Decode(config.Origin{}, []byte(vs("front", "root", wantExpanded)))
	if len(rejs) > 0 {
		t.Fatal(rejs[0])
	}
	want := objs[0].Spec.(*networking.VirtualService)
	if d := cmp.Diff(want.Http, got.Spec.Http, protocmp.Transform()); d != "" {
		t.Errorf("expanded routes (-want +got):\n%s", d)
	}
	wantKeys := []config.Key{
		{Kind: config.VirtualService, Namespace: "back", Name: "reviews-routes"},
		{Kind: config.VirtualService, Namespace: "front", Name: "nope"},
		{Kind: config.VirtualService, Namespace: "back", Name: "private-routes"},
	}
	if d := cmp.Diff(wantKeys, got.Delegates); d != "" {
		t.Errorf("delegates (-want +got):\n%s", d)
	}
	wantNotes := []string{"back/reviews-routes by front/root", "front/root", "front/root by back/private-routes"}
	if d := cmp.Diff(wantNotes, noteStrings(s.Ignored)); d != "" {
		t.Errorf("notes (-want +got):\n%s", d)
	}
	// The delegate's original spec is untouched (several roots may share it).
	leaf := s.Config.Get(config.Key{Kind: config.VirtualService, Namespace: "back", Name: "reviews-routes"})
	if h := leaf.Spec.(*networking.VirtualService).Http[0].Route[0].Destination.Host; h != "reviews" {
		t.Errorf("delegate spec modified: destination %q", h)
	}
}

func TestDelegateOrder(t *testing.T) {
	// Istio lists VirtualServices without delegation before roots.
	route := "  http:\n  - route: [{destination: {host: a}}]\n"
	s := build(t, nil,
		vs("a", "old-root", "  hosts: [x.example.com]\n  http:\n  - delegate: {name: d}\n"),
		vs("a", "d", route),
		vs("a", "plain", "  hosts: [x.example.com]\n"+route),
	)
	if d := cmp.Diff([]string{"a/plain", "a/old-root"}, vsNames(s.virtualServices)); d != "" {
		t.Errorf("order (-want +got):\n%s", d)
	}
}

func sm(kind, v string) *networking.StringMatch {
	switch kind {
	case "exact":
		return &networking.StringMatch{MatchType: &networking.StringMatch_Exact{Exact: v}}
	case "prefix":
		return &networking.StringMatch{MatchType: &networking.StringMatch_Prefix{Prefix: v}}
	case "regex":
		return &networking.StringMatch{MatchType: &networking.StringMatch_Regex{Regex: v}}
	}
	return nil
}

func TestMatchConflict(t *testing.T) {
	for _, tc := range []struct {
		name       string
		root, leaf *networking.HTTPMatchRequest
		want       bool
	}{
		{"unset root", &networking.HTTPMatchRequest{}, &networking.HTTPMatchRequest{Uri: sm("exact", "/a")}, false},
		{"exact equal", &networking.HTTPMatchRequest{Uri: sm("exact", "/a")}, &networking.HTTPMatchRequest{Uri: sm("exact", "/a")}, false},
		{"exact differs", &networking.HTTPMatchRequest{Uri: sm("exact", "/a")}, &networking.HTTPMatchRequest{Uri: sm("exact", "/b")}, true},
		{"exact under prefix", &networking.HTTPMatchRequest{Uri: sm("prefix", "/a")}, &networking.HTTPMatchRequest{Uri: sm("exact", "/a/b")}, false},
		{"prefix under exact", &networking.HTTPMatchRequest{Uri: sm("exact", "/a")}, &networking.HTTPMatchRequest{Uri: sm("prefix", "/a")}, true},
		{"shorter prefix", &networking.HTTPMatchRequest{Uri: sm("prefix", "/a/b")}, &networking.HTTPMatchRequest{Uri: sm("prefix", "/a")}, true},
		{"regex", &networking.HTTPMatchRequest{Uri: sm("regex", "/a.*")}, &networking.HTTPMatchRequest{Uri: sm("prefix", "/a")}, true},
		{"header refines", &networking.HTTPMatchRequest{Headers: map[string]*networking.StringMatch{"x": sm("prefix", "a")}},
			&networking.HTTPMatchRequest{Headers: map[string]*networking.StringMatch{"x": sm("exact", "ab")}}, false},
		{"header differs", &networking.HTTPMatchRequest{Headers: map[string]*networking.StringMatch{"x": sm("exact", "a")}},
			&networking.HTTPMatchRequest{Headers: map[string]*networking.StringMatch{"x": sm("exact", "b")}}, true},
		{"port differs", &networking.HTTPMatchRequest{Port: 80}, &networking.HTTPMatchRequest{Port: 81}, true},
		{"port added", &networking.HTTPMatchRequest{}, &networking.HTTPMatchRequest{Port: 81}, false},
		{"ignoreUriCase differs", &networking.HTTPMatchRequest{IgnoreUriCase: true}, &networking.HTTPMatchRequest{}, true},
		{"source namespace differs", &networking.HTTPMatchRequest{SourceNamespace: "a"}, &networking.HTTPMatchRequest{}, true},
		{"source label differs", &networking.HTTPMatchRequest{SourceLabels: map[string]string{"app": "a"}},
			&networking.HTTPMatchRequest{SourceLabels: map[string]string{"app": "b"}}, true},
		{"source label added", &networking.HTTPMatchRequest{SourceLabels: map[string]string{"app": "a"}},
			&networking.HTTPMatchRequest{SourceLabels: map[string]string{"version": "v1"}}, false},
		{"gateway subset", &networking.HTTPMatchRequest{Gateways: []string{"ns/a", "ns/b"}},
			&networking.HTTPMatchRequest{Gateways: []string{"ns/b"}}, false},
		{"gateway outside", &networking.HTTPMatchRequest{Gateways: []string{"ns/a"}},
			&networking.HTTPMatchRequest{Gateways: []string{"ns/b"}}, true},
	} {
		if got := matchConflict(tc.root, tc.leaf); got != tc.want {
			t.Errorf("%s: conflict = %v, want %v", tc.name, got, tc.want)
		}
	}
}
