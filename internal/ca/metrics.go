package ca

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the CA's Prometheus metrics, named as istiod's citadel ones.
type Metrics struct {
	csr            prometheus.Counter
	issued         prometheus.Counter
	authnFailure   prometheus.Counter
	authzFailure   prometheus.Counter
	csrParseErr    prometheus.Counter
	signErr        prometheus.Counter
	rootExpiry     prometheus.Gauge
	chainExpiry    prometheus.Gauge
	servingRenewal prometheus.Counter
}

// NewMetrics creates the metrics and registers them with reg (nil: not
// registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	}
	m := &Metrics{
		csr:          counter("citadel_server_csr_count", "Certificate signing requests received."),
		issued:       counter("citadel_server_success_cert_issuance_count", "Certificates issued."),
		authnFailure: counter("citadel_server_authentication_failure_count", "Requests whose caller could not be authenticated."),
		authzFailure: counter("citadel_server_authorization_failure_count",
			"Requests for an identity the authenticated caller does not hold."),
		csrParseErr: counter("citadel_server_csr_parsing_err_count", "CSRs that could not be parsed or verified."),
		signErr:     counter("citadel_server_csr_sign_err_count", "CSRs that could not be signed."),
		rootExpiry: gauge("citadel_server_root_cert_expiry_timestamp",
			"Unix time at which the current root certificate expires."),
		chainExpiry: gauge("citadel_server_cert_chain_expiry_timestamp",
			"Unix time at which the CA's signing certificate expires."),
		servingRenewal: counter("citadel_server_serving_cert_issuance_count",
			"Certificates issued for the control plane's own TLS endpoints."),
	}
	if reg != nil {
		reg.MustRegister(m.csr, m.issued, m.authnFailure, m.authzFailure, m.csrParseErr, m.signErr,
			m.rootExpiry, m.chainExpiry, m.servingRenewal)
	}
	return m
}
