package mesh

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func peerAuthn(ns, name, labels, mode, ports string) string {
	s := "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: " + name + ", namespace: " + ns + "}\nspec:\n"
	if labels != "" {
		s += "  selector: {matchLabels: {" + labels + "}}\n"
	}
	if mode != "" {
		s += "  mtls: {mode: " + mode + "}\n"
	}
	if ports != "" {
		s += "  portLevelMtls: {" + ports + "}\n"
	}
	return s
}

func TestPeerAuthenticationComposition(t *testing.T) {
	tests := []struct {
		name   string
		docs   []string
		labels map[string]string
		want   PeerAuthn
	}{
		{"none: PERMISSIVE", nil, nil, PeerAuthn{Mode: MTLSPermissive}},
		{"mesh", []string{peerAuthn("istio-system", "m", "", "STRICT", "")}, nil, PeerAuthn{Mode: MTLSStrict}},
		{"namespace over mesh", []string{
			peerAuthn("istio-system", "m", "", "STRICT", ""), peerAuthn("default", "ns-policy", "", "DISABLE", ""),
		}, nil, PeerAuthn{Mode: MTLSDisable}},
		{"UNSET inherits", []string{
			peerAuthn("istio-system", "m", "", "STRICT", ""), peerAuthn("default", "ns-policy", "", "UNSET", ""),
			peerAuthn("default", "w", "app: web", "", ""),
		}, map[string]string{"app": "web"}, PeerAuthn{Mode: MTLSStrict}},
		{"oldest mesh policy counts", []string{
			peerAuthn("istio-system", "old", "", "DISABLE", ""), peerAuthn("istio-system", "new", "", "STRICT", ""),
		}, nil, PeerAuthn{Mode: MTLSDisable}},
		{"empty selector is namespace-wide", []string{
			peerAuthn("istio-system", "m", "", "STRICT", ""),
			"apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: e, namespace: default}\nspec:\n  selector: {}\n  mtls: {mode: PERMISSIVE}\n",
		}, nil, PeerAuthn{Mode: MTLSPermissive}},
		{"workload with ports", []string{
			peerAuthn("default", "w", "app: web", "STRICT", "8080: {mode: DISABLE}, 9090: {mode: UNSET}"),
			peerAuthn("default", "w-newer", "app: web", "DISABLE", ""),
		}, map[string]string{"app": "web"}, PeerAuthn{Mode: MTLSStrict, PerPort: map[uint32]MTLSMode{8080: MTLSDisable, 9090: MTLSStrict}}},
		{"root namespace selector ignored", []string{peerAuthn("istio-system", "r", "app: web", "STRICT", "")},
			map[string]string{"app": "web"}, PeerAuthn{Mode: MTLSPermissive}},
		{"other workloads", []string{peerAuthn("default", "w", "app: db", "STRICT", "")},
			map[string]string{"app": "web"}, PeerAuthn{Mode: MTLSPermissive}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := build(t, nil, tt.docs...).ViewFor(sidecarProxy("default", tt.labels)).PeerAuthentication()
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestNamespaceMTLSMode(t *testing.T) {
	snap := build(t, nil, peerAuthn("istio-system", "m", "", "STRICT", ""), peerAuthn("legacy", "ns-policy", "", "DISABLE", ""),
		peerAuthn("unset", "ns-policy", "", "UNSET", ""), peerAuthn("default", "w", "app: web", "DISABLE", ""))
	v := snap.ViewFor(sidecarProxy("default", nil))
	for ns, want := range map[string]MTLSMode{"legacy": MTLSDisable, "unset": MTLSStrict, "default": MTLSStrict, "other": MTLSStrict} {
		if got := v.NamespaceMTLSMode(ns); got != want {
			t.Errorf("%s: %s, want %s", ns, got, want)
		}
	}
	if got := build(t, nil).ViewFor(sidecarProxy("default", nil)).NamespaceMTLSMode("default"); got != MTLSUnset {
		t.Errorf("no policy: %s, want UNSET", got)
	}
}
