package translate

import (
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	corsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/cors/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
	networking "istio.io/api/networking/v1alpha3"
)

const corsFilterName = "envoy.filters.http.cors"

// translateCORS converts a route's CORS policy into the CORS filter's
// per-route config, as Istio does: origins as string matchers (the legacy
// allowOrigin as exact ones), methods and headers comma-joined, max age in
// seconds, enabled for every request; preflights from other origins go to
// the upstream unless unmatchedPreflights is IGNORE.
func translateCORS(in *networking.CorsPolicy) *corsv3.CorsPolicy {
	out := &corsv3.CorsPolicy{
		ForwardNotMatchingPreflights: wrapperspb.Bool(in.UnmatchedPreflights != networking.CorsPolicy_IGNORE),
		FilterEnabled: &corev3.RuntimeFractionalPercent{DefaultValue: &typev3.FractionalPercent{
			Numerator: 100, Denominator: typev3.FractionalPercent_HUNDRED}},
		AllowCredentials: in.AllowCredentials,
		AllowHeaders:     strings.Join(in.AllowHeaders, ","),
		AllowMethods:     strings.Join(in.AllowMethods, ","),
		ExposeHeaders:    strings.Join(in.ExposeHeaders, ","),
	}
	if in.AllowOrigins != nil {
		for _, o := range in.AllowOrigins {
			if m := stringMatcher(o); m != nil {
				out.AllowOriginStringMatch = append(out.AllowOriginStringMatch, m)
			}
		}
	} else {
		for _, o := range in.AllowOrigin {
			out.AllowOriginStringMatch = append(out.AllowOriginStringMatch,
				&matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: o}})
		}
	}
	if in.MaxAge != nil {
		out.MaxAge = strconv.FormatInt(in.MaxAge.GetSeconds(), 10)
	}
	return out
}
