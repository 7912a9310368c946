//go:build linux

package e2e

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// page is what a Bookinfo /productpage shows about who served it.
type page struct {
	version string // reviews version: v1 (no stars), v2 (black), v3 (red)
	pod     string // "Reviews served by:"
	user    string // signed-in user, "" when anonymous
}

var (
	servedByRE = regexp.MustCompile(`Reviews served by:</dt><u>([^<]*)</u>`)
	podRE      = regexp.MustCompile(`^reviews-(v[123])-[a-z0-9]+$`)
	userRE     = regexp.MustCompile(`Welcome ([^<]+)</span>`)
)

// starColor is the colour of the rating stars each reviews version shows.
var starColor = map[string]string{"v1": "", "v2": "black", "v3": "red"}

// parsePage reads the reviews version from the pod named under "Reviews
// served by:" and checks that the stars match it.
func parsePage(body string) (page, error) {
	m := servedByRE.FindStringSubmatch(body)
	if m == nil {
		return page{}, fmt.Errorf("no \"Reviews served by:\" in the page: %.600s", body)
	}
	v := podRE.FindStringSubmatch(m[1])
	if v == nil {
		return page{}, fmt.Errorf("reviews served by %q: not a reviews pod name", m[1])
	}
	p := page{version: v[1], pod: m[1]}
	if u := userRE.FindStringSubmatch(body); u != nil {
		p.user = u[1]
	}
	if got := stars(body); got != starColor[p.version] {
		return p, fmt.Errorf("page served by %s shows stars %q, want %q", p.pod, got, starColor[p.version])
	}
	return p, nil
}

// stars returns the colour of the page's rating stars, "" for none.
func stars(body string) string {
	if !strings.Contains(body, "glyphicon-star") {
		return ""
	}
	var colors []string
	for _, c := range []string{"black", "red"} {
		if strings.Contains(body, `<font color="`+c+`">`) {
			colors = append(colors, c)
		}
	}
	return strings.Join(colors, "+")
}

// productPage fetches /productpage through the ingress as client c.
func (d *Demo) productPage(c *http.Client) (page, error) {
	body, err := d.ingressGet(c, "/productpage")
	if err != nil {
		return page{}, err
	}
	return parsePage(body)
}

// versions fetches n pages and counts the reviews versions they show.
func (d *Demo) versions(c *http.Client, n int) (map[string]int, error) {
	seen := map[string]int{}
	for range n {
		p, err := d.productPage(c)
		if err != nil {
			return seen, err
		}
		seen[p.version]++
	}
	return seen, nil
}

// allOn checks that n pages in a row show reviews version v.
func (d *Demo) allOn(c *http.Client, v string, n int) error {
	seen, err := d.versions(c, n)
	if err != nil {
		return err
	}
	if seen[v] != n {
		return fmt.Errorf("reviews versions over %d pages: %v, want all %s", n, seen, v)
	}
	return nil
}

// rotates checks that n pages show all three reviews versions.
func (d *Demo) rotates(c *http.Client, n int) error {
	seen, err := d.versions(c, n)
	if err != nil {
		return err
	}
	if got := slices.Sorted(maps.Keys(seen)); !slices.Equal(got, []string{"v1", "v2", "v3"}) {
		return fmt.Errorf("reviews versions over %d pages: %v, want v1, v2 and v3", n, seen)
	}
	return nil
}

// login signs in user through the ingress (POST /login, as the page's
// form does) and returns a client that keeps the session cookie.
func (d *Demo) login(t *testing.T, user string) *http.Client {
	t.Helper()
	c := newSession()
	resp, err := c.PostForm(d.Ingress+"/login", url.Values{"username": {user}, "passwd": {"password"}})
	if err != nil {
		t.Fatalf("login as %s: %v", user, err)
	}
	body, err := readOK(resp) // the redirect to /productpage, followed
	if err != nil {
		t.Fatalf("login as %s: %v", user, err)
	}
	if p, err := parsePage(body); err != nil || p.user != user {
		t.Fatalf("after login as %s: page for user %q (%v)", user, p.user, err)
	}
	return c
}

