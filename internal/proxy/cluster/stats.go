package cluster

import "github.com/lateenmesh/lateen/internal/proxy/stats"

// Stats are a cluster's Envoy-style stats (cluster.<name>.*).
type Stats struct {
	RqTotal              *stats.Counter
	RqCodes              *stats.Codes
	RqTimeout            *stats.Counter
	RqRetry              *stats.Counter
	RqRetryOverflow      *stats.Counter
	RqPendingTotal       *stats.Counter
	RqPendingActive      *stats.Gauge
	RqPendingOverflow    *stats.Counter
	RqActive             *stats.Gauge
	CxTotal              *stats.Counter
	CxActive             *stats.Gauge
	CxConnectFail        *stats.Counter
	CxConnectTimeout     *stats.Counter
	CxOverflow           *stats.Counter
	CxMaxRequests        *stats.Counter
	CxIdleTimeout        *stats.Counter
	CxMaxDurationReached *stats.Counter
	NoHealthyUpstream    *stats.Counter

	// circuit_breakers.default.*
	CxOpen, RqPendingOpen, RqOpen, RqRetryOpen                   *stats.Gauge
	RemainingCx, RemainingPending, RemainingRq, RemainingRetries *stats.Gauge

	Outlier OutlierStats
	SSL     SSLStats
}

// SSLStats are cluster.<name>.ssl.* (upstream TLS handshakes).
type SSLStats struct {
	Handshake, SessionReused, ConnectionError, FailVerifySAN *stats.Counter
}

// OutlierStats are cluster.<name>.outlier_detection.*.
type OutlierStats struct {
	EjectionsActive          *stats.Gauge
	EjectionsTotal           *stats.Counter
	EjectionsEnforcedTotal   *stats.Counter
	EjectionsOverflow        *stats.Counter
	Enforced5xx, Detected5xx *stats.Counter
	EnforcedGateway          *stats.Counter
	DetectedGateway          *stats.Counter
	EnforcedLocalOrigin      *stats.Counter
	DetectedLocalOrigin      *stats.Counter
}

func newStats(s *stats.Store, name string) *Stats {
	p := "cluster." + name + "."
	cb := p + "circuit_breakers.default."
	od := p + "outlier_detection."
	return &Stats{
		RqTotal:              s.Counter(p + "upstream_rq_total"),
		RqCodes:              s.Codes(p + "upstream_rq"),
		RqTimeout:            s.Counter(p + "upstream_rq_timeout"),
		RqRetry:              s.Counter(p + "upstream_rq_retry"),
		RqRetryOverflow:      s.Counter(p + "upstream_rq_retry_overflow"),
		RqPendingTotal:       s.Counter(p + "upstream_rq_pending_total"),
		RqPendingActive:      s.Gauge(p + "upstream_rq_pending_active"),
		RqPendingOverflow:    s.Counter(p + "upstream_rq_pending_overflow"),
		RqActive:             s.Gauge(p + "upstream_rq_active"),
		CxTotal:              s.Counter(p + "upstream_cx_total"),
		CxActive:             s.Gauge(p + "upstream_cx_active"),
		CxConnectFail:        s.Counter(p + "upstream_cx_connect_fail"),
		CxConnectTimeout:     s.Counter(p + "upstream_cx_connect_timeout"),
		CxOverflow:           s.Counter(p + "upstream_cx_overflow"),
		CxMaxRequests:        s.Counter(p + "upstream_cx_max_requests"),
		CxIdleTimeout:        s.Counter(p + "upstream_cx_idle_timeout"),
		CxMaxDurationReached: s.Counter(p + "upstream_cx_max_duration_reached"),
		NoHealthyUpstream:    s.Counter(p + "upstream_cx_none_healthy"),
		CxOpen:               s.Gauge(cb + "cx_open"),
		RqPendingOpen:        s.Gauge(cb + "rq_pending_open"),
		RqOpen:               s.Gauge(cb + "rq_open"),
		RqRetryOpen:          s.Gauge(cb + "rq_retry_open"),
		RemainingCx:          s.Gauge(cb + "remaining_cx"),
		RemainingPending:     s.Gauge(cb + "remaining_pending"),
		RemainingRq:          s.Gauge(cb + "remaining_rq"),
		RemainingRetries:     s.Gauge(cb + "remaining_retries"),
		SSL: SSLStats{Handshake: s.Counter(p + "ssl.handshake"), SessionReused: s.Counter(p + "ssl.session_reused"),
			ConnectionError: s.Counter(p + "ssl.connection_error"), FailVerifySAN: s.Counter(p + "ssl.fail_verify_san")},
		Outlier: OutlierStats{
			EjectionsActive:        s.Gauge(od + "ejections_active"),
			EjectionsTotal:         s.Counter(od + "ejections_total"),
			EjectionsEnforcedTotal: s.Counter(od + "ejections_enforced_total"),
			EjectionsOverflow:      s.Counter(od + "ejections_overflow"),
			Enforced5xx:            s.Counter(od + "ejections_enforced_consecutive_5xx"),
			Detected5xx:            s.Counter(od + "ejections_detected_consecutive_5xx"),
			EnforcedGateway:        s.Counter(od + "ejections_enforced_consecutive_gateway_failure"),
			DetectedGateway:        s.Counter(od + "ejections_detected_consecutive_gateway_failure"),
			EnforcedLocalOrigin:    s.Counter(od + "ejections_enforced_consecutive_local_origin_failure"),
			DetectedLocalOrigin:    s.Counter(od + "ejections_detected_consecutive_local_origin_failure"),
		},
	}
}

// breaker publishes one circuit breaker's gauges: open (1 when the count
// reached the limit) and, with track_remaining, what is left.
func (s *Stats) breaker(open, remaining *stats.Gauge, n int, limit uint32, track bool) {
	if int64(n) >= int64(limit) {
		open.Set(1)
	} else {
		open.Set(0)
	}
	if track {
		remaining.Set(max(0, int64(limit)-int64(n)))
	}
}
