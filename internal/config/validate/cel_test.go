package validate

import (
	"slices"
	"testing"

	"github.com/lateenmesh/lateen/internal/proxy/telemetry/cel"
)

func TestCELRootsMatchProxy(t *testing.T) {
	if !slices.Equal(celRoots, cel.Roots) {
		t.Errorf("celRoots %v differ from the proxy's cel.Roots %v", celRoots, cel.Roots)
	}
}
