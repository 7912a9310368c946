//go:build linux

package e2e

import (
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

// istioSamples holds Istio's Bookinfo networking samples as the project
// keeps them (the validation tests check them too).
const istioSamples = "../../internal/config/validate/testdata"

// propagation bounds how long a config change may take to show in
// traffic; it is generous for a busy shared machine (the 3 s target is
// asserted where the issue names it).
const propagation = 30 * time.Second

// The seed's request-routing task (Istio's Bookinfo "request routing"):
// everything to v1, then user jason to v2 while everyone else stays on v1.
func TestRequestRouting(t *testing.T) {
	d := sharedDemo(t)
	allV1 := filepath.Join(istioSamples, "virtual-service-all-v1.yaml")
	testV2 := filepath.Join(istioSamples, "virtual-service-reviews-test-v2.yaml")

	d.apply(t, allV1)
	eventually(t, propagation, "every page on reviews v1 (no stars)", func() error {
		return d.allOn(d.client, "v1", 10)
	})

	d.apply(t, testV2)
	jason, other := d.login(t, "jason"), d.login(t, "alice")
	eventually(t, propagation, "jason on reviews v2, everyone else on v1", func() error {
		for _, c := range []struct {
			who    string
			client *http.Client
			want   string
		}{{"jason", jason, "v2"}, {"alice", other, "v1"}, {"anonymous", d.client, "v1"}} {
			if err := d.allOn(c.client, c.want, 6); err != nil {
				return fmt.Errorf("%s: %w", c.who, err)
			}
		}
		return nil
	})

	// The task's cleanup step.
	d.delete(t, allV1)
	eventually(t, propagation, "reviews rotating again", func() error { return d.rotates(d.client, 30) })
}
