package productpage

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lateenmesh/lateen/samples/internal/appkit"
)

func TestRequestResults(t *testing.T) {
	r := newResults()
	r.record("http://details:9080/details/0", nil)
	r.record("http://details:9080/details/0", nil)
	r.record("http://reviews:9080/reviews/0", &appkit.StatusError{URL: "x", Status: 503})
	r.record("http://ratings:9080/ratings/0", errors.New("timeout"))
	rec := httptest.NewRecorder()
	r.serveMetrics(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{`request_result_total{destination_app="details",response_code="200"} 2`,
		`request_result_total{destination_app="reviews",response_code="503"} 1`,
		`request_result_total{destination_app="ratings",response_code="0"} 1`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("missing %s in\n%s", want, rec.Body.String())
		}
	}
}
