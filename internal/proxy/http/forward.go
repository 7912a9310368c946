package http

import (
	"context"
	"errors"
	"fmt"
	"io"
	nethttp "net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/mtls"
)

// The forwarder sends a routed request upstream and streams the response
// back. It keeps the wire behaviour httputil.ReverseProxy gave the router
// (hop-by-hop headers, X-Forwarded-* as the connection manager set them,
// 1xx responses, trailers, protocol upgrades, aborted copies) without its
// per-request costs: no second request clone, no flush goroutine, and a
// response whose length is known goes out in one write instead of one for
// its headers and one per body read.

// headerFlushDelay bounds how long the headers of a response with a known
// length wait for its body: they are sent with the body when it is there
// (one write), or alone after this delay.
const headerFlushDelay = time.Millisecond

// hopHeaders are removed when a request or response crosses the proxy
// (RFC 9110 7.6.1, and the historical list).
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// proxyRequest forwards r (prepared by newForward) with the forward's
// context and writes the response, or the local reply for a failure, to w.
func (rt *router) proxyRequest(w nethttp.ResponseWriter, r *nethttp.Request, ctx context.Context, f *forward) {
	relay := &informational{w: w}
	f.trace.Got1xxResponse = relay.got1xx
	if f.trace.GotConn == nil {
		f.trace.GotConn = f.gotConn
	}
	out, err := outboundRequest(r, httptrace.WithClientTrace(ctx, &f.trace))
	if err != nil {
		rt.fail(w, f, ctx, err)
		return
	}
	if body, ok := out.Body.(*guardedBody); ok {
		defer body.Close()
	}
	resp, err := rt.RoundTrip(out)
	relay.stop()
	if err != nil {
		rt.fail(w, f, ctx, err)
		return
	}
	if resp.StatusCode == nethttp.StatusSwitchingProtocols {
		rt.modifyResponse(resp)
		rt.upgrade(w, out, resp, f, ctx)
		return
	}
	removeHopByHop(resp.Header)
	rt.modifyResponse(resp)
	copyResponse(w, resp)
}

// gotConn records the TLS peer of the connection an attempt uses: the
// upstream's identity, for telemetry and access logs.
func (f *forward) gotConn(ci httptrace.GotConnInfo) {
	f.info.UpstreamPeer = mtls.PeerOf(ci.Conn)
}

// outboundRequest is the request as it goes upstream: the inbound one
// with its own header map and URL, hop-by-hop headers removed (an upgrade
// is kept), no client-supplied Forwarded or X-Forwarded-Host, the
// connection manager's X-Forwarded-For and -Proto, no default Go
// User-Agent, and unparsable query parameters removed.
func outboundRequest(r *nethttp.Request, ctx context.Context) (*nethttp.Request, error) {
	out := r.WithContext(ctx)
	u := *r.URL
	out.URL = &u
	out.Header = r.Header.Clone()
	if out.Header == nil {
		out.Header = nethttp.Header{}
	}
	if r.ContentLength == 0 {
		out.Body = nil // nil body: the client may retry on a new connection
	} else if out.Body != nil {
		out.Body = &guardedBody{rc: out.Body}
	}
	out.Close = false
	upType := upgradeType(out.Header)
	if !isPrint(upType) {
		return out, fmt.Errorf("client tried to switch to invalid protocol %q", upType)
	}
	removeHopByHop(out.Header)
	if headerHasToken(r.Header["Te"], "trailers") {
		out.Header["Te"] = []string{"trailers"}
	}
	if upType != "" {
		out.Header["Connection"] = []string{"Upgrade"}
		out.Header["Upgrade"] = []string{upType}
	}
	delete(out.Header, "Forwarded")
	delete(out.Header, "X-Forwarded-Host")
	for _, h := range [...]string{"X-Forwarded-For", "X-Forwarded-Proto"} {
		if v, ok := r.Header[h]; ok {
			out.Header[h] = v
		} else {
			delete(out.Header, h)
		}
	}
	out.URL.RawQuery = cleanQuery(out.URL.RawQuery)
	out.URL.Scheme = "http"
	if _, ok := out.Header["User-Agent"]; !ok {
		out.Header["User-Agent"] = []string{""} // no default Go User-Agent
	}
	return out, nil
}

// guardedBody keeps the upstream client from closing the inbound body
// (which would consume it) and refuses reads once the handler is done.
type guardedBody struct {
	rc     io.ReadCloser
	closed atomic.Bool
}

var errBodyAfterHandler = errors.New("read of the request body after the request ended")

func (b *guardedBody) Read(p []byte) (int, error) {
	if b.closed.Load() {
		return 0, errBodyAfterHandler
	}
	return b.rc.Read(p)
}

func (b *guardedBody) Close() error {
	b.closed.Store(true)
	return nil
}

// informational relays upstream 1xx responses (100 Continue, 103 Early
// Hints) until the final response arrives.
type informational struct {
	mu   sync.Mutex
	w    nethttp.ResponseWriter
	done bool
}

func (i *informational) got1xx(code int, header textproto.MIMEHeader) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.done {
		return nil
	}
	h := i.w.Header()
	copyHeader(h, nethttp.Header(header))
	i.w.WriteHeader(code)
	clear(h) // WriteHeader keeps 1xx headers in the map
	return nil
}

func (i *informational) stop() {
	i.mu.Lock()
	i.done = true
	i.mu.Unlock()
}

