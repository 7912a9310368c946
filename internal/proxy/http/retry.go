package http

import (
	"context"
	"math/rand/v2"
	nethttp "net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/stats"
)

// Envoy's default retry back-off: 25ms base interval, ten times that at
// most.
const (
	defaultBackOffBase = 25 * time.Millisecond
	backOffMaxFactor   = 10
)

// retryOptions are what the retry policy cannot hold: the response header
// names of x-envoy-retriable-header-names.
type retryOptions struct {
	headerNames []string
}

// retryBudget is implemented by clusters that enforce the circuit breaker
// max_retries: a retry goes ahead only when AcquireRetry grants a slot
// (overflow otherwise), released by ReleaseRetry when the request ends.
type retryBudget interface {
	AcquireRetry() bool
	ReleaseRetry()
}

// routerStats are the router's per cluster stats beyond cluster.Stats.
type routerStats struct {
	retrySuccess, retryLimitExceeded, retryBackoff *stats.Counter
	perTryTimeout, shadowDropped                   *stats.Counter
}

func (rt *router) clusterStats(name string) *routerStats {
	if s, ok := rt.cstats.Load(name); ok {
		return s.(*routerStats)
	}
	p := "cluster." + name + "."
	s := &routerStats{
		retrySuccess:       rt.stats.Counter(p + "upstream_rq_retry_success"),
		retryLimitExceeded: rt.stats.Counter(p + "upstream_rq_retry_limit_exceeded"),
		retryBackoff:       rt.stats.Counter(p + "upstream_rq_retry_backoff_exponential"),
		perTryTimeout:      rt.stats.Counter(p + "upstream_rq_per_try_timeout"),
		shadowDropped:      rt.stats.Counter(p + "upstream_rq_shadow_dropped"),
	}
	v, _ := rt.cstats.LoadOrStore(name, s)
	return v.(*routerStats)
}

