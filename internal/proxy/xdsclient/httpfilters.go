package xdsclient

import (
	"fmt"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	corsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/cors/v3"
	faultv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/fault/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// HTTP filter type URLs. The fault filter's per-route config has the
// filter's own type; the CORS filter's is CorsPolicy.
const (
	faultTypeURL      = "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault"
	corsTypeURL       = "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors"
	corsPolicyTypeURL = "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy"
)

// registerHTTPFilters registers the HTTP filter decoders (typed_config and
// typed_per_filter_config) by type URL.
func registerHTTPFilters(d *Decoders) {
	d.RegisterHTTPFilter(routerTypeURL, decodeRouter)
	d.RegisterHTTPFilter(faultTypeURL, decodeFault)
	d.RegisterPerRoute(faultTypeURL, decodeFault)
	d.RegisterHTTPFilter(corsTypeURL, decodeCors)
	d.RegisterPerRoute(corsPolicyTypeURL, decodeCorsPolicy)
}

func decodeRouter(a *anypb.Any) (any, error) {
	var pb routerv3.Router
	if err := unpack(a, &pb); err != nil {
		return nil, err
	}
	return &resource.RouterConfig{}, nil
}

// decodeFault decodes HTTPFault: a fixed delay and an HTTP or gRPC abort,
// each with its percentage.
func decodeFault(a *anypb.Any) (any, error) {
	var pb faultv3.HTTPFault
	if err := unpack(a, &pb); err != nil {
		return nil, err
	}
	cfg := &resource.FaultConfig{}
	if d := pb.GetDelay(); d != nil {
		if d.GetFixedDelay() == nil {
			return nil, fieldErr("delay.fixed_delay", "required (header_delay is not supported by lateen-proxy)")
		}
		fixed, err := duration(d.GetFixedDelay(), "delay.fixed_delay")
		if err != nil {
			return nil, err
		}
		pct, err := fraction(d.GetPercentage(), "delay.percentage")
		if err != nil {
			return nil, err
		}
		cfg.Delay = &resource.FaultDelay{Fixed: fixed, Percentage: pct}
	}
	if ab := pb.GetAbort(); ab != nil {
		abort, err := decodeFaultAbort(ab)
		if err != nil {
			return nil, under("abort", err)
		}
		cfg.Abort = abort
	}
	return cfg, nil
}

func decodeFaultAbort(pb *faultv3.FaultAbort) (*resource.FaultAbort, error) {
	pct, err := fraction(pb.GetPercentage(), "percentage")
	if err != nil {
		return nil, err
	}
	abort := &resource.FaultAbort{Percentage: pct}
	switch t := pb.GetErrorType().(type) {
	case *faultv3.FaultAbort_HttpStatus:
		if t.HttpStatus < 200 || t.HttpStatus >= 600 {
			return nil, fieldErr("http_status", "must be in [200, 600), got %d", t.HttpStatus)
		}
		abort.HTTPStatus = int(t.HttpStatus)
	case *faultv3.FaultAbort_GrpcStatus:
		code := t.GrpcStatus
		abort.HTTPStatus, abort.GRPCStatus = 503, &code
	default:
		return nil, fieldErr("error_type", "http_status or grpc_status is required")
	}
	return abort, nil
}

func decodeCors(a *anypb.Any) (any, error) {
	var pb corsv3.Cors
	if err := unpack(a, &pb); err != nil {
		return nil, err
	}
	return &resource.CorsConfig{}, nil
}

// decodeCorsPolicy decodes a route's CorsPolicy.
func decodeCorsPolicy(a *anypb.Any) (any, error) {
	var pb corsv3.CorsPolicy
	if err := unpack(a, &pb); err != nil {
		return nil, err
	}
	p := &resource.CorsPolicy{
		AllowMethods:                 pb.GetAllowMethods(),
		AllowHeaders:                 pb.GetAllowHeaders(),
		ExposeHeaders:                pb.GetExposeHeaders(),
		MaxAge:                       pb.GetMaxAge(),
		AllowCredentials:             pb.GetAllowCredentials().GetValue(),
		AllowPrivateNetworkAccess:    pb.GetAllowPrivateNetworkAccess().GetValue(),
		FilterEnabled:                resource.Million,
		ForwardNotMatchingPreflights: pb.GetForwardNotMatchingPreflights() == nil || pb.GetForwardNotMatchingPreflights().GetValue(),
	}
	for i, sm := range pb.GetAllowOriginStringMatch() {
		m, err := decodeStringMatcher(sm)
		if err != nil {
			return nil, under(fmt.Sprintf("allow_origin_string_match[%d]", i), err)
		}
		p.AllowOrigins = append(p.AllowOrigins, m)
	}
	var err error
	if p.FilterEnabled, err = runtimeFraction(pb.GetFilterEnabled(), resource.Million, "filter_enabled"); err != nil {
		return nil, err
	}
	if p.ShadowEnabled, err = runtimeFraction(pb.GetShadowEnabled(), 0, "shadow_enabled"); err != nil {
		return nil, err
	}
	return p, nil
}

// runtimeFraction decodes a RuntimeFractionalPercent's default value (the
// allowlist rejects runtime keys); def when unset.
func runtimeFraction(pb *corev3.RuntimeFractionalPercent, def resource.Fraction, path string) (resource.Fraction, error) {
	if pb == nil {
		return def, nil
	}
	return fraction(pb.GetDefaultValue(), path+".default_value")
}
