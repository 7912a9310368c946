package translate

import (
	faultcommonv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/common/fault/v3"
	faultv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/fault/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	networking "istio.io/api/networking/v1alpha3"
)

const faultFilterName = "envoy.filters.http.fault"

// grpcStatusCodes are the gRPC status names an abort may use.
var grpcStatusCodes = map[string]uint32{
	"OK": 0, "CANCELLED": 1, "UNKNOWN": 2, "INVALID_ARGUMENT": 3, "DEADLINE_EXCEEDED": 4, "NOT_FOUND": 5,
	"ALREADY_EXISTS": 6, "PERMISSION_DENIED": 7, "RESOURCE_EXHAUSTED": 8, "FAILED_PRECONDITION": 9,
	"ABORTED": 10, "OUT_OF_RANGE": 11, "UNIMPLEMENTED": 12, "INTERNAL": 13, "UNAVAILABLE": 14,
	"DATA_LOSS": 15, "UNAUTHENTICATED": 16,
}

// translateFault converts a route's fault injection into the fault
// filter's per-route config, as Istio does: a fixed delay for percentage
// (or the legacy integer percent) of requests, an HTTP or gRPC abort for
// percentage of them (none when unset). Nil when it injects nothing.
func translateFault(in *networking.HTTPFaultInjection) *faultv3.HTTPFault {
	if in == nil {
		return nil
	}
	out := &faultv3.HTTPFault{}
	if d := in.Delay; d != nil && d.GetFixedDelay() != nil {
		out.Delay = &faultcommonv3.FaultDelay{
			FaultDelaySecifier: &faultcommonv3.FaultDelay_FixedDelay{FixedDelay: d.GetFixedDelay()},
			Percentage:         delayPercentage(d),
		}
	}
	if a := in.Abort; a != nil {
		out.Abort = translateAbort(a)
	}
	if out.Delay == nil && out.Abort == nil {
		return nil
	}
	return out
}

func delayPercentage(d *networking.HTTPFaultInjection_Delay) *typev3.FractionalPercent {
	if d.Percentage != nil {
		return percentToFraction(d.Percentage)
	}
	return &typev3.FractionalPercent{Numerator: uint32(d.Percent), Denominator: typev3.FractionalPercent_HUNDRED}
}

func translateAbort(a *networking.HTTPFaultInjection_Abort) *faultv3.FaultAbort {
	out := &faultv3.FaultAbort{}
	if a.Percentage != nil {
		out.Percentage = percentToFraction(a.Percentage)
	}
	switch t := a.ErrorType.(type) {
	case *networking.HTTPFaultInjection_Abort_HttpStatus:
		out.ErrorType = &faultv3.FaultAbort_HttpStatus{HttpStatus: uint32(t.HttpStatus)}
	case *networking.HTTPFaultInjection_Abort_GrpcStatus:
		out.ErrorType = &faultv3.FaultAbort_GrpcStatus{GrpcStatus: grpcStatusCodes[t.GrpcStatus]}
	default:
		return nil
	}
	return out
}

// percentToFraction is Istio's conversion of a Percent: parts per million.
func percentToFraction(p *networking.Percent) *typev3.FractionalPercent {
	return &typev3.FractionalPercent{Numerator: uint32(p.GetValue() * 10000), Denominator: typev3.FractionalPercent_MILLION}
}
