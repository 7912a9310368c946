package productpage

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/lateenmesh/lateen/samples/internal/appkit"
)

func (s *server) detailsURL(id any) string {
	return fmt.Sprintf("%s/details/%s", s.opts.DetailsURL, url.PathEscape(fmt.Sprint(id)))
}

func (s *server) reviewsURL(id any) string {
	return fmt.Sprintf("%s/reviews/%s", s.opts.ReviewsURL, url.PathEscape(fmt.Sprint(id)))
}

func (s *server) ratingsURL(id any) string {
	return fmt.Sprintf("%s/ratings/%s", s.opts.RatingsURL, url.PathEscape(fmt.Sprint(id)))
}

// fetch calls an upstream with the retry policy and checks the answer is
// JSON.
func (s *server) fetch(ctx context.Context, u string, hdr http.Header, timeout time.Duration) ([]byte, error) {
	return s.fetchAttempts(ctx, u, hdr, timeout, s.opts.Attempts)
}

// fetchReviews calls reviews as Istio's productpage does: a failed attempt
// is tried again whatever the failure, an error status (such as the 504 a
// sidecar answers when a route timeout fires) as well as a transport
// error. Istio's request-timeouts task relies on it: with a 0.5 s timeout
// on reviews the page takes about 1 s.
func (s *server) fetchReviews(ctx context.Context, u string, hdr http.Header) (body []byte, err error) {
	for range s.opts.Attempts {
		body, err = s.fetchAttempts(ctx, u, hdr, s.opts.ReviewsTimeout, 1)
		if err == nil || ctx.Err() != nil {
			return body, err
		}
	}
	return nil, err
}

func (s *server) fetchAttempts(ctx context.Context, u string, hdr http.Header, timeout time.Duration, attempts int) ([]byte, error) {
	body, err := appkit.Fetch(ctx, s.client, u, hdr, timeout, attempts)
	s.results.record(u, err)
	if err != nil {
		s.logger.Warn("upstream call failed", "url", u, "err", err)
		return nil, err
	}
	if !json.Valid(body) {
		s.logger.Warn("upstream answer is not JSON", "url", u)
		return nil, fmt.Errorf("GET %s: answer is not JSON", u)
	}
	return body, nil
}

// getJSON fetches u and decodes the answer into out.
func (s *server) getJSON(ctx context.Context, u string, hdr http.Header, timeout time.Duration, out any) error {
	body, err := s.fetch(ctx, u, hdr, timeout)
	if err != nil {
		return err
	}
	return json.Unmarshal(body, out)
}

func serveProducts(w http.ResponseWriter, _ *http.Request) {
	appkit.WriteJSON(w, http.StatusOK, Products())
}

// writeUpstream answers with the upstream JSON body, or 503 and failMsg
// when the call failed.
func writeUpstream(w http.ResponseWriter, body []byte, err error, failMsg string) {
	if err != nil {
		appkit.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"error": failMsg})
		return
	}
	appkit.WriteRawJSON(w, http.StatusOK, body)
}

func (s *server) serveProductDetails(w http.ResponseWriter, r *http.Request) {
	body, err := s.fetch(r.Context(), s.detailsURL(r.PathValue("id")), outgoingHeaders(r), s.opts.DetailsTimeout)
	writeUpstream(w, body, err, detailsUnavailable)
}

func (s *server) serveProductReviews(w http.ResponseWriter, r *http.Request) {
	body, err := s.fetchReviews(r.Context(), s.reviewsURL(r.PathValue("id")), outgoingHeaders(r))
	writeUpstream(w, body, err, reviewsUnavailable)
}

func (s *server) serveProductRatings(w http.ResponseWriter, r *http.Request) {
	body, err := s.fetch(r.Context(), s.ratingsURL(r.PathValue("id")), outgoingHeaders(r), s.opts.RatingsTimeout)
	writeUpstream(w, body, err, ratingsUnavailable)
}
