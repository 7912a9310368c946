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

// Overlaps reports whether a and b cover a common host: one matches the
// other. Istio binds a VirtualService to a Sidecar egress host this way.
func Overlaps(a, b string) bool { return Matches(a, b) || Matches(b, a) }

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
// Kubernetes-style FQDN <name>.<ns>.svc.<suffix>: the FQDN itself, then the
// shorter forms DNS search paths allow, as Istio generates them: for a
// client in the same namespace <name>, <name>.<ns>.svc and <name>.<ns>; from
// another namespace <name>.<ns> and <name>.<ns>.svc. Other hosts have only
// their full name.
func ShortNames(fqdn, clientNS, domainSuffix string) []string {
	return append([]string{fqdn}, AltNames(fqdn, clientNS, domainSuffix)...)
}

// AltNames is ShortNames without the FQDN itself.
func AltNames(fqdn, clientNS, domainSuffix string) []string {
	rest, ok := strings.CutSuffix(fqdn, ".svc."+domainSuffix)
	if !ok {
		return nil
	}
	name, ns, ok := strings.Cut(rest, ".")
	if !ok || name == "" || ns == "" || strings.Contains(ns, ".") {
		return nil
	}
	if ns == clientNS {
		return []string{name, rest + ".svc", rest}
	}
	return []string{rest, rest + ".svc"}
}
