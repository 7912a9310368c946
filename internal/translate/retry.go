package translate

import (
	"net/http"
	"strconv"
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	previoushostsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/retry/host/previous_hosts/v3"
	previousprioritiesv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/retry/priority/previous_priorities/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
	networking "istio.io/api/networking/v1alpha3"
)

// Istio's retry policy when a route says nothing: two retries on
// connection failures, refused streams, gRPC unavailable/cancelled and 503,
// preferring hosts not tried yet.
const (
	defaultRetryOn          = "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes"
	defaultRetryAttempts    = 2
	previousHostsName       = "envoy.retry_host_predicates.previous_hosts"
	previousPrioritiesName  = "envoy.retry_priorities.previous_priorities"
	previousPrioritiesFreq  = 2
	hostSelectionMaxRetries = 5
)

// defaultRetryPolicy is the retry policy of routes whose virtual service
// sets none: the mesh's defaultHttpRetryPolicy, or Istio's default.
func (b *builder) defaultRetryPolicy() *routev3.RetryPolicy {
	return translateRetries(b.view.Mesh.GetDefaultHttpRetryPolicy(), false)
}

// retryPolicy is a route's retry policy: its retries, or the mesh default
// when it has none. With consistent hashing (a hash policy for the route's
// single destination), retries do not avoid the hosts tried, as in Istio.
func (b *builder) retryPolicy(r *networking.HTTPRetry, consistentHash bool) *routev3.RetryPolicy {
	if r == nil {
		r = b.view.Mesh.GetDefaultHttpRetryPolicy()
	}
	return translateRetries(r, consistentHash)
}

// translateRetries is Istio's conversion: the default policy overridden by
// what r sets; nil (no retries) when r sets attempts to 0.
func translateRetries(r *networking.HTTPRetry, consistentHash bool) *routev3.RetryPolicy {
	p := &routev3.RetryPolicy{
		NumRetries:                    wrapperspb.UInt32(defaultRetryAttempts),
		RetryOn:                       defaultRetryOn,
		RetriableStatusCodes:          []uint32{http.StatusServiceUnavailable},
		HostSelectionRetryMaxAttempts: hostSelectionMaxRetries,
	}
	if !consistentHash {
		p.RetryHostPredicate = previousHosts()
	}
	if r == nil {
		return p
	}
	if r.Attempts <= 0 {
		return nil
	}
	p.NumRetries = wrapperspb.UInt32(uint32(r.Attempts))
	if r.RetryOn != "" {
		p.RetryOn, p.RetriableStatusCodes = splitRetryOn(r.RetryOn)
	}
	if r.PerTryTimeout != nil {
		p.PerTryTimeout = r.PerTryTimeout
	}
	if r.RetryIgnorePreviousHosts != nil {
		p.RetryHostPredicate = nil
		if r.RetryIgnorePreviousHosts.GetValue() {
			p.RetryHostPredicate = previousHosts()
		}
	}
	if r.RetryRemoteLocalities.GetValue() {
		p.RetryPriority = &routev3.RetryPolicy_RetryPriority{
			Name: previousPrioritiesName,
			ConfigType: &routev3.RetryPolicy_RetryPriority_TypedConfig{TypedConfig: mustAny(
				&previousprioritiesv3.PreviousPrioritiesConfig{UpdateFrequency: previousPrioritiesFreq})},
		}
	}
	if r.Backoff != nil {
		p.RetryBackOff = &routev3.RetryPolicy_RetryBackOff{BaseInterval: r.Backoff}
	}
	return p
}

func previousHosts() []*routev3.RetryPolicy_RetryHostPredicate {
	return []*routev3.RetryPolicy_RetryHostPredicate{{
		Name:       previousHostsName,
		ConfigType: &routev3.RetryPolicy_RetryHostPredicate_TypedConfig{TypedConfig: mustAny(&previoushostsv3.PreviousHostsPredicate{})},
	}}
}

// splitRetryOn separates Envoy retry conditions from HTTP status codes,
// which become retriable_status_codes (adding the retriable-status-codes
// condition when missing).
func splitRetryOn(s string) (string, []uint32) {
	var conds []string
	var codes []uint32
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if n, err := strconv.Atoi(part); err == nil && http.StatusText(n) != "" {
			codes = append(codes, uint32(n))
			continue
		}
		conds = append(conds, part)
	}
	on := strings.Join(conds, ",")
	if len(codes) > 0 && !strings.Contains(on, "retriable-status-codes") {
		on += ",retriable-status-codes"
	}
	return on, codes
}
