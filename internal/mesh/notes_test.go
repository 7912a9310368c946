package mesh

import (
	"encoding/json"
	"testing"

	"github.com/lateenmesh/lateen/internal/config"
)

func TestNoteJSON(t *testing.T) {
	n := Note{
		Object: config.Key{Kind: config.VirtualService, Namespace: "b", Name: "newer"},
		Host:   "reviews.default.svc.cluster.local",
		By:     config.Key{Kind: config.VirtualService, Namespace: "a", Name: "oldest"},
		Reason: "shadowed",
	}
	b, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"object":"VirtualService b/newer","host":"reviews.default.svc.cluster.local","by":"VirtualService a/oldest","reason":"shadowed"}`
	if string(b) != want {
		t.Errorf("got %s\nwant %s", b, want)
	}
	b, _ = json.Marshal(Note{Object: n.Object, Reason: "r"})
	if want := `{"object":"VirtualService b/newer","reason":"r"}`; string(b) != want {
		t.Errorf("got %s\nwant %s", b, want)
	}
	if got := n.String(); got != "VirtualService b/newer host reviews.default.svc.cluster.local: shadowed" {
		t.Errorf("String() = %q", got)
	}
}
