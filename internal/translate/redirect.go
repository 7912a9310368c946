package translate

import (
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
	networking "istio.io/api/networking/v1alpha3"
)

var redirectCodes = map[uint32]routev3.RedirectAction_RedirectResponseCode{
	301: routev3.RedirectAction_MOVED_PERMANENTLY,
	302: routev3.RedirectAction_FOUND,
	303: routev3.RedirectAction_SEE_OTHER,
	307: routev3.RedirectAction_TEMPORARY_REDIRECT,
	308: routev3.RedirectAction_PERMANENT_REDIRECT,
}

// translateRedirect: uri replaces the whole path, authority the host, port
// or derivePort the port, scheme the scheme; 301 unless redirectCode says.
func translateRedirect(r *networking.HTTPRedirect) *routev3.RedirectAction {
	a := &routev3.RedirectAction{HostRedirect: r.Authority}
	if r.Uri != "" {
		a.PathRewriteSpecifier = &routev3.RedirectAction_PathRedirect{PathRedirect: r.Uri}
	}
	if r.Scheme != "" {
		a.SchemeRewriteSpecifier = &routev3.RedirectAction_SchemeRedirect{SchemeRedirect: r.Scheme}
	}
	switch p := r.RedirectPort.(type) {
	case *networking.HTTPRedirect_Port:
		a.PortRedirect = p.Port
	case *networking.HTTPRedirect_DerivePort:
		if p.DerivePort == networking.HTTPRedirect_FROM_PROTOCOL_DEFAULT {
			a.PortRedirect = 80
			if r.Scheme == "https" {
				a.PortRedirect = 443
			}
		}
	}
	if code, ok := redirectCodes[r.RedirectCode]; ok {
		a.ResponseCode = code
	}
	return a
}

func translateDirectResponse(d *networking.HTTPDirectResponse) *routev3.DirectResponseAction {
	a := &routev3.DirectResponseAction{Status: d.Status}
	switch b := d.GetBody().GetSpecifier().(type) {
	case *networking.HTTPBody_String_:
		a.Body = &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: b.String_}}
	case *networking.HTTPBody_Bytes:
		a.Body = &corev3.DataSource{Specifier: &corev3.DataSource_InlineBytes{InlineBytes: b.Bytes}}
	}
	return a
}

// setRewrite: uri replaces the matched prefix (or the whole path of an
// exact match), uriRegexRewrite rewrites by RE2 with substitution, authority
// replaces the Host header.
func setRewrite(a *routev3.RouteAction, rw *networking.HTTPRewrite, _ []*networking.HTTPMatchRequest) {
	if rw.Uri != "" {
		a.PrefixRewrite = rw.Uri
	}
	if rr := rw.UriRegexRewrite; rr != nil {
		a.RegexRewrite = &matcherv3.RegexMatchAndSubstitute{
			Pattern:      &matcherv3.RegexMatcher{Regex: rr.Match},
			Substitution: rr.Rewrite,
		}
	}
	if rw.Authority != "" {
		a.HostRewriteSpecifier = &routev3.RouteAction_HostRewriteLiteral{HostRewriteLiteral: rw.Authority}
	}
}

func wrapUInt32(v uint32) *wrapperspb.UInt32Value { return wrapperspb.UInt32(v) }