// retryFromRequest returns the retry policy of a request: the route's,
// extended by x-envoy-retry-on, x-envoy-retry-grpc-on, x-envoy-max-retries,
// x-envoy-retriable-status-codes and x-envoy-retriable-header-names (which
// only internal requests keep; they are removed here).
func retryFromRequest(h nethttp.Header, p *resource.RetryPolicy) (*resource.RetryPolicy, retryOptions) {
	var opts retryOptions
	on := append(splitList(h.Get("X-Envoy-Retry-On")), splitList(h.Get("X-Envoy-Retry-Grpc-On"))...)
	maxRetries, codes := h.Get("X-Envoy-Max-Retries"), splitList(h.Get("X-Envoy-Retriable-Status-Codes"))
	opts.headerNames = splitList(h.Get("X-Envoy-Retriable-Header-Names"))
	for _, name := range []string{"X-Envoy-Retry-On", "X-Envoy-Retry-Grpc-On", "X-Envoy-Max-Retries",
		"X-Envoy-Retriable-Status-Codes", "X-Envoy-Retriable-Header-Names"} {
		h.Del(name)
	}
	on = slices.DeleteFunc(on, func(c string) bool { return !retryConditions[c] })
	if len(on)+len(codes) == 0 && maxRetries == "" {
		return p, opts
	}
	if p == nil && len(on) == 0 {
		return nil, opts
	}
	c := resource.RetryPolicy{NumRetries: 1}
	if p != nil {
		c = *p
	}
	c.RetryOn = append(slices.Clip(c.RetryOn), on...)
	if n, err := strconv.ParseUint(maxRetries, 10, 32); err == nil {
		c.NumRetries = uint32(n)
	}
	for _, code := range codes {
		if n, err := strconv.ParseUint(code, 10, 32); err == nil {
			c.RetriableStatusCodes = append(slices.Clip(c.RetriableStatusCodes), uint32(n))
		}
	}
	return &c, opts
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// retryConditions are the retry_on conditions the router implements.
var retryConditions = map[string]bool{
	"5xx": true, "gateway-error": true, "reset": true, "reset-before-request": true, "connect-failure": true,
	"envoy-ratelimited": true, "retriable-4xx": true, "refused-stream": true, "retriable-status-codes": true,
	"retriable-headers": true, "http3-post-connect-failure": true,
	"cancelled": true, "deadline-exceeded": true, "internal": true, "resource-exhausted": true, "unavailable": true,
}

// withPerTryTimeout returns p with the effective per-try timeout.
func withPerTryTimeout(p *resource.RetryPolicy, d time.Duration) *resource.RetryPolicy {
	switch {
	case p == nil && d == 0:
		return nil
	case p == nil:
		return &resource.RetryPolicy{PerTryTimeout: d}
	case p.PerTryTimeout == d:
		return p
	}
	c := *p
	c.PerTryTimeout = d
	return &c
}

// shouldRetry decides on an attempt's outcome as Envoy's retry state does:
// the outcome must match a retry_on condition; then retries must remain
// (otherwise URX, upstream_rq_retry_limit_exceeded), the body must be
// replayable and the cluster's retry budget must allow it.
func (f *forward) shouldRetry(out *nethttp.Request, resp *nethttp.Response, err error) bool {
	rp := f.retry
	if rp == nil || out.Context().Err() != nil || f.failure == FlagUpstreamOverflow {
		return false
	}
	if resp != nil && resp.Header.Get("X-Envoy-Overloaded") != "" {
		return false
	}
	if !f.retryMatches(resp, err) {
		return false
	}
	if f.attempt > int(rp.NumRetries) {
		f.info.Flags |= FlagUpstreamRetryLimitExceeded
		f.stats.retryLimitExceeded.Inc()
		return false
	}
	if out.Body != nil && out.Body != nethttp.NoBody && out.GetBody == nil {
		return false // streamed body: cannot replay
	}
	if rb, ok := any(f.cluster).(retryBudget); ok {
		if !rb.AcquireRetry() {
			f.info.Flags |= FlagUpstreamOverflow
			return false
		}
		f.releases = append(f.releases, rb.ReleaseRetry)
	}
	return true
}

func (f *forward) retryMatches(resp *nethttp.Response, err error) bool {
	for _, on := range f.retry.RetryOn {
		if retryOn(on, resp, err, f.failure, f.retry.RetriableStatusCodes, f.retryOpts.headerNames) {
			return true
		}
	}
	return false
}

var grpcRetryStatus = map[string]string{"cancelled": "1", "deadline-exceeded": "4", "resource-exhausted": "8",
	"internal": "13", "unavailable": "14"}

// retryOn reports whether one retry_on condition matches an outcome: an
// error before response headers (flag classifies it) or a response.
func retryOn(on string, resp *nethttp.Response, err error, flag ResponseFlag, codes []uint32, names []string) bool {
	if err != nil {
		switch on {
		case "5xx", "gateway-error", "reset":
			return true // any reset, connection failure or per-try timeout
		case "connect-failure", "reset-before-request":
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
	case "envoy-ratelimited":
		return resp.Header.Get("X-Envoy-Ratelimited") != ""
	case "retriable-headers":
		return slices.ContainsFunc(names, func(n string) bool { return resp.Header.Get(n) != "" })
	}
	if want, ok := grpcRetryStatus[on]; ok {
		return resp.Header.Get("Grpc-Status") == want
	}
	return false
}

// backoff waits before retry number n (1 for the first retry) as Envoy's
// jittered exponential back-off: a random time in [0, (2^n - 1) * base),
// at most the maximum interval. It returns false when ctx ends first.
func (f *forward) backoff(ctx context.Context, n int) bool {
	base, maxI := defaultBackOffBase, defaultBackOffBase*backOffMaxFactor
	if f.retry.BackOffBase > 0 {
		base, maxI = f.retry.BackOffBase, f.retry.BackOffMax
	}
	f.stats.retryBackoff.Inc()
	t := time.NewTimer(backoffDelay(base, maxI, n))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func backoffDelay(base, maxI time.Duration, n int) time.Duration {
	span := base // (2^n - 1) * base, which stops growing past the maximum
	for i := 1; i < n && span <= maxI; i++ {
		span = 2*span + base
	}
	return min(rand.N(span), maxI)
}

// priorityEndpoints applies the previous_priorities retry priority: every
// update_frequency attempts, the priorities of the endpoints tried so far
// are excluded. It returns the healthy endpoints of the first priority
// left; nil when nothing is excluded, or everything is (then the
// exclusions reset, as in Envoy) and the cluster's load balancer picks.
func (f *forward) priorityEndpoints() []resource.Endpoint {
	freq, n := 0, len(f.tried)
	if f.retry != nil {
		freq = f.retry.PreviousPriorities
	}
	if freq == 0 || n < freq {
		return nil
	}
	if n%freq == 0 {
		if f.excluded == nil {
			f.excluded = map[uint32]bool{}
		}
		for _, ep := range f.tried {
			f.excluded[ep.Priority] = true
		}
	}
	if len(f.excluded) == 0 {
		return nil
	}
	eps := firstHealthyPriority(f.cluster.Endpoints, f.excluded, f.ejected)
	if eps == nil {
		f.excluded = nil
	}
	return eps
}

// ejector is implemented by clusters with outlier detection.
type ejector interface{ Ejected(addr string) bool }

// ejected reports whether outlier detection ejected an endpoint.
func (f *forward) ejected(addr string) bool {
	e, ok := any(f.cluster).(ejector)
	return ok && e.Ejected(addr)
}

// firstHealthyPriority returns the healthy (not ejected) endpoints of the
// lowest priority not excluded that has some.
func firstHealthyPriority(all []resource.Endpoint, excluded map[uint32]bool, ejected func(string) bool) []resource.Endpoint {
	var best []resource.Endpoint
	bestPrio := uint32(0)
	for _, ep := range all {
		if excluded[ep.Priority] || !ep.Healthy() || ejected(ep.Address) {
			continue
		}
		switch {
		case best == nil || ep.Priority < bestPrio:
			best, bestPrio = []resource.Endpoint{ep}, ep.Priority
		case ep.Priority == bestPrio:
			best = append(best, ep)
		}
	}
	return best
}

// pickRandom picks an endpoint by weight, avoiding excluded addresses when
// possible.
func pickRandom(eps []resource.Endpoint, exclude []string) resource.Endpoint {
	cands := slices.DeleteFunc(slices.Clone(eps), func(ep resource.Endpoint) bool {
		return slices.Contains(exclude, ep.Address)
	})
	if len(cands) == 0 {
		cands = eps
	}
	var total uint64
	for _, ep := range cands {
		total += uint64(max(ep.Weight, 1))
	}
	n := rand.Uint64N(total)
	for _, ep := range cands {
		if w := uint64(max(ep.Weight, 1)); n < w {
			return ep
		} else {
			n -= w
		}
	}
	return cands[len(cands)-1]
}
