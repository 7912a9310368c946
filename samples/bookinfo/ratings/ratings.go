// Package ratings reproduces the "ratings" service (v1) of Istio's Bookinfo
// sample: it returns the star ratings reviewers gave a book.
package ratings

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"

	"github.com/lateenmesh/lateen/samples/internal/appkit"
)

// Options configures the ratings service.
type Options struct {
	// Addr is the host:port to listen on.
	Addr string
	// PodName is an optional instance name, only logged.
	PodName string
	// Logger receives the access log; nil discards it.
	Logger *slog.Logger
	// OnListen, when set, is told the bound address once listening.
	OnListen func(net.Addr)
}

// Response is the JSON document served for a product.
type Response struct {
	ID      int            `json:"id"`
	Ratings map[string]int `json:"ratings"`
}

// Run serves the ratings service on opts.Addr until ctx is cancelled.
func Run(ctx context.Context, opts Options) error {
	l := appkit.Logger(opts.Logger).With("app", "ratings", "pod", opts.PodName)
	return appkit.ServeHTTP(ctx, opts.Addr, Handler(opts), l, opts.OnListen)
}

// Handler returns the ratings service's HTTP handler, access log included.
// Besides GET it accepts POST /ratings/{id} with a JSON object of
// reviewer → stars, which replaces the ratings kept for that product.
func Handler(opts Options) http.Handler {
	s := &store{byID: map[int]map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		appkit.WriteJSON(w, http.StatusOK, map[string]string{"status": "Ratings is healthy"})
	})
	mux.HandleFunc("GET /ratings/{id}", s.get)
	mux.HandleFunc("POST /ratings/{id}", s.post)
	return appkit.AccessLog(opts.Logger, mux)
}

// store keeps ratings posted at runtime; unknown products get the defaults.
type store struct {
	mu   sync.Mutex
	byID map[int]map[string]int
}

func defaultRatings() map[string]int {
	return map[string]int{"Reviewer1": 5, "Reviewer2": 4}
}

func (s *store) lookup(id int) map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.byID[id]; ok {
		return r
	}
	return defaultRatings()
}

func productID(w http.ResponseWriter, r *http.Request) (int, bool) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		appkit.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "please provide numeric product ID"})
		return 0, false
	}
	return id, true
}

func (s *store) get(w http.ResponseWriter, r *http.Request) {
	id, ok := productID(w, r)
	if !ok {
		return
	}
	appkit.WriteJSON(w, http.StatusOK, Response{ID: id, Ratings: s.lookup(id)})
}

func (s *store) post(w http.ResponseWriter, r *http.Request) {
	id, ok := productID(w, r)
	if !ok {
		return
	}
	var in map[string]int
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil {
		appkit.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "please provide valid ratings JSON"})
		return
	}
	s.mu.Lock()
	s.byID[id] = in
	s.mu.Unlock()
	appkit.WriteJSON(w, http.StatusOK, Response{ID: id, Ratings: in})
}
