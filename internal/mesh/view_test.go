package mesh

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
)

func TestServiceVisibility(t *testing.T) {
	services := []string{
		se("a", "pub", "pub.a.svc.cluster.local", ""),
		se("a", "priv", "priv.a.svc.cluster.local", `"."`),
		se("a", "tob", "tob.a.svc.cluster.local", `"b"`),
		se("a", "hidden", "hidden.a.svc.cluster.local", `"~"`),
	}
	for _, tc := range []struct {
		name     string
		defaults []string
		ns       string
		want     []string
	}{
		{"own namespace", nil, "a", []string{"a/priv.a.svc.cluster.local", "a/pub.a.svc.cluster.local"}},
		{"exported to b", nil, "b", []string{"a/pub.a.svc.cluster.local", "a/tob.a.svc.cluster.local"}},
		{"elsewhere", nil, "c", []string{"a/pub.a.svc.cluster.local"}},
		{"default private elsewhere", []string{"."}, "c", []string{}},
		{"default private at home", []string{"."}, "a", []string{"a/priv.a.svc.cluster.local", "a/pub.a.svc.cluster.local"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := build(t, &meshv1alpha1.MeshConfig{DefaultServiceExportTo: tc.defaults}, services...)
			v := s.ViewFor(sidecarProxy(tc.ns, nil))
			if d := cmp.Diff(tc.want, hostsOf(v.Services)); d != "" {
				t.Errorf("services (-want +got):\n%s", d)
			}
		})
	}
}

func TestSameHostInTwoNamespaces(t *testing.T) {
	// The first in Istio's order wins without a Sidecar (own namespace's
	// "." services first, then oldest); with Sidecar egress, the proxy's
	// namespace wins.
	s := build(t, nil,
		se("x", "old", "api.example.com", ""),
		se("b", "local", "api.example.com", ""),
		se("c", "private", "api.example.com", `"."`),
		"apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: default, namespace: b}\nspec:\n  egress:\n  - hosts: [\"*/*\"]\n",
	)
	for _, tc := range []struct{ ns, want string }{
		{"c", "c/api.example.com"}, // own namespace, exported "."
		{"b", "b/api.example.com"}, // Sidecar egress: the proxy's namespace
		{"d", "x/api.example.com"}, // the oldest public one
	} {
		if got := hostsOf(s.ViewFor(sidecarProxy(tc.ns, nil)).Services); len(got) != 1 || got[0] != tc.want {
			t.Errorf("proxy in %s: services %v, want [%s]", tc.ns, got, tc.want)
		}
	}
}

func TestSidecarScope(t *testing.T) {
	base := []string{
		se("a", "a1", "a1.a.svc.cluster.local", ""),
		se("b", "b1", "b1.b.svc.cluster.local", ""),
		se("b", "b2", "b2.b.svc.cluster.local", ""),
		se("c", "c1", "c1.c.svc.cluster.local", ""),
		vs("a", "to-b2", "  hosts: [a1]\n  http:\n  - route:\n    - destination: {host: b2.b.svc.cluster.local}\n"),
		vs("c", "c-routes", "  hosts: [c1]\n  http:\n  - route:\n    - destination: {host: c1}\n"),
	}
	sidecar := func(hosts string) string {
		return "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: default, namespace: a}\nspec:\n  egress:\n  - hosts: [" + hosts + "]\n"
	}
	for _, tc := range []struct {
		name         string
		hosts        string
		wantServices []string
		wantVS       []string
	}{
		{"no sidecar", "", []string{"a/a1.a.svc.cluster.local", "b/b1.b.svc.cluster.local", "b/b2.b.svc.cluster.local", "c/c1.c.svc.cluster.local"},
			[]string{"a/to-b2", "c/c-routes"}},
		{"own namespace adds virtual service destinations", `"./*"`,
			[]string{"a/a1.a.svc.cluster.local", "b/b2.b.svc.cluster.local"}, []string{"a/to-b2"}},
		{"a listed namespace decides alone", `"b/b1.b.svc.cluster.local", "*/*"`,
			[]string{"a/a1.a.svc.cluster.local", "b/b1.b.svc.cluster.local", "b/b2.b.svc.cluster.local", "c/c1.c.svc.cluster.local"},
			[]string{"a/to-b2", "c/c-routes"}},
		{"wildcard host", `"*/*.c.svc.cluster.local"`, []string{"c/c1.c.svc.cluster.local"}, []string{"c/c-routes"}},
		{"virtual services by their namespace", `"c/a1.a.svc.cluster.local"`, []string{}, []string{}},
		{"nothing", `"~/*"`, []string{}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			docs := base
			if tc.hosts != "" {
				docs = append(docs[:len(docs):len(docs)], sidecar(tc.hosts))
			}
			v := build(t, nil, docs...).ViewFor(sidecarProxy("a", nil))
			if d := cmp.Diff(tc.wantServices, hostsOf(v.Services)); d != "" {
				t.Errorf("services (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.wantVS, vsNames(v.VirtualServices)); d != "" {
				t.Errorf("virtual services (-want +got):\n%s", d)
			}
		})
	}
}

