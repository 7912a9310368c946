package xdsclient

import (
	"fmt"
	nethttp "net/http"
	"regexp"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

func decodeRouteConfigAny(d *Decoders, a *anypb.Any) (string, any, error) {
	var pb routev3.RouteConfiguration
	if err := unpack(a, &pb); err != nil {
		return pb.GetName(), nil, err
	}
	rc, err := decodeRouteConfig(d, &pb)
	if err != nil {
		return pb.GetName(), nil, err
	}
	return rc.Name, rc, nil
}

// decodeRouteConfig decodes an (already field-checked) RouteConfiguration;
// it is also used for HCM's inline route_config.
func decodeRouteConfig(d *Decoders, pb *routev3.RouteConfiguration) (*resource.RouteConfig, error) {
	rc := &resource.RouteConfig{Name: pb.GetName()}
	if pb.GetValidateClusters().GetValue() {
		return nil, fieldErr("validate_clusters", "only false is supported")
	}
	for i, vh := range pb.GetVirtualHosts() {
		v, err := decodeVirtualHost(d, vh)
		if err != nil {
			return nil, under(fmt.Sprintf("virtual_hosts[%d]", i), err)
		}
		rc.VirtualHosts = append(rc.VirtualHosts, *v)
	}
	return rc, nil
}

func decodeVirtualHost(d *Decoders, pb *routev3.VirtualHost) (*resource.VirtualHost, error) {
	vh := &resource.VirtualHost{Name: pb.GetName(), IncludeRequestAttemptCount: pb.GetIncludeRequestAttemptCount()}
	if len(pb.GetDomains()) == 0 {
		return nil, fieldErr("domains", "empty")
	}
	for i, dom := range pb.GetDomains() {
		if dom == "" || (strings.Count(dom, "*") > 0 && dom != "*" && !strings.HasPrefix(dom, "*") && !strings.HasSuffix(dom, "*")) {
			return nil, fieldErr(fmt.Sprintf("domains[%d]", i), "invalid domain %q", dom)
		}
		vh.Domains = append(vh.Domains, strings.ToLower(dom))
	}
	var err error
	if vh.Headers, err = decodeHeaderOps(pb.GetRequestHeadersToAdd(), pb.GetRequestHeadersToRemove(),
		pb.GetResponseHeadersToAdd(), pb.GetResponseHeadersToRemove()); err != nil {
		return nil, err
	}
	if pb.GetRetryPolicy() != nil {
		if vh.RetryPolicy, err = decodeRetryPolicy(pb.GetRetryPolicy()); err != nil {
			return nil, under("retry_policy", err)
		}
	}
	for i, r := range pb.GetRoutes() {
		route, err := decodeRoute(d, r)
		if err != nil {
			return nil, under(fmt.Sprintf("routes[%d]", i), err)
		}
		vh.Routes = append(vh.Routes, *route)
	}
	return vh, nil
}

func decodeRoute(d *Decoders, pb *routev3.Route) (*resource.Route, error) {
	r := &resource.Route{Name: pb.GetName(), Decorator: pb.GetDecorator().GetOperation()}
	var err error
	if r.Match, err = decodeRouteMatch(pb.GetMatch()); err != nil {
		return nil, under("match", err)
	}
	if r.Headers, err = decodeHeaderOps(pb.GetRequestHeadersToAdd(), pb.GetRequestHeadersToRemove(),
		pb.GetResponseHeadersToAdd(), pb.GetResponseHeadersToRemove()); err != nil {
		return nil, err
	}
	switch {
	case pb.GetRoute() != nil:
		if r.Action, err = decodeRouteAction(pb.GetRoute()); err != nil {
			return nil, under("route", err)
		}
	case pb.GetRedirect() != nil:
		if r.Redirect, err = decodeRedirect(pb.GetRedirect()); err != nil {
			return nil, under("redirect", err)
		}
	case pb.GetDirectResponse() != nil:
		dr := pb.GetDirectResponse()
		if dr.GetStatus() < 100 || dr.GetStatus() > 599 {
			return nil, fieldErr("direct_response.status", "invalid status %d", dr.GetStatus())
		}
		body := dr.GetBody().GetInlineString()
		if b := dr.GetBody().GetInlineBytes(); b != nil {
			body = string(b)
		}
		r.DirectResponse = &resource.DirectResponse{Status: int(dr.GetStatus()), Body: body}
	default:
		return nil, fieldErr("action", "one of route, redirect, direct_response is required")
	}
	if err := decodePerFilter(d, pb.GetTypedPerFilterConfig(), r); err != nil {
		return nil, err
	}
	return r, nil
}

func decodePerFilter(d *Decoders, cfgs map[string]*anypb.Any, r *resource.Route) error {
	for name, a := range cfgs {
		dec := d.perRoute[a.GetTypeUrl()]
		path := fmt.Sprintf("typed_per_filter_config[%s]", name)
		if dec == nil {
			return fieldErr(path, "per-route config type %q not supported by lateen-proxy", a.GetTypeUrl())
		}
		v, err := dec(a)
		if err != nil {
			return under(path, err)
		}
		if r.PerFilterConfig == nil {
			r.PerFilterConfig = map[string]any{}
		}
		r.PerFilterConfig[name] = v
	}
	return nil
}

func decodeRouteMatch(pb *routev3.RouteMatch) (resource.RouteMatch, error) {
	m := resource.RouteMatch{CaseSensitive: pb.GetCaseSensitive() == nil || pb.GetCaseSensitive().GetValue()}
	switch ps := pb.GetPathSpecifier().(type) {
	case *routev3.RouteMatch_Prefix:
		m.Kind, m.Path = resource.PathPrefix, ps.Prefix
	case *routev3.RouteMatch_Path:
		m.Kind, m.Path = resource.PathExact, ps.Path
	case *routev3.RouteMatch_PathSeparatedPrefix:
		m.Kind, m.Path = resource.PathSeparatedPrefix, ps.PathSeparatedPrefix
	case *routev3.RouteMatch_SafeRegex:
		// case_sensitive does not apply to safe_regex (as in Envoy).
		re, err := compileRegex(ps.SafeRegex, "safe_regex")
		if err != nil {
			return m, err
		}
		m.Kind, m.Regex = resource.PathRegex, re
	default:
		return m, fieldErr("path_specifier", "one of prefix, path, safe_regex, path_separated_prefix is required")
	}
	if !m.CaseSensitive && m.Kind != resource.PathRegex {
		m.Path = strings.ToLower(m.Path)
	}
	for i, h := range pb.GetHeaders() {
		hm, err := decodeHeaderMatcher(h)
		if err != nil {
			return m, under(fmt.Sprintf("headers[%d]", i), err)
		}
		m.Headers = append(m.Headers, hm)
	}
	for i, q := range pb.GetQueryParameters() {
		qm := resource.QueryMatcher{Name: q.GetName(), Present: q.GetPresentMatch()}
		if q.GetStringMatch() != nil {
			sm, err := decodeStringMatcher(q.GetStringMatch())
			if err != nil {
				return m, under(fmt.Sprintf("query_parameters[%d].string_match", i), err)
			}
			qm.String = sm
		} else if !qm.Present {
			return m, fieldErr(fmt.Sprintf("query_parameters[%d]", i), "string_match or present_match is required")
		}
		m.Query = append(m.Query, qm)
	}
	return m, nil
}

func decodeHeaderMatcher(pb *routev3.HeaderMatcher) (resource.HeaderMatcher, error) {
	hm := resource.HeaderMatcher{Name: strings.ToLower(pb.GetName()), Invert: pb.GetInvertMatch(),
		TreatMissingAsEmpty: pb.GetTreatMissingHeaderAsEmpty()}
	if hm.Name == "" {
		return hm, fieldErr("name", "empty")
	}
	switch spec := pb.GetHeaderMatchSpecifier().(type) {
	case *routev3.HeaderMatcher_StringMatch:
		sm, err := decodeStringMatcher(spec.StringMatch)
		if err != nil {
			return hm, under("string_match", err)
		}
		hm.String = sm
	case *routev3.HeaderMatcher_PresentMatch:
		hm.Present = spec.PresentMatch
	default:
		return hm, fieldErr("header_match_specifier", "string_match or present_match is required")
	}
	return hm, nil
}

func decodeStringMatcher(pb *matcherv3.StringMatcher) (*resource.StringMatcher, error) {
	sm := &resource.StringMatcher{IgnoreCase: pb.GetIgnoreCase()}
	switch p := pb.GetMatchPattern().(type) {
	case *matcherv3.StringMatcher_Exact:
		sm.Kind, sm.Value = resource.StringExact, p.Exact
	case *matcherv3.StringMatcher_Prefix:
		sm.Kind, sm.Value = resource.StringPrefix, p.Prefix
	case *matcherv3.StringMatcher_Suffix:
		sm.Kind, sm.Value = resource.StringSuffix, p.Suffix
	case *matcherv3.StringMatcher_Contains:
		sm.Kind, sm.Value = resource.StringContains, p.Contains
	case *matcherv3.StringMatcher_SafeRegex:
		if sm.IgnoreCase {
			return nil, fieldErr("ignore_case", "not allowed with safe_regex")
		}
		re, err := compileRegex(p.SafeRegex, "safe_regex")
		if err != nil {
			return nil, err
		}
		sm.Kind, sm.Regex = resource.StringRegex, re
	default:
		return nil, fieldErr("match_pattern", "required")
	}
	if sm.IgnoreCase {
		sm.Value = strings.ToLower(sm.Value)
	}
	return sm, nil
}

// compileRegex compiles an RE2 regex for a full match.
func compileRegex(pb *matcherv3.RegexMatcher, path string) (*regexp.Regexp, error) {
	re, err := regexp.Compile("^(?:" + pb.GetRegex() + ")$")
	if err != nil {
		return nil, fieldErr(path+".regex", "invalid RE2 regex: %v", err)
	}
	return re, nil
}

func decodeHeaderOps(reqAdd []*corev3.HeaderValueOption, reqRemove []string,
	respAdd []*corev3.HeaderValueOption, respRemove []string) (resource.HeaderOps, error) {
	var ops resource.HeaderOps
	var err error
	if ops.RequestAdd, err = decodeHeaderValues(reqAdd, "request_headers_to_add"); err != nil {
		return ops, err
	}
	if ops.ResponseAdd, err = decodeHeaderValues(respAdd, "response_headers_to_add"); err != nil {
		return ops, err
	}
	ops.RequestRemove, ops.ResponseRemove = lowerAll(reqRemove), lowerAll(respRemove)
	for field, names := range map[string][]string{"request_headers_to_remove": ops.RequestRemove,
		"response_headers_to_remove": ops.ResponseRemove} {
		for i, n := range names {
			if isPseudoOrHost(n) {
				return ops, fieldErr(fmt.Sprintf("%s[%d]", field, i), "%q: pseudo-headers and host may not be removed", n)
			}
			names[i] = nethttp.CanonicalHeaderKey(n)
		}
	}
	return ops, nil
}

// isPseudoOrHost: Envoy's header operations may not touch pseudo-headers or
// host (a host rewrite does that).
func isPseudoOrHost(name string) bool { return strings.HasPrefix(name, ":") || name == "host" }

func decodeHeaderValues(pbs []*corev3.HeaderValueOption, field string) ([]resource.HeaderValue, error) {
	var out []resource.HeaderValue
	for i, o := range pbs {
		path := fmt.Sprintf("%s[%d]", field, i)
		hv := resource.HeaderValue{Name: strings.ToLower(o.GetHeader().GetKey()), Value: o.GetHeader().GetValue()}
		if hv.Name == "" {
			return nil, fieldErr(path+".header.key", "empty")
		}
		if isPseudoOrHost(hv.Name) {
			return nil, fieldErr(path+".header.key", "%q: pseudo-headers and host may not be modified", hv.Name)
		}
		hv.Name = nethttp.CanonicalHeaderKey(hv.Name)
		if strings.Contains(hv.Value, "%") {
			return nil, fieldErr(path+".header.value", "%%-formatting (command operators) not supported by lateen-proxy")
		}
		if o.GetKeepEmptyValue() {
			return nil, fieldErr(path+".keep_empty_value", "not supported yet by lateen-proxy")
		}
		switch {
		case o.GetAppend() != nil:
			hv.Append = o.GetAppend().GetValue()
		case o.GetAppendAction() == corev3.HeaderValueOption_APPEND_IF_EXISTS_OR_ADD:
			hv.Append = true
		case o.GetAppendAction() == corev3.HeaderValueOption_ADD_IF_ABSENT:
			hv.AddIfAbsent = true
		case o.GetAppendAction() == corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD:
		default:
			return nil, fieldErr(path+".append_action", "%s not supported", o.GetAppendAction())
		}
		out = append(out, hv)
	}
	return out, nil
}

func lowerAll(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = strings.ToLower(s)
	}
	return out
}
