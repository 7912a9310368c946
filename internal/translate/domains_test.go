package translate

import (
	"path/filepath"
	"testing"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"github.com/google/go-cmp/cmp"
)

// TestRouteConfigsHaveUniqueDomains checks every golden case: Envoy rejects a
// route configuration that lists a domain twice, and two virtual hosts with
// one name would be ambiguous.
func TestRouteConfigsHaveUniqueDomains(t *testing.T) {
	cases, err := filepath.Glob("testdata/*/input.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range cases {
		dir := filepath.Dir(in)
		snap, proxies := loadCase(t, dir)
		for _, tp := range proxies {
			for _, rc := range Translate(snap.ViewFor(tp.proxy())).Routes {
				names, domains := map[string]bool{}, map[string]string{}
				for _, vh := range rc.VirtualHosts {
					if names[vh.Name] {
						t.Errorf("%s/%s: route %s: virtual host name %q twice", filepath.Base(dir), tp.Name, rc.Name, vh.Name)
					}
					names[vh.Name] = true
					for _, d := range vh.Domains {
						if prev, dup := domains[d]; dup {
							t.Errorf("%s/%s: route %s: domain %q in %s and %s", filepath.Base(dir), tp.Name, rc.Name, d, prev, vh.Name)
						}
						domains[d] = vh.Name
					}
				}
			}
		}
	}
}

func TestWithPort(t *testing.T) {
	for _, tc := range []struct {
		name string
		port uint32
		want []string
	}{
		{"Reviews", 9080, []string{"reviews:9080"}},
		{"reviews", 80, []string{"reviews", "reviews:80"}},
		{"10.0.0.1", 80, []string{"10.0.0.1", "10.0.0.1:80"}},
		{"2001:db8::1", 8080, []string{"[2001:db8::1]:8080"}},
	} {
		if d := cmp.Diff(tc.want, withPort(nil, tc.name, tc.port)); d != "" {
			t.Errorf("withPort(%q, %d) (-want +got):\n%s", tc.name, tc.port, d)
		}
	}
}

func TestVhostSetKeepsFirstClaim(t *testing.T) {
	s := newVhostSet(map[string]bool{"reviews.default:9080": true})
	if !s.claim("a:9080") || s.claim("a:9080") {
		t.Fatal("a name must be claimed once")
	}
	s.add(vh("a", "a:9080", "shared:9080", "reviews.default:9080"), []string{"reviews.default:9080"})
	s.add(vh("b", "b:9080", "shared:9080"), nil)
	s.add(vh("c", "shared:9080"), nil) // nothing left: dropped
	var got [][]string
	for _, v := range s.sorted() {
		got = append(got, append([]string{v.Name}, v.Domains...))
	}
	want := [][]string{{"a", "a:9080", "shared:9080"}, {"b", "b:9080"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("virtual hosts (-want +got):\n%s", d)
	}
}

func vh(name string, domains ...string) *routev3.VirtualHost {
	return &routev3.VirtualHost{Name: name, Domains: domains}
}
