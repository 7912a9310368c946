// Package layering checks the architecture's import rules with `go list`:
// the proxy never links Kubernetes client libraries or control-plane
// packages, and translation stays a pure function of its view.
package layering

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/lateenmesh/lateen/"

func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, ee.Stderr)
		}
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

func TestLayering(t *testing.T) {
	for _, tc := range []struct {
		pkg       string
		forbidden []string
	}{
		{module + "cmd/lateen-proxy", []string{
			"k8s.io/client-go", "k8s.io/apimachinery",
			module + "internal/config", module + "internal/mesh", module + "internal/translate",
			module + "internal/xds", module + "internal/registry", module + "internal/pilot",
			module + "internal/ca",
		}},
		{module + "internal/proxy/...", []string{module + "internal/mesh", module + "internal/translate", module + "internal/xds", module + "internal/ca"}},
		{module + "internal/translate", []string{module + "internal/xds", module + "internal/pilot", "k8s.io/client-go", "os/exec"}},
		{module + "internal/mesh", []string{module + "internal/xds", module + "internal/translate", "k8s.io/client-go"}},
	} {
		for _, d := range deps(t, tc.pkg) {
			for _, f := range tc.forbidden {
				if d == f || strings.HasPrefix(d, f+"/") {
					t.Errorf("%s depends on %s (forbidden: %s)", tc.pkg, d, f)
				}
			}
		}
	}
}
