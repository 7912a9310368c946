//go:build linux

package e2e

import (
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// What the Bookinfo page shows when a call behind it failed: productpage's
// text when reviews did not answer (after its two attempts), reviews' text
// for a review whose rating could not be fetched.
const (
	reviewsUnavailable = "Sorry, product reviews are currently unavailable for this book."
	ratingsUnavailable = "Ratings service is currently unavailable"
)

// sample is the path of one of Istio's sample files (see istioSamples).
func sample(name string) string { return filepath.Join(istioSamples, name) }

// timedPage fetches /productpage through the ingress as c and says how
// long the page took.
func (d *Demo) timedPage(c *http.Client) (string, time.Duration, error) {
	start := time.Now()
	body, err := d.ingressGet(c, "/productpage")
	return body, time.Since(start), err
}

// servedBy returns the reviews version named under "Reviews served by:",
// "" when the page names none.
func servedBy(body string) string {
	m := servedByRE.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	if v := podRE.FindStringSubmatch(m[1]); v != nil {
		return v[1]
	}
	return ""
}

// unaffected checks that each client's page shows reviews version want
// with its stars, without an error text, and quickly: well under the
// seconds that an injected fault would cost.
func (d *Demo) unaffected(clients map[string]*http.Client, want string) error {
	const quick = 2 * time.Second
	for who, c := range clients {
		body, took, err := d.timedPage(c)
		if err != nil {
			return fmt.Errorf("%s: %w", who, err)
		}
		p, err := parsePage(body)
		switch {
		case err != nil:
			return fmt.Errorf("%s: %w", who, err)
		case p.version != want:
			return fmt.Errorf("%s: page from reviews %s, want %s", who, p.version, want)
		case strings.Contains(body, ratingsUnavailable) || strings.Contains(body, reviewsUnavailable):
			return fmt.Errorf("%s: page shows an error", who)
		case took > quick:
			return fmt.Errorf("%s: page took %s, want under %s", who, took, quick)
		}
	}
	return nil
}

// Istio's "fault injection" task, delay: ratings calls for jason wait 7 s.
// reviews v2 (where jason is routed) waits up to 10 s for ratings, but
// productpage gives reviews 3 s per attempt and two attempts, so jason's
// page shows the reviews error after about 6 s: the bug the task exposes.
// Everyone else stays on reviews v1, without delay.
func TestFaultInjectionDelay(t *testing.T) {
	d := sharedDemo(t)
	jason, alice := d.login(t, "jason"), d.login(t, "alice") // before the delay slows the page
	d.apply(t, sample("virtual-service-all-v1.yaml"), sample("virtual-service-reviews-test-v2.yaml"),
		sample("virtual-service-ratings-test-delay.yaml"))

	// jason's first page with the reviews error is the measurement: it
	// needs both productpage attempts to time out on the delayed ratings.
	var took time.Duration
	eventually(t, propagation, "jason's page to show the reviews error", func() error {
		body, dt, err := d.timedPage(jason)
		if err != nil {
			return err
		}
		if !strings.Contains(body, reviewsUnavailable) {
			return fmt.Errorf("jason's page (in %s) shows reviews %q", dt.Round(time.Millisecond), servedBy(body))
		}
		took = dt
		return nil
	})
	t.Logf("jason's page showed the reviews error after %s", took.Round(time.Millisecond))
	if took < 5500*time.Millisecond || took > 8*time.Second {
		t.Errorf("jason's page took %s, want about 6 s (two 3 s attempts), between 5.5 s and 8 s", took)
	}
	eventually(t, propagation, "alice and anonymous on reviews v1, without delay", func() error {
		return d.unaffected(map[string]*http.Client{"alice": alice, "anonymous": d.client}, "v1")
	})
}

// Istio's "fault injection" task, abort: ratings answers 500 to jason's
// calls, so his page shows "Ratings service is currently unavailable".
// Others are unaffected: on the task's routing they stay on reviews v1;
// sent to reviews v2 as well, they see its black stars, so the abort
// matches jason's calls only, not every call to ratings.
func TestFaultInjectionAbort(t *testing.T) {
	d := sharedDemo(t)
	jason, alice := d.login(t, "jason"), d.login(t, "alice")
	d.apply(t, sample("virtual-service-all-v1.yaml"), sample("virtual-service-reviews-test-v2.yaml"),
		sample("virtual-service-ratings-test-abort.yaml"))
	others := map[string]*http.Client{"alice": alice, "anonymous": d.client}

	eventually(t, propagation, "jason's page without ratings, others on reviews v1", func() error {
		if err := d.ratingsFailFor(jason); err != nil {
			return err
		}
		return d.unaffected(others, "v1")
	})

	d.apply(t, writeYAML(t, "reviews-all-v2.yaml", reviewsTo("v2")))
	eventually(t, propagation, "others on reviews v2 with black stars, jason still without ratings", func() error {
		if err := d.unaffected(others, "v2"); err != nil {
			return err
		}
		return d.ratingsFailFor(jason)
	})
}

// ratingsFailFor checks that c's page comes from reviews v2 and shows the
// ratings error instead of stars.
func (d *Demo) ratingsFailFor(c *http.Client) error {
	body, err := d.ingressGet(c, "/productpage")
	if err != nil {
		return err
	}
	if v := servedBy(body); v != "v2" || !strings.Contains(body, ratingsUnavailable) {
		return fmt.Errorf("page from reviews %q, with stars %q and no %q", v, stars(body), ratingsUnavailable)
	}
	return nil
}

// Istio's "traffic shifting" task: half the reviews traffic to v3, then
// all of it.
func TestTrafficShifting(t *testing.T) {
	d := sharedDemo(t)
	d.apply(t, sample("virtual-service-reviews-50-v3.yaml"))
	// Before the split the pages rotate over v1, v2 and v3, so 20 pages
	// without v2 mean the split is in place.
	eventually(t, propagation, "reviews split between v1 and v3", func() error {
		seen, err := d.versions(d.client, 20)
		if err != nil {
			return err
		}
		if seen["v2"] > 0 {
			return fmt.Errorf("reviews versions over 20 pages: %v, want no v2", seen)
		}
		return nil
	})

	// Each page picks v1 with probability 1/2, independently (Envoy's
	// weighted clusters draw a random number per request), so the count
	// of v1 over n pages is Binomial(n, 1/2): it falls outside [lo, hi]
	// with probability at most 1/1000, which bounds false failures.
	const n = 100
	lo, hi := binomialBounds(n, 0.5, 0.001)
	seen, err := d.versions(d.client, n)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("50/50 split over %d pages: %v (99.9%% bounds for each: [%d, %d])", n, seen, lo, hi)
	if seen["v1"]+seen["v3"] != n || seen["v1"] < lo || seen["v1"] > hi {
		t.Errorf("reviews versions over %d pages: %v, want only v1 and v3, each between %d and %d", n, seen, lo, hi)
	}

	d.apply(t, writeYAML(t, "reviews-v3.yaml", reviewsTo("v3")))
	eventually(t, propagation, "every page on reviews v3 (red stars)", func() error {
		return d.allOn(d.client, "v3", 20)
	})
}

// binomialBounds returns the narrowest [lo, hi] such that a
// Binomial(n, p) count is below lo with probability at most alpha/2 and
// above hi with probability at most alpha/2.
func binomialBounds(n int, p, alpha float64) (lo, hi int) {
	lgn, _ := math.Lgamma(float64(n + 1))
	pmf := func(k int) float64 {
		a, _ := math.Lgamma(float64(k + 1))
		b, _ := math.Lgamma(float64(n - k + 1))
		return math.Exp(lgn - a - b + float64(k)*math.Log(p) + float64(n-k)*math.Log1p(-p))
	}
	for tail := 0.0; tail+pmf(lo) <= alpha/2; lo++ {
		tail += pmf(lo)
	}
	hi = n
	for tail := 0.0; tail+pmf(hi) <= alpha/2; hi-- {
		tail += pmf(hi)
	}
	return lo, hi
}

func TestBinomialBounds(t *testing.T) {
	// P(X <= 33) = 0.00044 and P(X <= 34) = 0.00089 for Binomial(100, 1/2).
	if lo, hi := binomialBounds(100, 0.5, 0.001); lo != 34 || hi != 66 {
		t.Errorf("binomialBounds(100, 0.5, 0.001) = [%d, %d], want [34, 66]", lo, hi)
	}
}

// requestTimeouts is Istio's "request timeouts" task: ratings delayed by
// 2 s, reviews routed to v2 with a 0.5 s timeout.
const requestTimeouts = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ratings
spec:
  hosts:
  - ratings
  http:
  - fault:
      delay:
        percentage:
          value: 100
        fixedDelay: 2s
    route:
    - destination:
        host: ratings
        subset: v1
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts:
  - reviews
  http:
  - route:
    - destination:
        host: reviews
        subset: v2
    timeout: 0.5s
`

// Istio's "request timeouts" task: reviews v2 waits 2 s for ratings, but
// productpage's sidecar gives the reviews call 0.5 s and answers 504;
// productpage tries reviews twice, so the page shows the reviews error
// after about 1 s, and the sidecar counts both timeouts.
func TestRequestTimeouts(t *testing.T) {
	d := sharedDemo(t)
	d.apply(t, writeYAML(t, "request-timeouts.yaml", requestTimeouts))
	pp := d.workload(t, "productpage-v1")
	const timeouts = "cluster.outbound|9080|v2|reviews.default.svc.cluster.local.upstream_rq_timeout"

	var took time.Duration
	var before int64
	eventually(t, propagation, "the page to show the reviews error", func() error {
		before = d.stat(t, pp, timeouts)
		body, dt, err := d.timedPage(d.client)
		if err != nil {
			return err
		}
		if !strings.Contains(body, reviewsUnavailable) {
			return fmt.Errorf("page (in %s) shows reviews %q", dt.Round(time.Millisecond), servedBy(body))
		}
		took = dt
		return nil
	})
	t.Logf("the page showed the reviews error after %s", took.Round(time.Millisecond))
	// Two attempts that each end at the 0.5 s timeout: at least 1 s. The
	// upper bound leaves room for a busy machine; the error text already
	// shows the timeout fired (without it the page takes 2 s, with stars)
	// and the counter below that there were two attempts.
	if took < 950*time.Millisecond || took > 2500*time.Millisecond {
		t.Errorf("the page took %s, want about 1 s (two 0.5 s attempts)", took)
	}
	// The sidecar may count the second timeout just after answering it.
	eventually(t, propagation, "productpage's sidecar to count both timeouts", func() error {
		if after := d.stat(t, pp, timeouts); after-before != 2 {
			return fmt.Errorf("%s of productpage's sidecar: %d before the page, %d after, want 2 more", timeouts, before, after)
		}
		return nil
	})
}
