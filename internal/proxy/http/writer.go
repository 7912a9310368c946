package http

import (
	nethttp "net/http"
)

// responseWriter records the response code and bytes in the request's Info
// and applies the connection manager's response-wide headers.
type responseWriter struct {
	nethttp.ResponseWriter
	info     *Info
	server   string
	draining bool
	wrote    bool
}

func (w *responseWriter) WriteHeader(code int) {
	if code < 200 && code != nethttp.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(code) // 1xx informational
		return
	}
	if w.wrote {
		return
	}
	w.wrote = true
	w.info.ResponseCode = code
	h := w.Header()
	h.Set("Server", w.server)
	if w.draining {
		h.Set("Connection", "close")
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(nethttp.StatusOK)
	}
	n, err := w.ResponseWriter.Write(b)
	w.info.BytesSent += int64(n)
	return n, err
}

// Flush sends buffered data to the client.
func (w *responseWriter) Flush() {
	if !w.wrote {
		w.WriteHeader(nethttp.StatusOK)
	}
	_ = nethttp.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach Hijack and friends.
func (w *responseWriter) Unwrap() nethttp.ResponseWriter { return w.ResponseWriter }

// countingBody counts request body bytes.
type countingBody struct {
	body interface {
		Read([]byte) (int, error)
		Close() error
	}
	info *Info
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	b.info.BytesReceived += int64(n)
	return n, err
}

func (b *countingBody) Close() error { return b.body.Close() }

// localReply writes an Envoy-style local reply.
func localReply(w nethttp.ResponseWriter, info *Info, code int, flag ResponseFlag, body string) {
	info.Flags |= flag
	if body != "" {
		w.Header().Set("Content-Type", "text/plain")
	}
	w.WriteHeader(code)
	if body != "" {
		_, _ = w.Write([]byte(body))
	}
}