// Foundation 1: the Bookinfo page through the ingress, reviews rotating
// over v1, v2 and v3, each page naming the pod that served it.
func TestProductPageThroughIngress(t *testing.T) {
	d := sharedDemo(t)
	const n = 30
	eventually(t, propagation, fmt.Sprintf("all three reviews versions over %d pages", n), func() error {
		return d.rotates(d.client, n)
	})
	body, err := d.ingressGet(d.client, "/productpage")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<title>Simple Bookstore App</title>", "The Comedy of Errors", "Book Details", "Book Reviews"} {
		if !strings.Contains(body, want) {
			t.Errorf("product page lacks %q", want)
		}
	}
}

// reviewsTo is a VirtualService "reviews" sending every request to one
// subset (Istio's virtual-service-reviews-<subset>.yaml).
func reviewsTo(subset string) string {
	return `apiVersion: networking.istio.io/v1
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
        subset: ` + subset + "\n"
}

// A negative weight: pilot must reject it and keep the last good version.
var reviewsBroken = reviewsTo("v3") + "      weight: -10\n"

// Foundation 3: a VirtualService to subset v1 takes effect within 3 s, a
// broken edit of it is rejected (named precisely, in /debug/configz and
// pilot's log) while routing stays as it was, and deleting it restores
// the rotation.
func TestRouteReviewsToV1(t *testing.T) {
	d := sharedDemo(t)
	vs := writeYAML(t, "reviews-v1.yaml", reviewsTo("v1"))
	start := time.Now()
	d.apply(t, vs)
	eventually(t, propagation, "every page on reviews v1", func() error { return d.allOn(d.client, "v1", 10) })
	took := time.Since(start)
	t.Logf("every page on reviews v1 %s after lateen apply", took.Round(time.Millisecond))
	if took > 3*time.Second {
		t.Errorf("reviews moved to v1 after %s, want within 3s", took)
	}

	d.breakReviews(t)
	if err := d.allOn(d.client, "v1", 10); err != nil {
		t.Errorf("after the broken edit: %v", err)
	}

	d.delete(t, vs)
	eventually(t, propagation, "reviews rotating again", func() error { return d.rotates(d.client, 30) })
}

// breakReviews overwrites the file that defines VirtualService reviews
// with a broken version and checks how pilot reports it.
func (d *Demo) breakReviews(t *testing.T) {
	t.Helper()
	cz, err := d.configz()
	if err != nil {
		t.Fatal(err)
	}
	file := originFile(t, cz, "VirtualService/default/reviews")
	if err := writeFileAtomic(file, []byte(reviewsBroken)); err != nil {
		t.Fatal(err)
	}
	var rej rejectedEntry
	eventually(t, propagation, "pilot to reject the broken VirtualService", func() error {
		cz, err := d.configz()
		if err != nil {
			return err
		}
		for _, r := range cz.Rejected {
			if r.key() == "VirtualService/default/reviews" {
				rej = r
				return nil
			}
		}
		return fmt.Errorf("not rejected yet: %v", cz.Rejected)
	})
	names := []string{file, "document 1", "VirtualService default/reviews", "spec.http[0].route[0].weight"}
	if !containsAll(rej.Error, names) {
		t.Errorf("rejection %q does not name all of %q", rej.Error, names)
	}
	if !rej.KeptLastGood {
		t.Errorf("rejection %+v: keptLastGood false, want true", rej)
	}
	eventually(t, propagation, "pilot's log to report the rejection", func() error {
		return logHasLine(filepath.Join(d.State.LogDir, "pilot.log"), append(names, "configuration rejected")...)
	})
}

// originFile returns the file an accepted object came from; pilot writes
// origins as "FILE: document N".
func originFile(t *testing.T, cz *configzDoc, key string) string {
	t.Helper()
	for _, o := range cz.Accepted {
		if o.key() == key {
			file, _, ok := strings.Cut(o.Origin, ": document ")
			if !ok {
				t.Fatalf("%s: origin %q", key, o.Origin)
			}
			return file
		}
	}
	t.Fatalf("%s not accepted", key)
	return ""
}
