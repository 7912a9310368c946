// Package reviews reproduces the "reviews" service of Istio's Bookinfo
// sample in its three versions: v1 returns reviews without ratings, v2 adds
// black star ratings fetched from the ratings service and v3 red ones.
package reviews

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lateenmesh/lateen/samples/internal/appkit"
)

// DefaultRatingsURL is where the ratings service is found in the mesh.
const DefaultRatingsURL = "http://ratings:9080"

// unavailable is the error text a review carries when ratings failed.
const unavailable = "Ratings service is currently unavailable"

// Options configures the reviews service.
type Options struct {
	// Addr is the host:port to listen on.
	Addr string
	// Version is v1, v2 or v3; empty means v1.
	Version string
	// PodName is reported as "podname"; empty picks reviews-<version>-xxxxx.
	PodName string
	// ClusterName is reported as "clustername"; empty means "null".
	ClusterName string
	// RatingsURL is the base URL of the ratings service.
	RatingsURL string
	// RatingsTimeout bounds the ratings call; zero means 10s for v2 and
	// 2.5s for v3.
	RatingsTimeout time.Duration
	// Logger receives the access log; nil discards it.
	Logger *slog.Logger
	// OnListen, when set, is told the bound address once listening.
	OnListen func(net.Addr)
}

// Validate reports whether the options name a known version.
func (o Options) Validate() error {
	switch o.Version {
	case "", "v1", "v2", "v3":
		return nil
	}
	return fmt.Errorf("reviews: unknown version %q (want v1, v2 or v3)", o.Version)
}

// Run serves the reviews service on opts.Addr until ctx is cancelled.
func Run(ctx context.Context, opts Options) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	s := newServer(opts)
	l := appkit.Logger(opts.Logger).With("app", "reviews", "version", s.version, "pod", s.podName)
	return appkit.ServeHTTP(ctx, opts.Addr, s.handler(), l, opts.OnListen)
}

// Handler returns the reviews service's HTTP handler, access log included.
// An unknown version behaves like v1; Run rejects it instead.
func Handler(opts Options) http.Handler {
	return newServer(opts).handler()
}

type server struct {
	version     string
	podName     string
	clusterName string
	ratingsURL  string
	timeout     time.Duration
	color       string // empty: ratings disabled (v1)
	client      *http.Client
	logger      *slog.Logger
}

func newServer(opts Options) *server {
	s := &server{
		version:     opts.Version,
		podName:     opts.PodName,
		clusterName: opts.ClusterName,
		ratingsURL:  strings.TrimSuffix(opts.RatingsURL, "/"),
		timeout:     opts.RatingsTimeout,
		client:      appkit.NewClient(),
		logger:      appkit.Logger(opts.Logger),
	}
	switch s.version {
	case "v2":
		s.color = "black"
		s.timeout = orDefault(s.timeout, 10*time.Second)
	case "v3":
		s.color = "red"
		s.timeout = orDefault(s.timeout, 2500*time.Millisecond)
	default:
		s.version = "v1"
	}
	if s.podName == "" {
		s.podName = "reviews-" + s.version + "-" + randomSuffix(5)
	}
	if s.clusterName == "" {
		s.clusterName = "null"
	}
	if s.ratingsURL == "" {
		s.ratingsURL = DefaultRatingsURL
	}
	return s
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func randomSuffix(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(b)
}

func (s *server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		appkit.WriteJSON(w, http.StatusOK, map[string]string{"status": "Reviews is healthy"})
	})
	mux.HandleFunc("GET /reviews/{id}", s.serveReviews)
	return appkit.AccessLog(s.logger, mux)
}

func (s *server) serveReviews(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		appkit.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "please provide numeric product ID"})
		return
	}
	doc := Response{
		ID:          strconv.Itoa(id),
		PodName:     s.podName,
		ClusterName: s.clusterName,
		Reviews:     bookReviews(),
	}
	if s.color != "" {
		s.addRatings(r, id, doc.Reviews)
	}
	appkit.WriteJSON(w, http.StatusOK, doc)
}
