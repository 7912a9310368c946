package http

import (
	"io"
	nethttp "net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// flushRecorder records writes and flushes in order.
type flushRecorder struct {
	*httptest.ResponseRecorder
	mu      sync.Mutex
	events  []string
	flushed chan struct{} // gets a value on each flush
}

func newFlushRecorder() *flushRecorder {
	return &flushRecorder{ResponseRecorder: httptest.NewRecorder(), flushed: make(chan struct{}, 16)}
}

func (r *flushRecorder) Write(b []byte) (int, error) {
	r.mu.Lock()
	r.events = append(r.events, "write "+string(b))
	r.mu.Unlock()
	return r.ResponseRecorder.Write(b)
}

func (r *flushRecorder) Flush() {
	r.mu.Lock()
	r.events = append(r.events, "flush")
	r.mu.Unlock()
	r.flushed <- struct{}{}
}

func (r *flushRecorder) log() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.events, "; ")
}

// chunks is a body returning one chunk per Read, each after its gate opens
// (nil: at once).
type chunks struct {
	parts []string
	gates []chan struct{}
}

func (c *chunks) Read(p []byte) (int, error) {
	if len(c.parts) == 0 {
		return 0, io.EOF
	}
	if g := c.gates[0]; g != nil {
		<-g
	}
	n := copy(p, c.parts[0])
	c.parts, c.gates = c.parts[1:], c.gates[1:]
	return n, nil
}

func (c *chunks) Close() error { return nil }

func response(length int64, body *chunks, header nethttp.Header) *nethttp.Response {
	if header == nil {
		header = nethttp.Header{}
	}
	return &nethttp.Response{StatusCode: 200, ContentLength: length, Body: body, Header: header}
}

func TestCopyResponseFlushing(t *testing.T) {
	t.Run("known length in one write", func(t *testing.T) {
		w := newFlushRecorder()
		copyResponse(w, response(10, &chunks{parts: []string{"0123456789"}, gates: []chan struct{}{nil}}, nil))
		if got := w.log(); got != "write 0123456789" {
			t.Errorf("events %q: want one write and no flush", got)
		}
	})
	t.Run("known length arriving in parts", func(t *testing.T) {
		w := newFlushRecorder()
		copyResponse(w, response(6, &chunks{parts: []string{"abc", "def"}, gates: []chan struct{}{nil, nil}}, nil))
		if got := w.log(); got != "write abc; flush; write def" {
			t.Errorf("events %q: want a flush between the parts, none after the last", got)
		}
	})
	t.Run("late body: headers go first", func(t *testing.T) {
		w := newFlushRecorder()
		gate := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			copyResponse(w, response(3, &chunks{parts: []string{"abc"}, gates: []chan struct{}{gate}}, nil))
		}()
		select {
		case <-w.flushed:
		case <-time.After(10 * time.Second):
			t.Fatal("headers were not flushed while the body was late")
		}
		close(gate)
		<-done
		if got := w.log(); got != "flush; write abc" {
			t.Errorf("events %q", got)
		}
	})
	t.Run("stream flushed on every read", func(t *testing.T) {
		w := newFlushRecorder()
		copyResponse(w, response(-1, &chunks{parts: []string{"a", "b"}, gates: []chan struct{}{nil, nil}}, nil))
		if got := w.log(); got != "flush; write a; flush; write b; flush" {
			t.Errorf("events %q", got)
		}
	})
	t.Run("event stream of known length is a stream", func(t *testing.T) {
		w := newFlushRecorder()
		h := nethttp.Header{"Content-Type": {"Text/Event-Stream; charset=utf-8"}}
		copyResponse(w, response(1, &chunks{parts: []string{"a"}, gates: []chan struct{}{nil}}, h))
		if got := w.log(); got != "flush; write a; flush" {
			t.Errorf("events %q", got)
		}
	})
}

func TestCopyResponseTrailers(t *testing.T) {
	w := newFlushRecorder()
	resp := response(-1, &chunks{parts: []string{"x"}, gates: []chan struct{}{nil}}, nethttp.Header{"A": {"1"}})
	resp.Trailer = nethttp.Header{"Grpc-Status": nil}
	body := resp.Body.(*chunks)
	resp.Body = readCloser{Reader: body, close: func() { resp.Trailer["Grpc-Status"] = []string{"0"} }}
	copyResponse(w, resp)
	if got := w.Header().Get("Trailer"); got != "Grpc-Status" {
		t.Errorf("Trailer header %q", got)
	}
	if got := w.Header().Get("Grpc-Status"); got != "0" {
		t.Errorf("trailer value %q (header %v)", got, w.Header())
	}
}

type readCloser struct {
	io.Reader
	close func()
}

func (r readCloser) Close() error { r.close(); return nil }

func TestOutboundRequest(t *testing.T) {
	in := httptest.NewRequest("GET", "http://h/p?a=1&b=2;c=3", nil)
	in.Header = nethttp.Header{
		"Connection":        {"keep-alive, X-Custom, Upgrade"},
		"Upgrade":           {"websocket"},
		"X-Custom":          {"hop"},
		"Keep-Alive":        {"300"},
		"Te":                {"trailers, deflate"},
		"Forwarded":         {"for=1.2.3.4"},
		"X-Forwarded-Host":  {"evil"},
		"X-Forwarded-For":   {"10.0.0.1"},
		"X-Forwarded-Proto": {"http"},
		"X-Kept":            {"yes"},
	}
	out, err := outboundRequest(in, in.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := nethttp.Header{
		"Connection":        {"Upgrade"},
		"Upgrade":           {"websocket"},
		"Te":                {"trailers"},
		"X-Forwarded-For":   {"10.0.0.1"},
		"X-Forwarded-Proto": {"http"},
		"X-Kept":            {"yes"},
		"User-Agent":        {""},
	}
	if len(out.Header) != len(want) {
		t.Errorf("header %v, want %v", out.Header, want)
	}
	for k, v := range want {
		if strings.Join(out.Header[k], ",") != strings.Join(v, ",") {
			t.Errorf("%s = %q, want %q", k, out.Header[k], v)
		}
	}
	if in.Header.Get("X-Custom") != "hop" || in.URL.RawQuery != "a=1&b=2;c=3" {
		t.Error("the inbound request was changed")
	}
	if out.URL.RawQuery != "a=1" || out.URL.Scheme != "http" || out.Body != nil {
		t.Errorf("outbound query %q scheme %q body %v", out.URL.RawQuery, out.URL.Scheme, out.Body)
	}
	in.Header.Set("Connection", "Upgrade")
	in.Header.Set("Upgrade", "web\x01socket")
	if _, err := outboundRequest(in, in.Context()); err == nil {
		t.Error("an unprintable upgrade protocol was accepted")
	}
}
