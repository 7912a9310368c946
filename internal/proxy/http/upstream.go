package http

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	nethttp "net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/cluster"
	"github.com/lateenmesh/lateen/internal/proxy/lb"
	"github.com/lateenmesh/lateen/internal/proxy/mtls"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// maxReplayBody is the largest request body buffered so that it can be
// retried (Envoy buffers for retries too); larger bodies stream and are
// not retried.
const maxReplayBody = 64 << 10

// RoundTrip sends one forwarded request, retrying per the route's retry
// policy. The first attempt starts the request's mirrors.
func (rt *router) RoundTrip(out *nethttp.Request) (*nethttp.Response, error) {
	f := out.Context().Value(forwardKey{}).(*forward)
	if f.attempt == 0 {
		rt.startMirrors(out, f)
	}
	for {
		f.attempt++
		ep, ok := f.pick(out)
		if !ok {
			f.cluster.Stats.NoHealthyUpstream.Inc()
			f.failure = FlagNoHealthyUpstream
			return nil, errNoHealthyUpstream
		}
		f.tried = append(f.tried, ep)
		f.info.UpstreamHost, f.info.Attempts = ep.Address, f.attempt
		resp, err := rt.attempt(out, f, ep.Address)
		if f.failure == FlagUpstreamTimeout {
			f.stats.perTryTimeout.Inc()
		}
		if !f.shouldRetry(out, resp, err) {
			if err == nil && f.attempt > 1 && f.info.Flags&FlagUpstreamRetryLimitExceeded == 0 {
				f.stats.retrySuccess.Inc()
			}
			return resp, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxReplayBody))
			resp.Body.Close()
		}
		f.cluster.Stats.RqRetry.Inc()
		f.failure = 0
		if !f.backoff(out.Context(), f.attempt) {
			return nil, out.Context().Err()
		}
		out.Body, _ = out.GetBody()
	}
}

// lbRequest is what the load balancer sees of an attempt: with the
// previous_hosts retry predicate, the hosts already tried are excluded.
func (f *forward) lbRequest(out *nethttp.Request) *lb.Request {
	req := f.withHash(&lb.Request{HTTP: out, OriginalDst: f.origDst}, out)
	if f.retry != nil && len(f.retry.RetryHostPredicates) > 0 {
		for _, ep := range f.tried {
			req.Exclude = append(req.Exclude, ep.Address)
		}
	}
	return req
}

// pick chooses the attempt's endpoint: the cluster's load balancer, or,
// once previous_priorities excludes the priorities tried, the healthy
// endpoints of the first priority left.
func (f *forward) pick(out *nethttp.Request) (resource.Endpoint, bool) {
	req := f.lbRequest(out)
	if eps := f.priorityEndpoints(); len(eps) > 0 {
		return pickRandom(eps, req.Exclude), true
	}
	return f.cluster.Pick(req)
}

// attempt makes one upstream request to addr: it counts the request as
// outstanding on the host, reports the outcome to outlier detection (a
// response code, or a local connect failure, reset or timeout; circuit
// breaker overflows and abandoned requests report nothing) and sets the
// cookies of cookie hash policies with a ttl.
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
	done := f.cluster.Begin(addr)
	end := sync.OnceFunc(func() {
		done()
		if cancel != nil {
			cancel()
		}
	})
	f.cluster.Stats.RqTotal.Inc()
	resp, err := f.cluster.Upstream.RoundTrip(req)
	if err != nil {
		f.failure = classify(err, req.Context())
		if he := (*mtls.HandshakeError)(nil); errors.As(err, &he) {
			f.info.UpstreamTransportFailureReason = he.Error()
		}
		end()
		if out.Context().Err() == nil {
			if o, ok := outlierOutcomes[f.failure]; ok {
				f.cluster.ReportLocal(addr, o)
			}
		}
		return nil, err
	}
	f.cluster.ReportLocal(addr, cluster.ConnectSuccess)
	f.cluster.ReportResponse(addr, resp.StatusCode)
	if resp.StatusCode == nethttp.StatusSwitchingProtocols {
		end() // the upgraded connection leaves the pool; its body must stay an io.ReadWriteCloser
	} else {
		resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: context.CancelFunc(end)}
	}
	f.cluster.Stats.RqCodes.Record(resp.StatusCode)
	f.setHashCookies(out, resp)
	return resp, nil
}

