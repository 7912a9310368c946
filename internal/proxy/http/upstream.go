package http

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	nethttp "net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/lb"
)

// maxReplayBody is the largest request body buffered so that it can be
// retried (Envoy buffers for retries too); larger bodies stream and are
// not retried.
const maxReplayBody = 64 << 10

// RoundTrip sends one forwarded request, retrying per the route's retry
// policy. It is the ReverseProxy's transport.
func (rt *router) RoundTrip(out *nethttp.Request) (*nethttp.Response, error) {
	f := out.Context().Value(forwardKey{}).(*forward)
	var tried []string
	for {
		f.attempt++
		ep, ok := f.cluster.Pick(&lb.Request{HTTP: out, OriginalDst: f.origDst, Exclude: tried})
		if !ok {
			f.cluster.Stats.NoHealthyUpstream.Inc()
			f.failure = FlagNoHealthyUpstream
			return nil, errNoHealthyUpstream
		}
		tried = append(tried, ep.Address)
		f.info.UpstreamHost, f.info.Attempts = ep.Address, f.attempt
		resp, err := rt.attempt(out, f, ep.Address)
		if !f.shouldRetry(out, resp, err) {
			return resp, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxReplayBody))
			resp.Body.Close()
		}
		f.cluster.Stats.RqRetry.Inc()
		if !backoff(out.Context(), f.attempt) {
			return nil, out.Context().Err()
		}
		out.Body, _ = out.GetBody()
	}
}

func (rt *router) attempt(out *nethttp.Request, f *forward, addr string) (*nethttp.Response, error) {
	out.URL.Host = addr
	if f.includeAC {
		out.Header.Set("X-Envoy-Attempt-Count", strconv.Itoa(f.attempt))
	}
	req, cancel := out, context.CancelFunc(nil)
	if f.retry != nil && f.retry.PerTryTimeout > 0 {
		ctx, c := context.WithTimeout(out.Context(), f.retry.PerTryTimeout)
		req, cancel = out.WithContext(ctx), c
	}
	f.cluster.Stats.RqTotal.Inc()
	resp, err := f.cluster.Upstream.RoundTrip(req)
	switch {
	case err != nil:
		f.failure = classify(err, req.Context())
		if cancel != nil {
			cancel()
		}
	case cancel != nil:
		resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	}
	if resp != nil {
		f.cluster.Stats.RqCodes.Record(resp.StatusCode)
	}
	return resp, err
}

// classify maps an upstream error before response headers to a flag.
func classify(err error, ctx context.Context) ResponseFlag {
	var op *net.OpError
	switch {
	case errors.As(err, &op) && op.Op == "dial":
		return FlagUpstreamConnFailure
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return FlagUpstreamTimeout
	case strings.Contains(err.Error(), "REFUSED_STREAM"):
		return FlagUpstreamReset
	}
	return FlagUpstreamConnTermination
}

// shouldRetry applies the retry policy's retry_on conditions.
func (f *forward) shouldRetry(out *nethttp.Request, resp *nethttp.Response, err error) bool {
	rp := f.retry
	if rp == nil || f.attempt > int(rp.NumRetries) || out.Context().Err() != nil {
		return false
	}
	if out.Body != nil && out.Body != nethttp.NoBody && out.GetBody == nil {
		return false // streamed body: cannot replay
	}
	if f.cluster.Config.Limits.MaxRetries > 0 && f.attempt > int(f.cluster.Config.Limits.MaxRetries) {
		return false
	}
	for _, on := range rp.RetryOn {
		if retryOn(on, resp, err, f.failure, rp.RetriableStatusCodes) {
			return true
		}
	}
	return false
}

var grpcRetryStatus = map[string]string{"cancelled": "1", "deadline-exceeded": "4", "resource-exhausted": "8", "unavailable": "14"}

func retryOn(on string, resp *nethttp.Response, err error, flag ResponseFlag, codes []uint32) bool {
	if err != nil {
		switch on {
		case "5xx", "gateway-error", "reset":
			return true
		case "connect-failure":
			return flag == FlagUpstreamConnFailure
		case "refused-stream":
			return flag == FlagUpstreamReset
		}
		return false
	}
	code := resp.StatusCode
	switch on {
	case "5xx":
		return code >= 500
	case "gateway-error":
		return code == 502 || code == 503 || code == 504
	case "retriable-4xx":
		return code == 409
	case "retriable-status-codes":
		return slices.Contains(codes, uint32(code))
	}
	if want, ok := grpcRetryStatus[on]; ok {
		return resp.Header.Get("Grpc-Status") == want
	}
	return false
}

// backoff waits Envoy's default jittered exponential backoff (25ms base,
// 250ms max) or until ctx ends.
func backoff(ctx context.Context, attempt int) bool {
	limit := min(25*time.Millisecond<<(attempt-1), 250*time.Millisecond)
	t := time.NewTimer(rand.N(limit) + time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// makeReplayable buffers a small request body so that it can be retried.
func makeReplayable(r *nethttp.Request) {
	if r.Body == nil || r.Body == nethttp.NoBody {
		r.GetBody = func() (io.ReadCloser, error) { return nethttp.NoBody, nil }
		return
	}
	if r.ContentLength < 0 || r.ContentLength > maxReplayBody {
		return
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxReplayBody+1))
	if err != nil || int64(len(b)) != r.ContentLength {
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(b), r.Body))
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// modifyResponse applies response header ops and records the upstream
// service time; a 101 stops the route timeout (the connection is upgraded).
func (rt *router) modifyResponse(resp *nethttp.Response) error {
	f := resp.Request.Context().Value(forwardKey{}).(*forward)
	if resp.StatusCode == nethttp.StatusSwitchingProtocols {
		if f.timer != nil {
			f.timer.Stop()
		}
		f.info.ResponseCode = resp.StatusCode
	}
	resp.Header.Set("X-Envoy-Upstream-Service-Time", strconv.FormatInt(time.Since(f.start).Milliseconds(), 10))
	applyResponseOps(resp.Header, f.headers)
	return nil
}

// errorHandler renders failures before response headers as Envoy does.
func (rt *router) errorHandler(w nethttp.ResponseWriter, r *nethttp.Request, err error) {
	f := r.Context().Value(forwardKey{}).(*forward)
	f.mu.Lock()
	timedOut := f.timedOut
	f.mu.Unlock()
	switch {
	case timedOut || f.failure == FlagUpstreamTimeout:
		f.cluster.Stats.RqTimeout.Inc()
		localReply(w, f.info, nethttp.StatusGatewayTimeout, FlagUpstreamTimeout, "upstream request timeout")
	case errors.Is(err, errNoHealthyUpstream):
		localReply(w, f.info, nethttp.StatusServiceUnavailable, FlagNoHealthyUpstream, "no healthy upstream")
	case r.Context().Err() != nil:
		f.info.Flags |= FlagDownstreamTerminated
		f.info.ResponseCode = 499 // client went away; nothing is written
	case f.failure == FlagUpstreamConnFailure:
		localReply(w, f.info, nethttp.StatusServiceUnavailable, FlagUpstreamConnFailure, bodyConnFailure)
	default:
		flag := f.failure
		if flag == 0 {
			flag = FlagUpstreamConnTermination
		}
		localReply(w, f.info, nethttp.StatusServiceUnavailable, flag, bodyConnTerm)
	}
}
