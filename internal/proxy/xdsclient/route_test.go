package xdsclient

import (
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	faultcommonv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/common/fault/v3"
	corsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/cors/v3"
	faultv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/fault/v3"
	previousprioritiesv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/retry/priority/previous_priorities/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

func mustAny(t *testing.T, m proto.Message) *anypb.Any {
	t.Helper()
	a, err := anypb.New(m)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// decodeOneRoute decodes a route configuration holding route r.
func decodeOneRoute(t *testing.T, r *routev3.Route) (*resource.Route, error) {
	t.Helper()
	rc := &routev3.RouteConfiguration{Name: "r", VirtualHosts: []*routev3.VirtualHost{{Name: "vh", Domains: []string{"*"},
		Routes: []*routev3.Route{r}}}}
	_, v, err := NewDecoders().decode(resource.RouteType, mustAny(t, rc), 0)
	if err != nil {
		return nil, err
	}
	return &v.(*resource.RouteConfig).VirtualHosts[0].Routes[0], nil
}

func action(tweak func(*routev3.RouteAction)) *routev3.Route {
	a := &routev3.RouteAction{ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: "c"}}
	tweak(a)
	return &routev3.Route{Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
		Action: &routev3.Route_Route{Route: a}}
}

func TestDecodeRouteFeatures(t *testing.T) {
	t.Run("fault and cors per route", func(t *testing.T) {
		r := action(func(*routev3.RouteAction) {})
		r.TypedPerFilterConfig = map[string]*anypb.Any{
			"envoy.filters.http.fault": mustAny(t, &faultv3.HTTPFault{
				Delay: &faultcommonv3.FaultDelay{FaultDelaySecifier: &faultcommonv3.FaultDelay_FixedDelay{FixedDelay: durationpb.New(time.Second)},
					Percentage: &typev3.FractionalPercent{Numerator: 5, Denominator: typev3.FractionalPercent_TEN_THOUSAND}},
				Abort: &faultv3.FaultAbort{ErrorType: &faultv3.FaultAbort_GrpcStatus{GrpcStatus: 14}}}),
			"envoy.filters.http.cors": mustAny(t, &corsv3.CorsPolicy{AllowMethods: "GET",
				AllowOriginStringMatch:       []*matcherv3.StringMatcher{{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: "*"}}},
				ForwardNotMatchingPreflights: wrapperspb.Bool(false)}),
		}
		got, err := decodeOneRoute(t, r)
		if err != nil {
			t.Fatal(err)
		}
		code := uint32(14)
		want := &resource.FaultConfig{Delay: &resource.FaultDelay{Fixed: time.Second, Percentage: 500},
			Abort: &resource.FaultAbort{HTTPStatus: 503, GRPCStatus: &code}}
		if d := cmp.Diff(want, got.PerFilterConfig["envoy.filters.http.fault"]); d != "" {
			t.Errorf("fault (-want +got):\n%s", d)
		}
		cors := got.PerFilterConfig["envoy.filters.http.cors"].(*resource.CorsPolicy)
		if cors.AllowMethods != "GET" || cors.ForwardNotMatchingPreflights || cors.FilterEnabled != resource.Million ||
			len(cors.AllowOrigins) != 1 {
			t.Errorf("cors %+v", cors)
		}
	})
	t.Run("mirrors, timeouts, retries", func(t *testing.T) {
		r := action(func(a *routev3.RouteAction) {
			a.RequestMirrorPolicies = []*routev3.RouteAction_RequestMirrorPolicy{
				{Cluster: "m1", TraceSampled: wrapperspb.Bool(false)},
				{Cluster: "m2", RuntimeFraction: &corev3.RuntimeFractionalPercent{DefaultValue: &typev3.FractionalPercent{Numerator: 25}},
					DisableShadowHostSuffixAppend: true}}
			a.MaxGrpcTimeout = durationpb.New(2 * time.Second)
			a.RetryPolicy = &routev3.RetryPolicy{RetryOn: "5xx,reset-before-request,internal", NumRetries: wrapperspb.UInt32(3),
				RetryBackOff: &routev3.RetryPolicy_RetryBackOff{BaseInterval: durationpb.New(100 * time.Millisecond)},
				RetryPriority: &routev3.RetryPolicy_RetryPriority{Name: "envoy.retry_priorities.previous_priorities",
					ConfigType: &routev3.RetryPolicy_RetryPriority_TypedConfig{TypedConfig: mustAny(t,
						&previousprioritiesv3.PreviousPrioritiesConfig{UpdateFrequency: 2})}}}
		})
		got, err := decodeOneRoute(t, r)
		if err != nil {
			t.Fatal(err)
		}
		a := got.Action
		wantMirrors := []resource.MirrorPolicy{{Cluster: "m1", Fraction: resource.Million}, {Cluster: "m2", Fraction: 250000, KeepHost: true}}
		if d := cmp.Diff(wantMirrors, a.Mirrors); d != "" {
			t.Errorf("mirrors (-want +got):\n%s", d)
		}
		if a.MaxGRPCTimeout == nil || *a.MaxGRPCTimeout != 2*time.Second {
			t.Errorf("max_grpc_timeout %v", a.MaxGRPCTimeout)
		}
		rp := a.RetryPolicy
		if rp.BackOffBase != 100*time.Millisecond || rp.BackOffMax != time.Second || rp.PreviousPriorities != 2 || len(rp.RetryOn) != 3 {
			t.Errorf("retry policy %+v", rp)
		}
	})
}

