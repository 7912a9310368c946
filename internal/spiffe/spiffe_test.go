package spiffe

import (
	"crypto/x509"
	"net/url"
	"testing"
)

func TestParseFormat(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Identity
		wantErr bool
	}{
		{in: "spiffe://cluster.local/ns/default/sa/sleep", want: Identity{"cluster.local", "default", "sleep"}},
		{in: "spiffe://example.org/ns/istio-system/sa/istio-ingressgateway-service-account",
			want: Identity{"example.org", "istio-system", "istio-ingressgateway-service-account"}},
		{in: "https://cluster.local/ns/default/sa/sleep", wantErr: true},
		{in: "spiffe://cluster.local", wantErr: true},
		{in: "spiffe://cluster.local/ns/default", wantErr: true},
		{in: "spiffe://cluster.local/ns/default/sa/sleep/x", wantErr: true},
		{in: "spiffe://Cluster.local/ns/default/sa/sleep", wantErr: true},
		{in: "spiffe://cluster.local/ns//sa/sleep", wantErr: true},
		{in: "spiffe://cluster.local/ns/../sa/sleep", wantErr: true},
		{in: "spiffe://cluster.local/xx/default/sa/sleep", wantErr: true},
		{in: "spiffe:///ns/default/sa/sleep", wantErr: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Parse(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("Parse(%q) = %v, want error", tc.in, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("Parse(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
			if got.String() != tc.in || got.URL().String() != tc.in {
				t.Fatalf("round trip: %q / %q, want %q", got.String(), got.URL().String(), tc.in)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	id, err := New("", "default", "bookinfo-reviews")
	if err != nil {
		t.Fatal(err)
	}
	if id.String() != "spiffe://cluster.local/ns/default/sa/bookinfo-reviews" || id.NamespacedName() != "default/bookinfo-reviews" {
		t.Fatalf("got %s", id)
	}
	if _, err := ParseNamespacedName("cluster.local", "default"); err == nil {
		t.Fatal("want error for a name without a slash")
	}
	got, err := ParseNamespacedName("td", "ns/sa")
	if err != nil || got != (Identity{"td", "ns", "sa"}) {
		t.Fatalf("ParseNamespacedName = %v, %v", got, err)
	}
}

func TestFromCertificate(t *testing.T) {
	u := func(s string) *url.URL {
		v, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	one := &x509.Certificate{URIs: []*url.URL{u("https://example.com"), u("spiffe://cluster.local/ns/a/sa/b")}}
	if id, err := FromCertificate(one); err != nil || id != (Identity{"cluster.local", "a", "b"}) {
		t.Fatalf("FromCertificate = %v, %v", id, err)
	}
	for name, c := range map[string]*x509.Certificate{
		"none": {},
		"two":  {URIs: []*url.URL{u("spiffe://cluster.local/ns/a/sa/b"), u("spiffe://cluster.local/ns/a/sa/c")}},
		"bad":  {URIs: []*url.URL{u("spiffe://cluster.local/a/b")}},
	} {
		if _, err := FromCertificate(c); err == nil {
			t.Errorf("%s: want error", name)
		}
	}
}
