package translate

import (
	"slices"
	"strconv"
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	previoushostsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/retry/host/previous_hosts/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
	networking "istio.io/api/networking/v1alpha3"
)

// Istio's retry policy when a route says nothing: two retries on
// connection failures, refused streams, gRPC unavailable/cancelled and 503.
const (
	defaultRetryOn       = "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes"
	defaultRetryAttempts = 2
	previousHostsName    = "envoy.retry_host_predicates.previous_hosts"
)

func (b *builder) defaultRetryPolicy() *routev3.RetryPolicy {
	if p := b.view.Mesh.GetDefaultHttpRetryPolicy(); p != nil {
		return translateRetries(p)
	}
	return translateRetries(nil)
}

// retryPolicy is the route's retry policy: the mesh default when the
// virtual service has none, none when attempts is 0.
func (b *builder) retryPolicy(r *networking.HTTPRetry) *routev3.RetryPolicy {
	if r == nil {
		return b.defaultRetryPolicy()
	}
	return translateRetries(r)
}

func translateRetries(r *networking.HTTPRetry) *routev3.RetryPolicy {
	attempts, retryOn := int32(defaultRetryAttempts), defaultRetryOn
	if r != nil {
		if r.Attempts == 0 {
			return nil
		}
		attempts = r.Attempts
		if r.RetryOn != "" {
			retryOn = r.RetryOn
		}
	}
	p := &routev3.RetryPolicy{
		NumRetries:                    wrapperspb.UInt32(uint32(attempts)),
		HostSelectionRetryMaxAttempts: 5,
		RetryHostPredicate: []*routev3.RetryPolicy_RetryHostPredicate{{
			Name:       previousHostsName,
			ConfigType: &routev3.RetryPolicy_RetryHostPredicate_TypedConfig{TypedConfig: mustAny(&previoushostsv3.PreviousHostsPredicate{})},
		}},
	}
	p.RetryOn, p.RetriableStatusCodes = splitRetryOn(retryOn)
	if r == nil || r.RetryOn == "" {
		p.RetriableStatusCodes = []uint32{503}
	}
	if r != nil && r.PerTryTimeout != nil {
		p.PerTryTimeout = r.PerTryTimeout
	}
	return p
}

// splitRetryOn separates Envoy retry conditions from bare status codes,
// which Envoy takes as retriable-status-codes.
func splitRetryOn(s string) (string, []uint32) {
	var conds []string
	var codes []uint32
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if n, err := strconv.ParseUint(part, 10, 32); err == nil {
			codes = append(codes, uint32(n))
			continue
		}
		conds = append(conds, part)
	}
	if len(codes) > 0 && !slices.Contains(conds, "retriable-status-codes") {
		conds = append(conds, "retriable-status-codes")
	}
	return strings.Join(conds, ","), codes
}