func TestDecodeRouteNACKs(t *testing.T) {
	header := func(key string) []*corev3.HeaderValueOption {
		return []*corev3.HeaderValueOption{{Header: &corev3.HeaderValue{Key: key, Value: "v"}}}
	}
	tests := []struct {
		name  string
		route *routev3.Route
		want  string
	}{
		{"header delay", func() *routev3.Route {
			r := action(func(*routev3.RouteAction) {})
			r.TypedPerFilterConfig = map[string]*anypb.Any{"f": mustAny(t, &faultv3.HTTPFault{Delay: &faultcommonv3.FaultDelay{
				FaultDelaySecifier: &faultcommonv3.FaultDelay_HeaderDelay_{HeaderDelay: &faultcommonv3.FaultDelay_HeaderDelay{}}}})}
			return r
		}(), "delay.header_delay: field not supported"},
		{"fault max_active_faults", func() *routev3.Route {
			r := action(func(*routev3.RouteAction) {})
			r.TypedPerFilterConfig = map[string]*anypb.Any{"f": mustAny(t, &faultv3.HTTPFault{MaxActiveFaults: wrapperspb.UInt32(1)})}
			return r
		}(), "max_active_faults: field not supported"},
		{"runtime key", action(func(a *routev3.RouteAction) {
			a.RequestMirrorPolicies = []*routev3.RouteAction_RequestMirrorPolicy{{Cluster: "m",
				RuntimeFraction: &corev3.RuntimeFractionalPercent{RuntimeKey: "k"}}}
		}), "runtime_fraction.runtime_key: field not supported"},
		{"unknown retry priority", action(func(a *routev3.RouteAction) {
			a.RetryPolicy = &routev3.RetryPolicy{RetryPriority: &routev3.RetryPolicy_RetryPriority{Name: "x",
				ConfigType: &routev3.RetryPolicy_RetryPriority_TypedConfig{TypedConfig: mustAny(t, &faultv3.HTTPFault{})}}}
		}), "only envoy.retry_priorities.previous_priorities"},
		{"back-off max below base", action(func(a *routev3.RouteAction) {
			a.RetryPolicy = &routev3.RetryPolicy{RetryBackOff: &routev3.RetryPolicy_RetryBackOff{
				BaseInterval: durationpb.New(time.Second), MaxInterval: durationpb.New(time.Millisecond)}}
		}), "retry_back_off.max_interval: must be at least base_interval"},
		{"host header op", func() *routev3.Route {
			r := action(func(*routev3.RouteAction) {})
			r.RequestHeadersToAdd = header("Host")
			return r
		}(), "pseudo-headers and host may not be modified"},
		{"pseudo header removal", func() *routev3.Route {
			r := action(func(*routev3.RouteAction) {})
			r.ResponseHeadersToRemove = []string{":status"}
			return r
		}(), "pseudo-headers and host may not be removed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeOneRoute(t, tt.route)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
