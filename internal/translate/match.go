package translate

import (
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/lateenmesh/lateen/internal/sortedmap"
)

// translateMatch turns an Istio match into an Envoy route match: the URI
// into the path specifier, scheme/method/authority into pseudo-header
// matchers, headers (inverted for withoutHeaders) and query parameters.
func translateMatch(m *networking.HTTPMatchRequest) *routev3.RouteMatch {
	rm := &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}}
	if m == nil {
		return rm
	}
	if m.IgnoreUriCase {
		rm.CaseSensitive = wrapperspb.Bool(false)
	}
	switch u := m.GetUri().GetMatchType().(type) {
	case *networking.StringMatch_Exact:
		rm.PathSpecifier = &routev3.RouteMatch_Path{Path: u.Exact}
	case *networking.StringMatch_Prefix:
		rm.PathSpecifier = &routev3.RouteMatch_Prefix{Prefix: u.Prefix}
	case *networking.StringMatch_Regex:
		re := u.Regex
		if m.IgnoreUriCase {
			re = "(?i)" + re
		}
		rm.PathSpecifier = &routev3.RouteMatch_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{Regex: re}}
	}
	for _, pseudo := range []struct {
		name string
		sm   *networking.StringMatch
	}{{":scheme", m.Scheme}, {":method", m.Method}, {":authority", m.Authority}} {
		if pseudo.sm != nil {
			rm.Headers = append(rm.Headers, headerMatcher(pseudo.name, pseudo.sm, false))
		}
	}
	for _, name := range sortedmap.Keys(m.Headers) {
		rm.Headers = append(rm.Headers, headerMatcher(strings.ToLower(name), m.Headers[name], false))
	}
	for _, name := range sortedmap.Keys(m.WithoutHeaders) {
		rm.Headers = append(rm.Headers, headerMatcher(strings.ToLower(name), m.WithoutHeaders[name], true))
	}
	for _, name := range sortedmap.Keys(m.QueryParams) {
		rm.QueryParameters = append(rm.QueryParameters, queryMatcher(name, m.QueryParams[name]))
	}
	return rm
}

// headerMatcher matches a header by an Istio StringMatch; an empty match
// means "present".
func headerMatcher(name string, sm *networking.StringMatch, invert bool) *routev3.HeaderMatcher {
	hm := &routev3.HeaderMatcher{Name: name, InvertMatch: invert}
	if s := stringMatcher(sm); s != nil {
		hm.HeaderMatchSpecifier = &routev3.HeaderMatcher_StringMatch{StringMatch: s}
	} else {
		hm.HeaderMatchSpecifier = &routev3.HeaderMatcher_PresentMatch{PresentMatch: true}
	}
	return hm
}

func queryMatcher(name string, sm *networking.StringMatch) *routev3.QueryParameterMatcher {
	qm := &routev3.QueryParameterMatcher{Name: name}
	if s := stringMatcher(sm); s != nil {
		qm.QueryParameterMatchSpecifier = &routev3.QueryParameterMatcher_StringMatch{StringMatch: s}
	} else {
		qm.QueryParameterMatchSpecifier = &routev3.QueryParameterMatcher_PresentMatch{PresentMatch: true}
	}
	return qm
}

// stringMatcher converts an Istio StringMatch; nil when it sets nothing.
func stringMatcher(sm *networking.StringMatch) *matcherv3.StringMatcher {
	switch v := sm.GetMatchType().(type) {
	case *networking.StringMatch_Exact:
		return &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: v.Exact}}
	case *networking.StringMatch_Prefix:
		return &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Prefix{Prefix: v.Prefix}}
	case *networking.StringMatch_Regex:
		return &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{Regex: v.Regex}}}
	}
	return nil
}