// copyResponse writes resp's headers, body and trailers to w. A response
// of unknown length (or an event stream) is flushed after every read, as
// it streams; one of known length is flushed only while its body is still
// arriving, so a small response leaves in one write. A failed copy aborts
// the downstream response.
func copyResponse(w nethttp.ResponseWriter, resp *nethttp.Response) {
	copyHeader(w.Header(), resp.Header)
	announced := len(resp.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range resp.Trailer {
			keys = append(keys, k)
		}
		w.Header().Add("Trailer", strings.Join(keys, ", "))
	}
	w.WriteHeader(resp.StatusCode)
	if err := copyBody(w, resp); err != nil {
		resp.Body.Close()
		panic(nethttp.ErrAbortHandler)
	}
	resp.Body.Close() // now, so that resp.Trailer is complete
	if len(resp.Trailer) == 0 {
		return
	}
	flush(w) // chunked: no Content-Length computed for a short body
	if len(resp.Trailer) == announced {
		copyHeader(w.Header(), resp.Trailer)
		return
	}
	for k, vv := range resp.Trailer {
		w.Header()[nethttp.TrailerPrefix+k] = append(w.Header()[nethttp.TrailerPrefix+k], vv...)
	}
}

// copyBody streams the response body to w.
func copyBody(w nethttp.ResponseWriter, resp *nethttp.Response) error {
	length := resp.ContentLength
	streaming := length < 0 || isEventStream(resp.Header)
	var hf *headerFlush
	switch {
	case streaming:
		flush(w)
	case length > 0:
		hf = newHeaderFlush(w)
	}
	buf := bufferPool{}.Get()
	defer bufferPool{}.Put(buf)
	var written int64
	for {
		n, rerr := resp.Body.Read(buf)
		if hf != nil {
			hf.stop()
			hf = nil
		}
		if n > 0 {
			m, werr := w.Write(buf[:n])
			written += int64(m)
			if werr == nil && m != n {
				werr = io.ErrShortWrite
			}
			if werr != nil {
				return werr
			}
			if streaming || written < length {
				flush(w)
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// headerFlush sends the response headers if the body is late.
type headerFlush struct {
	mu    sync.Mutex
	w     nethttp.ResponseWriter
	t     *time.Timer
	ended bool
}

func newHeaderFlush(w nethttp.ResponseWriter) *headerFlush {
	hf := &headerFlush{w: w}
	hf.t = time.AfterFunc(headerFlushDelay, hf.fire)
	return hf
}

func (hf *headerFlush) fire() {
	hf.mu.Lock()
	defer hf.mu.Unlock()
	if !hf.ended {
		flush(hf.w)
	}
}

// stop ends the timer; a flush it started has finished when stop returns.
func (hf *headerFlush) stop() {
	if hf.t.Stop() {
		return
	}
	hf.mu.Lock()
	hf.ended = true
	hf.mu.Unlock()
}

// flush sends what w buffered.
func flush(w nethttp.ResponseWriter) {
	if f, ok := w.(nethttp.Flusher); ok {
		f.Flush()
		return
	}
	_ = nethttp.NewResponseController(w).Flush()
}

// copyHeader adds src's values to dst. Keys are canonical (or not
// canonicalizable) as parsed, so the maps are used directly.
func copyHeader(dst, src nethttp.Header) {
	for k, vv := range src {
		if old, ok := dst[k]; ok {
			dst[k] = append(old, vv...)
		} else {
			dst[k] = vv
		}
	}
}

// removeHopByHop removes the headers named by Connection and the
// hop-by-hop headers.
func removeHopByHop(h nethttp.Header) {
	for _, f := range h["Connection"] {
		for sf := range strings.SplitSeq(f, ",") {
			if sf = textproto.TrimString(sf); sf != "" {
				h.Del(sf)
			}
		}
	}
	for _, name := range hopHeaders {
		delete(h, name)
	}
}

// upgradeType is the protocol an Upgrade request or response names.
func upgradeType(h nethttp.Header) string {
	if !headerHasToken(h["Connection"], "upgrade") {
		return ""
	}
	return h.Get("Upgrade")
}

// headerHasToken reports whether a comma-separated header has token
// (case-insensitive).
func headerHasToken(values []string, token string) bool {
	for _, v := range values {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(textproto.TrimString(t), token) {
				return true
			}
		}
	}
	return false
}

func isPrint(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// isEventStream reports a Server-Sent Events response.
func isEventStream(h nethttp.Header) bool {
	ct := h["Content-Type"]
	if len(ct) == 0 {
		return false
	}
	base, _, _ := strings.Cut(ct[0], ";")
	return strings.EqualFold(strings.TrimSpace(base), "text/event-stream")
}

// maxQueryParams is net/url's limit on query parameters.
const maxQueryParams = 10000

// cleanQuery re-encodes a query that other parsers might split
// differently (a ';', a bad escape, too many parameters), dropping what
// does not parse.
func cleanQuery(s string) string {
	reencode := func() string { v, _ := url.ParseQuery(s); return v.Encode() }
	if strings.Count(s, "&")+1 > maxQueryParams {
		return reencode()
	}
	for i := 0; i < len(s); {
		switch s[i] {
		case ';':
			return reencode()
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return reencode()
			}
			i += 3
		default:
			i++
		}
	}
	return s
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
