package http

import (
	"io"
	nethttp "net/http"
	"strconv"
	"sync"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// defaultRouteTimeout is Envoy's route timeout when none is configured.
const defaultRouteTimeout = 15 * time.Second

// timeouts are one forwarded request's timeouts (0: none).
type timeouts struct {
	global time.Duration // route timeout: from the end of the request to the end of the response
	perTry time.Duration // each attempt
	stream time.Duration // max_stream_duration: from the start of the request
}

// computeTimeouts applies Envoy's router rules: the route timeout (15s by
// default); for gRPC requests under max_grpc_timeout, the grpc-timeout
// header capped at it; x-envoy-upstream-rq-timeout-ms and
// x-envoy-upstream-rq-per-try-timeout-ms (present on internal requests
// only; removed); a per-try timeout not below the global one is dropped.
// The upstream request gets x-envoy-expected-rq-timeout-ms and, under
// max_grpc_timeout, a grpc-timeout with what it is expected to take.
func computeTimeouts(r *nethttp.Request, a *resource.RouteAction, rp *resource.RetryPolicy, grpc bool) timeouts {
	h := r.Header
	t := timeouts{global: defaultRouteTimeout, stream: a.MaxStreamDuration}
	if a.TimeoutSet {
		t.global = a.Timeout
	}
	if grpc && a.MaxGRPCTimeout != nil {
		t.global = capped(grpcTimeout(h), *a.MaxGRPCTimeout)
	}
	if ms, ok := headerMillis(h, "X-Envoy-Upstream-Rq-Timeout-Ms"); ok {
		t.global = ms
	}
	if rp != nil {
		t.perTry = rp.PerTryTimeout
	}
	if ms, ok := headerMillis(h, "X-Envoy-Upstream-Rq-Per-Try-Timeout-Ms"); ok {
		t.perTry = ms
	}
	if t.global > 0 && t.perTry >= t.global {
		t.perTry = 0
	}
	if grpc && a.GRPCTimeoutHeaderMax != nil {
		if g := grpcTimeout(h); g > 0 {
			t.stream = capped(g, *a.GRPCTimeoutHeaderMax)
		}
	}
	expected := t.perTry
	if expected == 0 {
		expected = t.global
	}
	if expected > 0 {
		h.Set("X-Envoy-Expected-Rq-Timeout-Ms", strconv.FormatInt(expected.Milliseconds(), 10))
		if grpc && a.MaxGRPCTimeout != nil {
			h.Set("Grpc-Timeout", formatGRPCTimeout(expected))
		}
	}
	return t
}

// capped limits d (0: unlimited) to limit (0: no limit).
func capped(d, limit time.Duration) time.Duration {
	if limit > 0 && (d == 0 || d > limit) {
		return limit
	}
	return d
}

// headerMillis reads and removes a header holding milliseconds.
func headerMillis(h nethttp.Header, name string) (time.Duration, bool) {
	v := h.Get(name)
	if v == "" {
		return 0, false
	}
	h.Del(name)
	n, err := strconv.ParseUint(v, 10, 63)
	if err != nil || n > uint64(1<<62)/uint64(time.Millisecond) {
		return 0, false
	}
	return time.Duration(n) * time.Millisecond, true
}

// grpcTimeout parses the grpc-timeout header (0 when absent or invalid).
func grpcTimeout(h nethttp.Header) time.Duration {
	v := h.Get("Grpc-Timeout")
	if len(v) < 2 || len(v) > 9 {
		return 0
	}
	n, err := strconv.ParseInt(v[:len(v)-1], 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	units := map[byte]time.Duration{'H': time.Hour, 'M': time.Minute, 'S': time.Second,
		'm': time.Millisecond, 'u': time.Microsecond, 'n': time.Nanosecond}
	u, ok := units[v[len(v)-1]]
	if !ok {
		return 0
	}
	return time.Duration(n) * u
}

// formatGRPCTimeout renders a timeout in milliseconds, or in larger units
// when it does not fit the header's eight digits.
func formatGRPCTimeout(d time.Duration) string {
	ms := d.Milliseconds()
	switch {
	case ms < 1e8:
		return strconv.FormatInt(max(ms, 1), 10) + "m"
	case ms/1000 < 1e8:
		return strconv.FormatInt(ms/1000, 10) + "S"
	}
	return strconv.FormatInt(min(ms/3600000, 99999999), 10) + "H"
}

// armTimeout starts the route timeout when the downstream request is
// complete, as Envoy does: now for a request without a body (or with one
// already buffered), otherwise when its body ends.
func (f *forward) armTimeout(r *nethttp.Request) {
	d := f.timeouts.global
	if d <= 0 {
		return
	}
	start := func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.timer == nil && !f.timerDone {
			f.timer = time.AfterFunc(d, func() { f.expire(&f.timedOut) })
		}
	}
	if r.ContentLength == 0 || r.Body == nil || r.Body == nethttp.NoBody || r.GetBody != nil {
		start()
		return
	}
	r.Body = &endNotifier{ReadCloser: r.Body, fn: start}
}

// stopTimeout stops the route timeout (a finished or upgraded request).
func (f *forward) stopTimeout() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.timer != nil {
		f.timer.Stop()
	}
	f.timerDone = true
}

// endNotifier calls fn once when the body ends or is closed.
type endNotifier struct {
	io.ReadCloser
	once sync.Once
	fn   func()
}

func (b *endNotifier) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.once.Do(b.fn)
	}
	return n, err
}

func (b *endNotifier) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.fn)
	return err
}
