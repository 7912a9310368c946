// Package details reproduces the "details" service (v1) of Istio's Bookinfo
// sample: it answers with the bibliographic details of a book.
package details

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strconv"

	"github.com/lateenmesh/lateen/samples/internal/appkit"
)

// Options configures the details service.
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

// Book is the JSON document served for a product.
type Book struct {
	ID        int    `json:"id"`
	Author    string `json:"author"`
	Year      int    `json:"year"`
	Type      string `json:"type"`
	Pages     int    `json:"pages"`
	Publisher string `json:"publisher"`
	Language  string `json:"language"`
	ISBN10    string `json:"ISBN-10"`
	ISBN13    string `json:"ISBN-13"`
}

// Run serves the details service on opts.Addr until ctx is cancelled.
func Run(ctx context.Context, opts Options) error {
	l := appkit.Logger(opts.Logger).With("app", "details", "pod", opts.PodName)
	return appkit.ServeHTTP(ctx, opts.Addr, Handler(opts), l, opts.OnListen)
}

// Handler returns the details service's HTTP handler, access log included.
func Handler(opts Options) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		appkit.WriteJSON(w, http.StatusOK, map[string]string{"status": "Details is healthy"})
	})
	mux.HandleFunc("GET /details/{id}", serveDetails)
	return appkit.AccessLog(opts.Logger, mux)
}

func serveDetails(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		appkit.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "please provide numeric product ID"})
		return
	}
	appkit.WriteJSON(w, http.StatusOK, bookFor(id))
}

// bookFor returns the details of product id; every id maps to the same book.
func bookFor(id int) Book {
	return Book{
		ID:        id,
		Author:    "William Shakespeare",
		Year:      1595,
		Type:      "paperback",
		Pages:     200,
		Publisher: "PublisherA",
		Language:  "English",
		ISBN10:    "1234567890",
		ISBN13:    "123-1234567890",
	}
}
