package accesslog

import (
	"crypto/tls"
	nethttp "net/http"
	"strconv"
	"strings"

	"github.com/lateenmesh/lateen/internal/proxy/telemetry/attrs"
)

// Entry is what one access log line reads: the attributes of a finished
// HTTP request or closed TCP connection (the same Bag the CEL filter
// reads), plus the downstream TLS state for the certificate operators.
// Formats and filters only read it.
type Entry struct {
	attrs.Bag
	// TLS is the downstream connection's TLS state (nil: plaintext).
	TLS *tls.ConnectionState
}

// requestHeader returns a request header (or pseudo-header) value and
// whether it is present.
func (e *Entry) requestHeader(name string) (string, bool) {
	r := &e.Request
	if e.TCP || r.Method == "" {
		return "", false
	}
	switch name {
	case ":method":
		return r.Method, true
	case ":path":
		return r.Path, r.Path != ""
	case ":authority", "host":
		return r.Host, r.Host != ""
	case ":scheme":
		return r.Scheme, r.Scheme != ""
	case ":protocol":
		return "", false
	}
	return headerValue(r.Headers, name)
}

// responseHeader returns a response header value and whether it is present.
func (e *Entry) responseHeader(name string) (string, bool) {
	if name == ":status" {
		if e.Response.Code == 0 {
			return "", false
		}
		return strconv.Itoa(e.Response.Code), true
	}
	return headerValue(e.Response.Headers, name)
}

func headerValue(h nethttp.Header, name string) (string, bool) {
	v, ok := h[nethttp.CanonicalHeaderKey(name)]
	if !ok || len(v) == 0 {
		return "", false
	}
	return strings.Join(v, ","), true
}

// trailer returns a response trailer: net/http keeps unannounced
// trailers under "Trailer:"-prefixed keys, announced ones (listed in the
// Trailer header) under their own key.
func (e *Entry) trailer(name string) (string, bool) {
	h := e.Response.Headers
	key := nethttp.CanonicalHeaderKey(name)
	if v := h[nethttp.TrailerPrefix+key]; len(v) > 0 {
		return strings.Join(v, ","), true
	}
	for _, announced := range h["Trailer"] {
		for _, k := range strings.Split(announced, ",") {
			if nethttp.CanonicalHeaderKey(strings.TrimSpace(k)) == key && len(h[key]) > 0 {
				return strings.Join(h[key], ","), true
			}
		}
	}
	return "", false
}

// bytesReceived and bytesSent are %BYTES_RECEIVED% and %BYTES_SENT%: body
// bytes for HTTP, connection bytes for TCP.
func (e *Entry) bytesReceived() int64 {
	if e.TCP {
		return e.Connection.BytesReceived
	}
	return e.Request.Size
}

func (e *Entry) bytesSent() int64 {
	if e.TCP {
		return e.Connection.BytesSent
	}
	return e.Response.Size
}
