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
	body, err := appkit.Fetch(ctx, s.client, u, hdr, timeout, s.opts.Attempts)
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

// proxyJSON answers r with the upstream JSON at u, or 503 and failMsg.
func (s *server) proxyJSON(w http.ResponseWriter, r *http.Request, u string, timeout time.Duration, failMsg string) {
	body, err := s.fetch(r.Context(), u, outgoingHeaders(r), timeout)
	if err != nil {
		appkit.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"error": failMsg})
		return
	}
	appkit.WriteRawJSON(w, http.StatusOK, body)
}

func (s *server) serveProductDetails(w http.ResponseWriter, r *http.Request) {
	s.proxyJSON(w, r, s.detailsURL(r.PathValue("id")), s.opts.DetailsTimeout, detailsUnavailable)
}

func (s *server) serveProductReviews(w http.ResponseWriter, r *http.Request) {
	s.proxyJSON(w, r, s.reviewsURL(r.PathValue("id")), s.opts.ReviewsTimeout, reviewsUnavailable)
}

func (s *server) serveProductRatings(w http.ResponseWriter, r *http.Request) {
	s.proxyJSON(w, r, s.ratingsURL(r.PathValue("id")), s.opts.RatingsTimeout, ratingsUnavailable)
}
