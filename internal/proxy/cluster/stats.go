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

// clusterLayout names the stats every cluster has: they are one
// stats.Block per cluster (cluster.<name>.*).
var clusterLayout = stats.NewLayout([]string{
	"upstream_rq_total", "upstream_rq_1xx", "upstream_rq_2xx", "upstream_rq_3xx", "upstream_rq_4xx",
	"upstream_rq_5xx", "upstream_rq_timeout", "upstream_rq_retry", "upstream_rq_retry_overflow",
	"upstream_rq_pending_total", "upstream_rq_pending_overflow", "upstream_cx_total", "upstream_cx_connect_fail",
	"upstream_cx_connect_timeout", "upstream_cx_overflow", "upstream_cx_max_requests", "upstream_cx_idle_timeout",
	"upstream_cx_max_duration_reached", "upstream_cx_none_healthy", "ssl.handshake", "ssl.session_reused",
	"ssl.connection_error", "ssl.fail_verify_san", "outlier_detection.ejections_total",
	"outlier_detection.ejections_enforced_total", "outlier_detection.ejections_overflow",
	"outlier_detection.ejections_enforced_consecutive_5xx", "outlier_detection.ejections_detected_consecutive_5xx",
	"outlier_detection.ejections_enforced_consecutive_gateway_failure",
	"outlier_detection.ejections_detected_consecutive_gateway_failure",
	"outlier_detection.ejections_enforced_consecutive_local_origin_failure",
	"outlier_detection.ejections_detected_consecutive_local_origin_failure",
}, []string{
	"upstream_rq_pending_active", "upstream_rq_active", "upstream_cx_active", "circuit_breakers.default.cx_open",
	"circuit_breakers.default.rq_pending_open", "circuit_breakers.default.rq_open",
	"circuit_breakers.default.rq_retry_open", "circuit_breakers.default.remaining_cx",
	"circuit_breakers.default.remaining_pending", "circuit_breakers.default.remaining_rq",
	"circuit_breakers.default.remaining_retries", "outlier_detection.ejections_active",
})

func newStats(s *stats.Store, name string) *Stats {
	p := "cluster." + name + "."
	b := s.Block(p, clusterLayout)
	c, g := b.Counter, b.Gauge
	const cb, od = "circuit_breakers.default.", "outlier_detection."
	return &Stats{
		RqTotal:              c("upstream_rq_total"),
		RqCodes:              s.CodesOf(p+"upstream_rq", b),
		RqTimeout:            c("upstream_rq_timeout"),
		RqRetry:              c("upstream_rq_retry"),
		RqRetryOverflow:      c("upstream_rq_retry_overflow"),
		RqPendingTotal:       c("upstream_rq_pending_total"),
		RqPendingActive:      g("upstream_rq_pending_active"),
		RqPendingOverflow:    c("upstream_rq_pending_overflow"),
		RqActive:             g("upstream_rq_active"),
		CxTotal:              c("upstream_cx_total"),
		CxActive:             g("upstream_cx_active"),
		CxConnectFail:        c("upstream_cx_connect_fail"),
		CxConnectTimeout:     c("upstream_cx_connect_timeout"),
		CxOverflow:           c("upstream_cx_overflow"),
		CxMaxRequests:        c("upstream_cx_max_requests"),
		CxIdleTimeout:        c("upstream_cx_idle_timeout"),
		CxMaxDurationReached: c("upstream_cx_max_duration_reached"),
		NoHealthyUpstream:    c("upstream_cx_none_healthy"),
		CxOpen:               g(cb + "cx_open"),
		RqPendingOpen:        g(cb + "rq_pending_open"),
		RqOpen:               g(cb + "rq_open"),
		RqRetryOpen:          g(cb + "rq_retry_open"),
		RemainingCx:          g(cb + "remaining_cx"),
		RemainingPending:     g(cb + "remaining_pending"),
		RemainingRq:          g(cb + "remaining_rq"),
		RemainingRetries:     g(cb + "remaining_retries"),
		SSL: SSLStats{Handshake: c("ssl.handshake"), SessionReused: c("ssl.session_reused"),
			ConnectionError: c("ssl.connection_error"), FailVerifySAN: c("ssl.fail_verify_san")},
		Outlier: OutlierStats{
			EjectionsActive:        g(od + "ejections_active"),
			EjectionsTotal:         c(od + "ejections_total"),
			EjectionsEnforcedTotal: c(od + "ejections_enforced_total"),
			EjectionsOverflow:      c(od + "ejections_overflow"),
			Enforced5xx:            c(od + "ejections_enforced_consecutive_5xx"),
			Detected5xx:            c(od + "ejections_detected_consecutive_5xx"),
			EnforcedGateway:        c(od + "ejections_enforced_consecutive_gateway_failure"),
			DetectedGateway:        c(od + "ejections_detected_consecutive_gateway_failure"),
			EnforcedLocalOrigin:    c(od + "ejections_enforced_consecutive_local_origin_failure"),
			DetectedLocalOrigin:    c(od + "ejections_detected_consecutive_local_origin_failure"),
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
