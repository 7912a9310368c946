package mesh

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lateenmesh/lateen/internal/config"
)

func TestPoliciesBroadestFirst(t *testing.T) {
	pa := func(ns, name, selector string) string {
		s := "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: " + name + ", namespace: " + ns + "}\nspec:\n"
		if selector != "" {
			s += "  selector: {matchLabels: {app: " + selector + "}}\n"
		}
		return s + "  mtls: {mode: STRICT}\n"
	}
	snap := build(t, nil,
		pa("default", "workload", "reviews"),
		pa("istio-system", "mesh", ""),
		pa("default", "ns", ""),
		pa("default", "other-workload", "ratings"),
		pa("other", "other-ns", ""),
		pa("istio-system", "root-selector", "reviews"),
	)
	view := snap.ViewFor(&Proxy{ID: "p", Type: Sidecar, Namespace: "default", Labels: map[string]string{"app": "reviews"}})
	var got []string
	for _, p := range view.Policies(config.PeerAuthentication) {
		got = append(got, p.Scope.String()+":"+p.Object.Meta.Name)
	}
	want := []string{"mesh:mesh", "namespace:ns", "workload:workload"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("policies (-want +got):\n%s", d)
	}
}