func TestVirtualServiceVisibilityAndOrder(t *testing.T) {
	route := "  http:\n  - route:\n    - destination: {host: r.a.svc.cluster.local}\n"
	s := build(t, nil,
		se("a", "r", "r.a.svc.cluster.local", ""),
		vs("x", "public-old", "  hosts: [r.a.svc.cluster.local]\n"+route),
		vs("y", "to-b", "  hosts: [r.a.svc.cluster.local]\n  exportTo: [b]\n"+route),
		vs("b", "private", "  hosts: [r.a.svc.cluster.local]\n  exportTo: [.]\n"+route),
		vs("c", "private-c", "  hosts: [r.a.svc.cluster.local]\n  exportTo: [.]\n"+route),
		vs("x", "gateway-only", "  hosts: [r.a.svc.cluster.local]\n  gateways: [gw]\n"+route),
	)
	v := s.ViewFor(sidecarProxy("b", nil))
	want := []string{"b/private", "y/to-b", "x/public-old"}
	if d := cmp.Diff(want, vsNames(v.VirtualServices)); d != "" {
		t.Errorf("order (-want +got):\n%s", d)
	}
	if got := vsNames(v.SidecarHosts[0].VirtualServices); got[0] != "b/private" {
		t.Errorf("binding %v: the own namespace's VirtualService must win", got)
	}
	want = []string{"x/public-old r.a.svc.cluster.local by b/private", "y/to-b r.a.svc.cluster.local by b/private"}
	if d := cmp.Diff(want, noteStrings(v.Ignored)); d != "" {
		t.Errorf("notes (-want +got):\n%s", d)
	}
}

