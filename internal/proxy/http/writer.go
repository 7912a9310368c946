package http

import (
	nethttp "net/http"
	"strconv"
	"strings"
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
	w.info.ResponseHeader = h
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
	flush(w.ResponseWriter)
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
	localReplyGRPC(w, info, code, flag, body, nil)
}

// localReplyGRPC writes a local reply; for a gRPC request it is a gRPC
// trailers-only response as Envoy sends it: HTTP 200, grpc-status (given,
// or mapped from code) and grpc-message (the body, percent-encoded).
func localReplyGRPC(w nethttp.ResponseWriter, info *Info, code int, flag ResponseFlag, body string, grpcStatus *uint32) {
	info.Flags |= flag
	h := w.Header()
	if info.GRPC {
		status := grpcStatusForHTTP(code)
		if grpcStatus != nil {
			status = *grpcStatus
		}
		h.Del("Content-Length")
		h.Set("Content-Type", "application/grpc")
		if h.Get("Grpc-Status") == "" {
			h.Set("Grpc-Status", strconv.FormatUint(uint64(status), 10))
		}
		if body != "" {
			h.Set("Grpc-Message", percentEncode(body))
		}
		w.WriteHeader(nethttp.StatusOK)
		return
	}
	if body != "" {
		h.Set("Content-Type", "text/plain")
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(code)
	if body != "" {
		_, _ = w.Write([]byte(body))
	}
}

// gRPC status codes used by local replies.
const (
	grpcUnknown          = 2
	grpcDeadlineExceeded = 4
	grpcPermissionDenied = 7
	grpcUnimplemented    = 12
	grpcInternal         = 13
	grpcUnavailable      = 14
	grpcUnauthenticated  = 16
)

// grpcStatusForHTTP maps an HTTP status to a gRPC status as gRPC (and
// Envoy) do.
func grpcStatusForHTTP(code int) uint32 {
	switch code {
	case 400:
		return grpcInternal
	case 401:
		return grpcUnauthenticated
	case 403:
		return grpcPermissionDenied
	case 404:
		return grpcUnimplemented
	case 429, 502, 503, 504:
		return grpcUnavailable
	}
	return grpcUnknown
}

// percentEncode encodes a grpc-message as the gRPC spec asks: bytes outside
// printable ASCII, and '%', become %XX.
func percentEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < ' ' || c > '~' || c == '%' {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// isGRPC reports whether a request is gRPC by its content type.
func isGRPC(r *nethttp.Request) bool {
	ct := r.Header.Get("Content-Type")
	rest, ok := strings.CutPrefix(ct, "application/grpc")
	return ok && (rest == "" || rest[0] == '+' || rest[0] == ';')
}
