package http

import (
	nethttp "net/http"
	"testing"

	"github.com/cespare/xxhash/v2"

	"github.com/lateenmesh/lateen/internal/proxy/lb"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

func hashFor(t *testing.T, policies []resource.HashPolicy, target string, hdr ...string) (uint64, bool) {
	t.Helper()
	r, err := nethttp.NewRequest(nethttp.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	f := &forward{action: &resource.RouteAction{HashPolicies: policies},
		info: &Info{DownstreamPeer: "10.0.0.1:5555", DownstreamLocal: "10.0.0.2:80"}}
	return f.requestHash(r)
}

func TestRequestHashCombinesPoliciesAsEnvoy(t *testing.T) {
	user := resource.HashPolicy{Header: "x-user"}
	query := resource.HashPolicy{QueryParam: "q"}
	h, ok := hashFor(t, []resource.HashPolicy{user}, "http://h/", "X-User", "alice")
	if !ok || h != lb.HashString("alice") {
		t.Errorf("header hash %x %v", h, ok)
	}
	// Several values hash in sorted order, chained through the seed.
	a, _ := hashFor(t, []resource.HashPolicy{user}, "http://h/", "X-User", "b", "X-User", "a")
	b, _ := hashFor(t, []resource.HashPolicy{user}, "http://h/", "X-User", "a", "X-User", "b")
	d := xxhash.NewWithSeed(lb.HashString("a"))
	_, _ = d.WriteString("b")
	if a != b || a != d.Sum64() {
		t.Errorf("multi-value header hashes %x and %x, want %x for either order", a, b, d.Sum64())
	}
	both, _ := hashFor(t, []resource.HashPolicy{user, query}, "http://h/?q=1&q=2", "X-User", "alice")
	first := lb.HashString("alice")
	if want := (first<<1 | first>>63) ^ lb.HashString("1"); both != want {
		t.Errorf("combined hash %x, want %x", both, want)
	}
	terminal := user
	terminal.Terminal = true
	if h, _ := hashFor(t, []resource.HashPolicy{terminal, query}, "http://h/?q=1", "X-User", "alice"); h != first {
		t.Errorf("terminal policy did not stop the list: %x", h)
	}
	if _, ok := hashFor(t, []resource.HashPolicy{user, query}, "http://h/"); ok {
		t.Error("a hash without any input")
	}
	src, _ := hashFor(t, []resource.HashPolicy{{SourceIP: true}}, "http://h/")
	if src != lb.HashString("10.0.0.1") {
		t.Errorf("source ip hash %x", src)
	}
}

func TestGeneratedHashCookie(t *testing.T) {
	policies := []resource.HashPolicy{{Cookie: "s", CookiePath: "/p", CookieTTL: 90e9, CookieGenerate: true}, {Cookie: "session", CookieGenerate: true}}
	r, _ := nethttp.NewRequest(nethttp.MethodGet, "http://h/", nil)
	r.Header.Set("Cookie", `session="abc"`)
	f := &forward{action: &resource.RouteAction{HashPolicies: policies},
		info: &Info{DownstreamPeer: "10.0.0.1:5555", DownstreamLocal: "10.0.0.2:80"}}
	value := f.generatedCookieValue()
	h, _ := f.requestHash(r)
	gen := lb.HashString(value)
	if want := (gen<<1 | gen>>63) ^ lb.HashString("abc"); h != want {
		t.Errorf("hash %x, want the generated cookie's then the quoted one's", h)
	}
	resp := &nethttp.Response{Header: nethttp.Header{}}
	f.setHashCookies(r, resp)
	want := `s="` + value + `"; Max-Age=90; Path=/p; HttpOnly`
	if got := resp.Header.Values("Set-Cookie"); len(got) != 1 || got[0] != want {
		t.Errorf("Set-Cookie %q, want only %q", got, want)
	}
}
