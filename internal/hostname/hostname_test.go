package hostname

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestResolve(t *testing.T) {
	for _, tc := range []struct{ in, ns, want string }{
		{"reviews", "default", "reviews.default.svc.cluster.local"},
		{"reviews.default.svc.cluster.local", "other", "reviews.default.svc.cluster.local"},
		{"reviews.default", "other", "reviews.default"},
		{"*", "default", "*"},
		{"*.example.com", "default", "*.example.com"},
	} {
		if got := Resolve(tc.in, tc.ns, "cluster.local"); got != tc.want {
			t.Errorf("Resolve(%q, %q) = %q, want %q", tc.in, tc.ns, got, tc.want)
		}
	}
}

func TestMatches(t *testing.T) {
	for _, tc := range []struct {
		pattern, host string
		want          bool
	}{
		{"*", "a.b", true},
		{"a.b", "a.b", true},
		{"a.b", "c.b", false},
		{"*.b", "a.b", true},
		{"*.b", "x.a.b", true},
		{"*.b", "b", false},
		{"*.b", "*.a.b", true},
		{"*.a.b", "*.b", false},
		{"a.b", "*.b", false},
	} {
		if got := Matches(tc.pattern, tc.host); got != tc.want {
			t.Errorf("Matches(%q, %q) = %v, want %v", tc.pattern, tc.host, got, tc.want)
		}
	}
}

func TestIntersect(t *testing.T) {
	if got := Intersect("*.example.com", "a.example.com"); got != "a.example.com" {
		t.Errorf("got %q", got)
	}
	if got := Intersect("a.example.com", "*"); got != "a.example.com" {
		t.Errorf("got %q", got)
	}
	if got := Intersect("a.example.com", "b.example.com"); got != "" {
		t.Errorf("got %q", got)
	}
}

func TestShortNames(t *testing.T) {
	got := ShortNames("reviews.default.svc.cluster.local", "default", "cluster.local")
	want := []string{"reviews.default.svc.cluster.local", "reviews", "reviews.default.svc", "reviews.default"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("same namespace (-want +got):\n%s", d)
	}
	got = ShortNames("reviews.default.svc.cluster.local", "other", "cluster.local")
	want = []string{"reviews.default.svc.cluster.local", "reviews.default", "reviews.default.svc"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("other namespace (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"api.example.com"}, ShortNames("api.example.com", "default", "cluster.local")); d != "" {
		t.Error(d)
	}
}

func TestAltNames(t *testing.T) {
	for _, tc := range []struct {
		host, ns string
		want     []string
	}{
		{"reviews.default.svc.cluster.local", "default", []string{"reviews", "reviews.default.svc", "reviews.default"}},
		{"reviews.default.svc.cluster.local", "other", []string{"reviews.default", "reviews.default.svc"}},
		{"reviews.default.svc.other.local", "default", nil},
		{"a.b.default.svc.cluster.local", "default", nil},
		{"api.example.com", "default", nil},
		{".default.svc.cluster.local", "default", nil},
	} {
		if d := cmp.Diff(tc.want, AltNames(tc.host, tc.ns, "cluster.local")); d != "" {
			t.Errorf("AltNames(%q, %q) (-want +got):\n%s", tc.host, tc.ns, d)
		}
	}
}

func TestOverlaps(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"*.example.com", "a.example.com", true},
		{"a.example.com", "*.example.com", true},
		{"*.example.com", "*.a.example.com", true},
		{"a.example.com", "b.example.com", false},
		{"*", "anything", true},
		{"*.a.com", "*.b.com", false},
	} {
		if got := Overlaps(tc.a, tc.b); got != tc.want {
			t.Errorf("Overlaps(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}
