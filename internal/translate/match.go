package translate

import (
	"cmp"
	"slices"
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/lateenmesh/lateen/internal/sortedmap"
)

// translateMatch turns an Istio match into an Envoy route match as Istio
// does: the URI into the path specifier (ignoreUriCase applies to exact and
// prefix only: Envoy's case_sensitive does not cover regexes), headers and
// withoutHeaders (inverted, a missing header counting as empty) sorted by
// name, then method, authority and scheme as pseudo-header matchers, and
// query parameters.
func translateMatch(m *networking.HTTPMatchRequest) *routev3.RouteMatch {
	rm := &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}}
	if m == nil {
		return rm
	}
	for _, name := range sortedmap.Keys(m.Headers) {
		rm.Headers = append(rm.Headers, headerMatcher(strings.ToLower(name), m.Headers[name]))
	}
	for _, name := range sortedmap.Keys(m.WithoutHeaders) {
		hm := headerMatcher(strings.ToLower(name), m.WithoutHeaders[name])
		hm.InvertMatch = true
		hm.TreatMissingHeaderAsEmpty = !isPresentMatch(m.WithoutHeaders[name])
		rm.Headers = append(rm.Headers, hm)
	}
	slices.SortStableFunc(rm.Headers, func(a, b *routev3.HeaderMatcher) int { return cmp.Compare(a.Name, b.Name) })
	switch u := m.GetUri().GetMatchType().(type) {
	case *networking.StringMatch_Exact:
		rm.PathSpecifier = &routev3.RouteMatch_Path{Path: u.Exact}
	case *networking.StringMatch_Prefix:
		rm.PathSpecifier = &routev3.RouteMatch_Prefix{Prefix: u.Prefix}
	case *networking.StringMatch_Regex:
		rm.PathSpecifier = &routev3.RouteMatch_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{Regex: u.Regex}}
	}
	rm.CaseSensitive = wrapperspb.Bool(!m.IgnoreUriCase)
	for _, pseudo := range []struct {
		name string
		sm   *networking.StringMatch
	}{{":method", m.Method}, {":authority", m.Authority}, {":scheme", m.Scheme}} {
		if pseudo.sm != nil {
			rm.Headers = append(rm.Headers, headerMatcher(pseudo.name, pseudo.sm))
		}
	}
	for _, name := range sortedmap.Keys(m.QueryParams) {
		rm.QueryParameters = append(rm.QueryParameters, queryMatcher(name, m.QueryParams[name]))
	}
	return rm
}

// isPresentMatch: an empty match, or the regex "*" (not RE2: Istio reads
// it as "any value"), only asks for the header to be present.
func isPresentMatch(sm *networking.StringMatch) bool {
	if sm.GetMatchType() == nil {
		return true
	}
	re, ok := sm.GetMatchType().(*networking.StringMatch_Regex)
	return ok && re.Regex == "*"
}

// headerMatcher matches a header by an Istio StringMatch.
func headerMatcher(name string, sm *networking.StringMatch) *routev3.HeaderMatcher {
	hm := &routev3.HeaderMatcher{Name: name}
	if isPresentMatch(sm) {
		hm.HeaderMatchSpecifier = &routev3.HeaderMatcher_PresentMatch{PresentMatch: true}
	} else if s := stringMatcher(sm); s != nil {
		hm.HeaderMatchSpecifier = &routev3.HeaderMatcher_StringMatch{StringMatch: s}
	}
	return hm
}

func queryMatcher(name string, sm *networking.StringMatch) *routev3.QueryParameterMatcher {
	qm := &routev3.QueryParameterMatcher{Name: name}
	if isPresentMatch(sm) {
		qm.QueryParameterMatchSpecifier = &routev3.QueryParameterMatcher_PresentMatch{PresentMatch: true}
	} else if s := stringMatcher(sm); s != nil {
		qm.QueryParameterMatchSpecifier = &routev3.QueryParameterMatcher_StringMatch{StringMatch: s}
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
