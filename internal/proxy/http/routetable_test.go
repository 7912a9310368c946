package http

import (
	"fmt"
	"testing"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

func table(t testing.TB, domains ...[]string) *RouteTable {
	t.Helper()
	rc := &resource.RouteConfig{Name: "r"}
	for i, d := range domains {
		rc.VirtualHosts = append(rc.VirtualHosts, resource.VirtualHost{Name: fmt.Sprint(i), Domains: d})
	}
	rt, err := NewRouteTable(rc)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

func TestSelectVHostPrecedence(t *testing.T) {
	rt := table(t,
		[]string{"*"},
		[]string{"reviews", "reviews:9080"},
		[]string{"*.example.com"},
		[]string{"*.b.example.com"},
		[]string{"api.*"},
		[]string{"api.example.*"},
		[]string{"*-suffix.example.com"},
	)
	tests := []struct{ host, want string }{
		{"reviews", "1"},
		{"reviews:9080", "1"},
		{"reviews:9081", "0"},
		{"x.example.com", "2"},
		{"x.b.example.com", "3"}, // longest suffix wins
		{".example.com", "0"},    // the wildcard matches at least one character
		{"api.example.com", "2"}, // suffix wildcard beats prefix wildcard
		{"api.example.org", "5"}, // longest prefix wins
		{"api.other", "4"},
		{"my-suffix.example.com", "6"}, // longer suffix than *.example.com
		{"unknown", "0"},
	}
	for _, tt := range tests {
		if vh := rt.selectVHost(tt.host); vh == nil || vh.cfg.Name != tt.want {
			t.Errorf("selectVHost(%q) = %v, want virtual host %s", tt.host, vh, tt.want)
		}
	}
	if vh := table(t, []string{"a"}).selectVHost("b"); vh != nil {
		t.Errorf("no match: got %v", vh)
	}
}

// BenchmarkRouteSelect shows that virtual host selection does not grow with
// the number of virtual hosts (maps, not a scan).
func BenchmarkRouteSelect(b *testing.B) {
	for _, n := range []int{10, 1000} {
		var domains [][]string
		for i := range n {
			host := fmt.Sprintf("svc-%d.ns.svc.cluster.local", i)
			domains = append(domains, []string{host, host + ":80", fmt.Sprintf("svc-%d", i), fmt.Sprintf("*.wild-%d.example", i)})
		}
		domains = append(domains, []string{"*"})
		rt := table(b, domains...)
		hosts := []string{
			fmt.Sprintf("svc-%d.ns.svc.cluster.local:80", n/2), // exact
			fmt.Sprintf("x.wild-%d.example", n-1),              // suffix wildcard
			"nothing.example",                                  // falls to "*"
		}
		b.Run(fmt.Sprintf("vhosts=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if rt.selectVHost(hosts[i%len(hosts)]) == nil {
					b.Fatal("no virtual host")
				}
			}
		})
	}
}
