package resource

import "time"

// FaultConfig is a decoded envoy.extensions.filters.http.fault.v3.HTTPFault,
// as the filter's config or as a route's typed_per_filter_config (which
// replaces the filter's). Delay and abort are independent.
type FaultConfig struct {
	Delay *FaultDelay
	Abort *FaultAbort
}

// FaultDelay holds requests for a fixed time before they go on.
type FaultDelay struct {
	Fixed      time.Duration
	Percentage Fraction
}

// FaultAbort answers requests locally with an error.
type FaultAbort struct {
	// HTTPStatus is the status of the local reply; with GRPCStatus set
	// instead it is 503, and gRPC requests get that gRPC status.
	HTTPStatus int
	GRPCStatus *uint32
	Percentage Fraction
}

// CorsConfig is the (empty) filter config of envoy.filters.http.cors.
type CorsConfig struct{}

// CorsPolicy is a decoded envoy.extensions.filters.http.cors.v3.CorsPolicy
// (a route's typed_per_filter_config for the CORS filter).
type CorsPolicy struct {
	AllowOrigins              []*StringMatcher
	AllowMethods              string
	AllowHeaders              string
	ExposeHeaders             string
	MaxAge                    string
	AllowCredentials          bool
	AllowPrivateNetworkAccess bool
	// FilterEnabled is the share of requests the policy is enforced on
	// (Million when unset); ShadowEnabled the share it is only evaluated
	// on (stats only; 0 when unset).
	FilterEnabled Fraction
	ShadowEnabled Fraction
	// ForwardNotMatchingPreflights passes preflights from origins that are
	// not allowed to the upstream (default true).
	ForwardNotMatchingPreflights bool
}
