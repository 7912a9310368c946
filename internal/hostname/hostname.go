// Package hostname implements Istio's host name rules: short-name
// resolution and wildcard matching.
package hostname

import "strings"

// Resolve turns a short name into a fully qualified one as Istio does: a name
// without dots, other than "*", becomes <name>.<namespace>.svc.<suffix>.
// Names with dots and wildcards are returned unchanged.
func Resolve(host, namespace, domainSuffix string) string {
	if host == "*" || strings.Contains(host, ".") || strings.HasPrefix(host, "*") {
		return host
	}
	return host + "." + namespace + ".svc." + domainSuffix
}

// IsWildcard reports whether h is "*" or starts with "*.".
func IsWildcard(h string) bool { return strings.HasPrefix(h, "*") }

// Matches reports whether pattern (exact, "*" or "*.suffix") covers host.
// host may itself be a wildcard: "*.example.com" covers "*.a.example.com".
func Matches(pattern, host string) bool {
	if pattern == "*" || pattern == host {
		return true
	}
	if !IsWildcard(pattern) {
		return false
	}
	suffix := pattern[1:] // ".example.com"
	if IsWildcard(host) {
		return strings.HasSuffix(host[1:], suffix)
	}
	return strings.HasSuffix(host, suffix)
}

// Intersect returns the more specific of a and b when one covers the other,
// and "" when they do not overlap. Istio binds a VirtualService host to a
// gateway or Sidecar host this way.
func Intersect(a, b string) string {
	switch {
	case Matches(a, b):
		return b
	case Matches(b, a):
		return a
	default:
		return ""
	}
}

// Specificity ranks hosts for "most specific wins": exact names first, then
// wildcards by length.
func Specificity(h string) int {
	if !IsWildcard(h) {
		return 1 << 20
	}
	return len(h)
}

// ShortNames returns the names a client in clientNS may use for a
// Kubernetes-style FQDN <name>.<ns>.svc.<suffix>: the FQDN itself, then, for a
// client in the same namespace, <name>; and <name>.<ns>, <name>.<ns>.svc from
// anywhere. Other hosts have only their full name.
func ShortNames(fqdn, clientNS, domainSuffix string) []string {
	rest, ok := strings.CutSuffix(fqdn, ".svc."+domainSuffix)
	if !ok {
		return []string{fqdn}
	}
	name, ns, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(ns, ".") {
		return []string{fqdn}
	}
	out := []string{fqdn}
	if ns == clientNS {
		out = append(out, name)
	}
	return append(out, name+"."+ns, name+"."+ns+".svc")
}
