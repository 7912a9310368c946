// Package httpbin reproduces the "httpbin" sample Istio ships (a copy of
// httpbin.org): an HTTP echo service whose endpoints reflect the request
// back as JSON or answer with a chosen status, delay or payload.
package httpbin

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/lateenmesh/lateen/samples/internal/appkit"
)

// Options configures the httpbin service.
type Options struct {
	// Addr is the host:port to listen on.
	Addr string
	// Version is accepted for symmetry with the mesh's deployments and
	// only logged.
	Version string
	// Logger receives the access log; nil discards it.
	Logger *slog.Logger
	// OnListen, when set, is told the bound address once listening.
	OnListen func(net.Addr)
}

// Run serves httpbin on opts.Addr until ctx is cancelled.
func Run(ctx context.Context, opts Options) error {
	l := appkit.Logger(opts.Logger).With("app", "httpbin", "version", opts.Version)
	return appkit.ServeHTTP(ctx, opts.Addr, Handler(opts), l, opts.OnListen)
}

// Handler returns httpbin's HTTP handler, access log included.
func Handler(opts Options) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", serveIndex)
	mux.HandleFunc("GET /html", serveHTML)
	mux.HandleFunc("GET /get", serveGet)
	mux.HandleFunc("GET /headers", serveHeaders)
	mux.HandleFunc("GET /ip", serveIP)
	mux.HandleFunc("GET /user-agent", serveUserAgent)
	mux.HandleFunc("/anything", serveAnything)
	mux.HandleFunc("/anything/", serveAnything)
	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		mux.HandleFunc(m+" /"+strings.ToLower(m), serveWithBody)
	}
	mux.HandleFunc("/status/{codes}", serveStatus)
	mux.HandleFunc("/delay/{n}", serveDelay)
	mux.HandleFunc("/response-headers", serveResponseHeaders)
	mux.HandleFunc("GET /stream/{n}", serveStream)
	mux.HandleFunc("GET /bytes/{n}", serveBytes)
	mux.HandleFunc("GET /redirect/{n}", serveRedirect)
	return appkit.AccessLog(opts.Logger, mux)
}

// writeJSON writes v the way httpbin does: indented by two spaces, keys
// sorted, HTML characters left alone.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	err := enc.Encode(v)
	return buf.Bytes(), err
}

func writeError(w http.ResponseWriter, status int, msg string) {
	http.Error(w, msg, status)
}

func serveGet(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, getDict(r))
}

func serveHeaders(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"headers": headerMap(r)})
}

func serveIP(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"origin": origin(r)})
}

func serveUserAgent(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"user-agent": r.UserAgent()})
}

// serveAnything echoes any request, method included.
func serveAnything(w http.ResponseWriter, r *http.Request) {
	d, err := bodyDict(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	d["method"] = r.Method
	writeJSON(w, http.StatusOK, d)
}

// serveWithBody answers /post, /put, /patch and /delete.
func serveWithBody(w http.ResponseWriter, r *http.Request) {
	d, err := bodyDict(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, d)
}
