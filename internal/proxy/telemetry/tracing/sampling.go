package tracing

import (
	"math/rand/v2"
	nethttp "net/http"
	"strconv"
)

// reason is why a request is traced, as Envoy's UUID request id extension
// records it in the x-request-id it forwards (the UUID's 15th character),
// so that every proxy on the way keeps the first one's decision.
type reason byte

const (
	reasonNone    reason = '4' // not traced (the UUID version digit)
	reasonForced  reason = '9' // x-envoy-force-trace
	reasonSampled reason = 'a' // random sampling
	reasonClient  reason = 'b' // x-client-trace-id
)

const reasonIndex = 14

// requestIDReason reads the reason a UUID x-request-id carries.
func requestIDReason(id string) reason {
	if !isUUID(id) {
		return reasonNone
	}
	switch r := reason(id[reasonIndex]); r {
	case reasonForced, reasonSampled, reasonClient:
		return r
	}
	return reasonNone
}

func isUUID(id string) bool {
	return len(id) == 36 && id[8] == '-' && id[13] == '-' && id[18] == '-' && id[23] == '-'
}

// withReason returns the request id marked with r (ids that are not
// UUIDs are kept as they are).
func withReason(id string, r reason) string {
	if !isUUID(id) || reason(id[reasonIndex]) == r {
		return id
	}
	b := []byte(id)
	b[reasonIndex] = byte(r)
	return string(b)
}

// sampler applies a connection manager's sampling percentages.
type sampler struct {
	client, random, overall float64 // percent
}

// decide makes Envoy's tracing decision for a request and marks its
// x-request-id: a reason already in the id stands; otherwise
// x-client-trace-id (client sampling), x-envoy-force-trace (kept on
// internal requests only by the connection manager), then random sampling
// keyed by the request id; overall sampling caps the result.
func (s sampler) decide(h nethttp.Header) reason {
	id := h.Get("X-Request-Id")
	r := requestIDReason(id)
	if r == reasonNone {
		switch {
		case h.Get("X-Client-Trace-Id") != "" && hit(s.client, randomValue()):
			r = reasonClient
		case h.Get("X-Envoy-Force-Trace") != "":
			r = reasonForced
		case hit(s.random, requestIDValue(id)):
			r = reasonSampled
		}
	}
	if r != reasonNone && !hit(s.overall, randomValue()) {
		r = reasonNone
	}
	if id != "" {
		h.Set("X-Request-Id", withReason(id, r))
	}
	return r
}

// hit reports whether v (uniform in [0, 10000)) falls in pct percent, in
// Envoy's 0.01% steps.
func hit(pct float64, v uint64) bool {
	return v < uint64(pct*100+0.5)
}

func randomValue() uint64 { return rand.Uint64N(10000) }

// requestIDValue is the request id's position in [0, 10000) for random
// sampling, as Envoy derives it (the first 8 hex digits of a UUID), so
// every proxy draws the same for one request; other ids draw at random.
func requestIDValue(id string) uint64 {
	if !isUUID(id) {
		return randomValue()
	}
	n, err := strconv.ParseUint(id[:8], 16, 64)
	if err != nil {
		return randomValue()
	}
	return n % 10000
}
