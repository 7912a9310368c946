package appkit

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// Logger returns l, or a logger that discards everything when l is nil.
func Logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return l
}

// AccessLog wraps h so every request produces one log line carrying the
// method, path, Host header and response status. The message itself reads
// like "GET /headers Host: httpbin-shadow" so plain greps for the Host work.
func AccessLog(l *slog.Logger, h http.Handler) http.Handler {
	l = Logger(l)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		l.Info(fmt.Sprintf("%s %s Host: %s", r.Method, r.URL.RequestURI(), r.Host),
			"method", r.Method,
			"path", r.URL.Path,
			"host", r.Host,
			"status", rec.status,
			"bytes", rec.bytes,
			"duration", time.Since(start),
			"remote", r.RemoteAddr,
			"request_id", r.Header.Get("X-Request-Id"),
		)
	})
}

// recorder captures the status code and body size of a response.
type recorder struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status = code
		r.wroteHeader = true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	r.wroteHeader = true
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

// Flush lets streaming handlers push partial responses through the wrapper.
func (r *recorder) Flush() {
	r.wroteHeader = true
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap exposes the underlying writer to http.ResponseController.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