func TestSidecarHostBinding(t *testing.T) {
	route := func(dst string) string { return "  http:\n  - route:\n    - destination: {host: " + dst + "}\n" }
	s := build(t, nil,
		se("a", "api", "api.example.com", "", "80", "8080"),
		se("a", "web", "web.example.com", ""),
		se("a", "deep", "x.deep.example.com", ""),
		se("a", "plain", "plain.a.svc.cluster.local", "", "9080"),
		vs("a", "wild", "  hosts: [\"*.example.com\"]\n"+route("api.example.com")),
		vs("a", "exact-web", "  hosts: [web.example.com]\n"+route("web.example.com")),
		vs("a", "deeper", "  hosts: [\"*.deep.example.com\"]\n"+route("x.deep.example.com")),
		vs("a", "ext", "  hosts: [ext.example.org, api.example.com]\n"+route("api.example.com")),
		vs("a", "ext-again", "  hosts: [ext.example.org]\n"+route("web.example.com")),
	)
	v := s.ViewFor(sidecarProxy("a", nil))
	type binding struct {
		Host  string
		Svc   bool
		Ports []uint32
		VS    []string
	}
	var got []binding
	for _, sh := range v.SidecarHosts {
		got = append(got, binding{sh.Host, sh.Service != nil, sh.Ports, vsNames(sh.VirtualServices)})
	}
	want := []binding{
		// The older wildcard VirtualService is the first candidate for
		// web.example.com (Istio keeps the first virtual host built).
		{"api.example.com", true, nil, []string{"a/wild", "a/ext"}},
		{"web.example.com", true, nil, []string{"a/wild", "a/exact-web"}},
		{"x.deep.example.com", true, nil, []string{"a/deeper"}},
		{"ext.example.org", false, []uint32{80, 8080}, []string{"a/ext"}},
		{"ext.example.org", false, []uint32{80}, []string{"a/ext-again"}},
		{"plain.a.svc.cluster.local", true, nil, []string{}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("bindings (-want +got):\n%s", d)
	}
	wantNotes := []string{
		"a/exact-web web.example.com by a/wild",
		"a/ext api.example.com by a/wild",
		"a/ext-again ext.example.org by a/ext",
	}
	if d := cmp.Diff(wantNotes, noteStrings(v.Ignored)); d != "" {
		t.Errorf("notes (-want +got):\n%s", d)
	}
}

func TestMeshHostConflicts(t *testing.T) {
	route := "  http:\n  - route:\n    - destination: {host: r.a.svc.cluster.local}\n"
	s := build(t, nil,
		se("a", "r", "r.a.svc.cluster.local", ""),
		vs("a", "first", "  hosts: [r.a.svc.cluster.local]\n"+route),
		vs("b", "second", "  hosts: [r.a.svc.cluster.local]\n"+route),
		vs("c", "private", "  hosts: [r.a.svc.cluster.local]\n  exportTo: [.]\n"+route),
		vs("d", "elsewhere", "  hosts: [r.a.svc.cluster.local]\n  exportTo: [e]\n  gateways: [mesh]\n"+route),
		vs("e", "gateway", "  hosts: [r.a.svc.cluster.local]\n  gateways: [gw]\n"+route),
	)
	want := []string{
		"b/second r.a.svc.cluster.local by a/first",
		"c/private r.a.svc.cluster.local by a/first",
		"d/elsewhere r.a.svc.cluster.local by a/first",
	}
	if d := cmp.Diff(want, noteStrings(s.Ignored)); d != "" {
		t.Errorf("notes (-want +got):\n%s", d)
	}
}

func TestGatewayViewNotes(t *testing.T) {
	gw := "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: gw, namespace: istio-system}\nspec:\n  selector: {istio: ingressgateway}\n" +
		"  servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: [\"shop/*.example.com\"]\n"
	route := "  http:\n  - route:\n    - destination: {host: r.a.svc.cluster.local}\n"
	s := build(t, nil, gw,
		se("a", "r", "r.a.svc.cluster.local", ""),
		vs("shop", "ok", "  hosts: [www.example.com]\n  gateways: [istio-system/gw]\n"+route),
		vs("other", "wrong-namespace", "  hosts: [www.example.com]\n  gateways: [istio-system/gw]\n"+route),
		vs("shop", "wrong-host", "  hosts: [www.example.org]\n  gateways: [istio-system/gw]\n"+route),
		vs("shop", "mesh-only", "  hosts: [www.example.com]\n"+route),
	)
	p := &Proxy{Type: Router, Namespace: "istio-system", IPs: []string{"10.0.0.2"}, Labels: map[string]string{"istio": "ingressgateway"}}
	v := s.ViewFor(p)
	if d := cmp.Diff([]string{"shop/ok", "other/wrong-namespace", "shop/wrong-host"}, vsNames(v.GatewayVirtualServices)); d != "" {
		t.Errorf("gateway virtual services (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"other/wrong-namespace", "shop/wrong-host"}, noteStrings(v.Ignored)); d != "" {
		t.Errorf("notes (-want +got):\n%s", d)
	}
}