// outlierOutcomes map local failures to what outlier detection counts.
var outlierOutcomes = map[ResponseFlag]cluster.Outcome{
	FlagUpstreamConnFailure:     cluster.ConnectFailed,
	FlagUpstreamConnTermination: cluster.ConnectFailed,
	FlagUpstreamReset:           cluster.ConnectFailed,
	FlagUpstreamTimeout:         cluster.Timeout,
}

// classify maps an upstream error before response headers to a flag.
func classify(err error, ctx context.Context) ResponseFlag {
	var op *net.OpError
	switch {
	case errors.Is(err, cluster.ErrOverflow):
		return FlagUpstreamOverflow
	case errors.As(err, &op) && op.Op == "dial":
		return FlagUpstreamConnFailure
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return FlagUpstreamTimeout
	case strings.Contains(err.Error(), "REFUSED_STREAM"):
		return FlagUpstreamReset
	}
	return FlagUpstreamConnTermination
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
func (rt *router) modifyResponse(resp *nethttp.Response) {
	f := resp.Request.Context().Value(forwardKey{}).(*forward)
	if resp.StatusCode == nethttp.StatusSwitchingProtocols {
		f.stopTimeout()
		f.info.ResponseCode = resp.StatusCode
	}
	resp.Header.Set("X-Envoy-Upstream-Service-Time", strconv.FormatInt(time.Since(f.start).Milliseconds(), 10))
	applyResponseOps(resp.Header, f.headers)
}

// resetReasons name a failure in Envoy's local reply body.
var resetReasons = map[ResponseFlag]string{
	FlagUpstreamConnFailure:     "connection failure",
	FlagUpstreamConnTermination: "connection termination",
	FlagUpstreamOverflow:        "overflow",
	FlagUpstreamReset:           "remote refused stream reset",
}

// fail renders failures before response headers as Envoy does (as gRPC
// trailers-only responses for gRPC requests); ctx is the forward's.
func (rt *router) fail(w nethttp.ResponseWriter, f *forward, ctx context.Context, err error) {
	f.mu.Lock()
	timedOut, expired := f.timedOut, f.expired
	f.mu.Unlock()
	switch {
	case expired:
		code := uint32(grpcDeadlineExceeded)
		localReplyGRPC(w, f.info, nethttp.StatusRequestTimeout, FlagDurationTimeout, "downstream duration timeout", &code)
	case timedOut || f.failure == FlagUpstreamTimeout:
		if timedOut {
			f.cluster.Stats.RqTimeout.Inc()
		}
		localReply(w, f.info, nethttp.StatusGatewayTimeout, FlagUpstreamTimeout, "upstream request timeout")
	case errors.Is(err, errNoHealthyUpstream):
		localReply(w, f.info, nethttp.StatusServiceUnavailable, FlagNoHealthyUpstream, "no healthy upstream")
	case ctx.Err() != nil:
		f.info.Flags |= FlagDownstreamTerminated
		f.info.ResponseCode = 499 // client went away; nothing is written
	default:
		flag := f.failure
		if resetReasons[flag] == "" {
			flag = FlagUpstreamConnTermination
		}
		body := "upstream connect error or disconnect/reset before headers. reset reason: " + resetReasons[flag]
		if reason := f.info.UpstreamTransportFailureReason; reason != "" {
			body += ", transport failure reason: " + reason
		}
		localReply(w, f.info, nethttp.StatusServiceUnavailable, flag, body)
	}
}
