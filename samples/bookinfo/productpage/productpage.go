// Package productpage reproduces the "productpage" service of Istio's
// Bookinfo sample: the web front end that renders a book page from the
// details and reviews services, with a toy login whose user name travels
// to the other services in the end-user header.
package productpage

import (
	"context"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/lateenmesh/lateen/samples/internal/appkit"
)

// Default upstream locations inside the mesh.
const (
	DefaultDetailsURL = "http://details:9080"
	DefaultReviewsURL = "http://reviews:9080"
	DefaultRatingsURL = "http://ratings:9080"
)

// Default call policy: each upstream attempt may take this long, and a
// failed attempt is tried once more.
const (
	DefaultTimeout  = 3 * time.Second
	DefaultAttempts = 2
)

// Options configures the product page.
type Options struct {
	// Addr is the host:port to listen on.
	Addr string
	// DetailsURL, ReviewsURL and RatingsURL are the upstream base URLs.
	DetailsURL string
	ReviewsURL string
	RatingsURL string
	// Per-attempt timeouts of the upstream calls; zero means 3s.
	DetailsTimeout time.Duration
	ReviewsTimeout time.Duration
	RatingsTimeout time.Duration
	// Attempts is how many tries an upstream call gets; zero means 2.
	Attempts int
	// Logger receives the access log; nil discards it.
	Logger *slog.Logger
	// OnListen, when set, is told the bound address once listening.
	OnListen func(net.Addr)
}

// withDefaults fills in the zero fields.
func (o Options) withDefaults() Options {
	o.DetailsURL = baseURL(o.DetailsURL, DefaultDetailsURL)
	o.ReviewsURL = baseURL(o.ReviewsURL, DefaultReviewsURL)
	o.RatingsURL = baseURL(o.RatingsURL, DefaultRatingsURL)
	for _, d := range []*time.Duration{&o.DetailsTimeout, &o.ReviewsTimeout, &o.RatingsTimeout} {
		if *d <= 0 {
			*d = DefaultTimeout
		}
	}
	if o.Attempts <= 0 {
		o.Attempts = DefaultAttempts
	}
	return o
}

func baseURL(u, def string) string {
	if u == "" {
		return def
	}
	return strings.TrimSuffix(u, "/")
}

// Run serves the product page on opts.Addr until ctx is cancelled.
func Run(ctx context.Context, opts Options) error {
	l := appkit.Logger(opts.Logger).With("app", "productpage")
	return appkit.ServeHTTP(ctx, opts.Addr, Handler(opts), l, opts.OnListen)
}

// Handler returns the product page's HTTP handler, access log included.
func Handler(opts Options) http.Handler {
	s := &server{
		opts:    opts.withDefaults(),
		client:  appkit.NewClient(),
		logger:  appkit.Logger(opts.Logger),
		results: newResults(),
	}
	return appkit.AccessLog(opts.Logger, s.routes())
}

type server struct {
	opts    Options
	client  *http.Client
	logger  *slog.Logger
	results *results // request_result_total on /metrics
}

func (s *server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.serveIndex)
	mux.HandleFunc("GET /health", serveHealth)
	mux.HandleFunc("GET /metrics", s.results.serveMetrics)
	mux.HandleFunc("GET /productpage", s.serveProductPage)
	mux.HandleFunc("POST /login", serveLogin)
	mux.HandleFunc("GET /logout", serveLogout)
	mux.Handle("GET /static/", staticHandler())
	mux.HandleFunc("GET /api/v1/products", serveProducts)
	mux.HandleFunc("GET /api/v1/products/{id}", s.serveProductDetails)
	mux.HandleFunc("GET /api/v1/products/{id}/reviews", s.serveProductReviews)
	mux.HandleFunc("GET /api/v1/products/{id}/ratings", s.serveProductRatings)
	return mux
}

func serveHealth(w http.ResponseWriter, _ *http.Request) {
	appkit.WriteRawJSON(w, http.StatusOK, []byte(`{"status": "Product page is healthy"}`))
}

// staticHandler serves the embedded assets; directories are not listed.
func staticHandler() http.Handler {
	sub, err := fs.Sub(assets, "static")
	if err != nil {
		panic(err) // the embedded tree always has a static directory
	}
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/static/")
		if st, err := fs.Stat(sub, name); err != nil || st.IsDir() {
			http.NotFound(w, r)
			return
		}
		files.ServeHTTP(w, r)
	})
}
