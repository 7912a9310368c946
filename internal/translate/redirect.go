package translate

import (
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	networking "istio.io/api/networking/v1alpha3"
)

var redirectCodes = map[uint32]routev3.RedirectAction_RedirectResponseCode{
	0:   routev3.RedirectAction_MOVED_PERMANENTLY,
	301: routev3.RedirectAction_MOVED_PERMANENTLY,
	302: routev3.RedirectAction_FOUND,
	303: routev3.RedirectAction_SEE_OTHER,
	307: routev3.RedirectAction_TEMPORARY_REDIRECT,
	308: routev3.RedirectAction_PERMANENT_REDIRECT,
}

// translateRedirect follows Istio: uri replaces the whole path (or
// prefixRewrite the matched prefix), authority the host, scheme the scheme,
// port the port; derivePort FROM_REQUEST_PORT is the listener's port (the
// port the route serves), FROM_PROTOCOL_DEFAULT leaves the port to Envoy.
// A port that is its scheme's default (80 for http, the scheme of a
// plaintext listener when none is set; 443 for https) is left out. 301
// unless redirectCode says.
func translateRedirect(r *networking.HTTPRedirect, listenerPort uint32) *routev3.RedirectAction {
	a := &routev3.RedirectAction{HostRedirect: r.Authority, ResponseCode: redirectCodes[r.RedirectCode]}
	if r.PrefixRewrite != "" {
		a.PathRewriteSpecifier = &routev3.RedirectAction_PrefixRewrite{PrefixRewrite: r.PrefixRewrite}
	} else {
		a.PathRewriteSpecifier = &routev3.RedirectAction_PathRedirect{PathRedirect: r.Uri}
	}
	if r.Scheme != "" {
		a.SchemeRewriteSpecifier = &routev3.RedirectAction_SchemeRedirect{SchemeRedirect: r.Scheme}
	}
	if r.RedirectPort == nil {
		return a
	}
	switch p := r.RedirectPort.(type) {
	case *networking.HTTPRedirect_Port:
		a.PortRedirect = p.Port
	case *networking.HTTPRedirect_DerivePort:
		if p.DerivePort == networking.HTTPRedirect_FROM_REQUEST_PORT {
			a.PortRedirect = listenerPort
		}
	}
	scheme := r.Scheme
	if scheme == "" {
		scheme = "http" // listeners are plaintext (no TLS servers yet)
	}
	if (a.PortRedirect == 80 && scheme == "http") || (a.PortRedirect == 443 && scheme == "https") {
		a.PortRedirect = 0
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

// setRewrite: uriRegexRewrite rewrites the path by RE2 with substitution;
// otherwise uri replaces the matched prefix (the whole path of an exact or
// regex match); an authority replaces the Host, and wins over one set by
// the route's headers.
func setRewrite(a *routev3.RouteAction, rw *networking.HTTPRewrite, authority string) string {
	if rr := rw.UriRegexRewrite; rr != nil {
		a.RegexRewrite = &matcherv3.RegexMatchAndSubstitute{
			Pattern:      &matcherv3.RegexMatcher{Regex: rr.Match},
			Substitution: rr.Rewrite,
		}
	} else if rw.Uri != "" {
		a.PrefixRewrite = rw.Uri
	}
	if rw.Authority != "" {
		return rw.Authority
	}
	return authority
}
