package http

import (
	"net"
	nethttp "net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// matchedLen is how much of path a route's match covers: the prefix of a
// prefix match, the whole path of an exact or regex match. prefix_rewrite
// replaces that part.
func matchedLen(m *resource.RouteMatch, path string) int {
	switch m.Kind {
	case resource.PathPrefix, resource.PathSeparatedPrefix:
		return min(len(m.Path), len(path))
	}
	return len(path)
}

// rewritePath applies prefix_rewrite and regex_rewrite to the path (the
// query is kept) and records the original in x-envoy-original-path, as
// Envoy does.
func rewritePath(r *nethttp.Request, route *route) {
	a := route.cfg.Action
	if a.PrefixRewrite == "" && a.RegexRewrite == nil {
		return
	}
	orig := r.URL.RequestURI()
	p := r.URL.EscapedPath()
	if a.RegexRewrite != nil {
		p = a.RegexRewrite.Pattern.ReplaceAllString(p, a.RegexRewrite.Substitution)
	} else {
		p = a.PrefixRewrite + p[matchedLen(&route.cfg.Match, p):]
	}
	if u, err := url.PathUnescape(p); err == nil {
		r.URL.Path, r.URL.RawPath = u, p
	}
	if r.URL.RequestURI() != orig {
		r.Header.Set("X-Envoy-Original-Path", orig)
	}
}

// redirectURL builds the Location of a redirect as Envoy does: the scheme
// (scheme_redirect, or the request's x-forwarded-proto), the host
// (host_redirect, or the request's, without its port when the port changes
// or it is the default port of a scheme that changes), the port, and the
// path (path_redirect, or prefix_rewrite over the matched part), keeping
// the query unless strip_query or path_redirect has one.
func redirectURL(r *nethttp.Request, route *route) string {
	rd := route.cfg.Redirect
	origScheme := r.Header.Get("X-Forwarded-Proto")
	if origScheme == "" {
		origScheme = "http"
	}
	scheme := origScheme
	if rd.Scheme != "" {
		scheme = rd.Scheme
	}
	port := ""
	if rd.Port != 0 {
		port = ":" + strconv.Itoa(int(rd.Port))
	}
	host := rd.Host
	if host == "" {
		host = redirectHost(r.Host, origScheme, scheme, port != "")
	} else if port != "" {
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
	}
	path, query := r.URL.EscapedPath(), r.URL.RawQuery
	switch {
	case rd.Path != "":
		var hasQuery bool
		var q string
		path, q, hasQuery = strings.Cut(rd.Path, "?")
		if hasQuery {
			query = q
		}
	case rd.PrefixSet:
		path = rd.Prefix + path[matchedLen(&route.cfg.Match, path):]
	}
	if rd.StripQuery && !strings.Contains(rd.Path, "?") {
		query = ""
	}
	loc := scheme + "://" + host + port + path
	if query != "" {
		loc += "?" + query
	}
	return loc
}

// redirectHost is the request's host for a redirect: its port is dropped
// when a new port is set, or when the scheme changes and it was the old
// scheme's default (":80" for http, ":443" for https).
func redirectHost(host, from, to string, newPort bool) string {
	i := portStart(host)
	if i < 0 {
		return host
	}
	p := host[i:]
	drop := newPort || (from != to && ((from == "https" && p == ":443") || (from == "http" && p == ":80")))
	if drop {
		return host[:i]
	}
	return host
}

// portStart returns the index of the ':' before a host's port, or -1
// (IPv6 literals are bracketed).
func portStart(host string) int {
	if strings.HasPrefix(host, "[") {
		if i := strings.LastIndex(host, "]:"); i >= 0 {
			return i + 1
		}
		return -1
	}
	return strings.LastIndexByte(host, ':')
}

// shadowHost appends "-shadow" to the host part of an authority, before the
// port ("httpbin:8000" becomes "httpbin-shadow:8000"), as Envoy names the
// authority of mirrored requests.
func shadowHost(authority string) string {
	if i := portStart(authority); i >= 0 {
		return authority[:i] + "-shadow" + authority[i:]
	}
	return authority + "-shadow"
}
