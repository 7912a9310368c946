package validate

import (
	"fmt"
	"maps"
	"net/http"
	"net/netip"
	pathpkg "path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	networking "istio.io/api/networking/v1alpha3"
	typev1beta1 "istio.io/api/type/v1beta1"
)

// path is a field path from the object root, e.g. "spec.http[0].route".
type path string

func (p path) field(name string) path {
	if p == "" {
		return path(name)
	}
	return p + "." + path(name)
}

func (p path) index(i int) path { return path(fmt.Sprintf("%s[%d]", p, i)) }

func (p path) key(k string) path { return path(fmt.Sprintf("%s[%s]", p, k)) }

// sortedKeys returns a map's keys in order, so errors come out stably.
func sortedKeys[K interface{ ~string | ~uint32 }, V any](m map[K]V) []K {
	return slices.Sorted(maps.Keys(m))
}

// isEmpty reports whether a message has no field set.
func isEmpty(m proto.Message) bool { return proto.Size(m) == 0 }

// ---- names ----

var (
	dnsLabelRE  = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	hostLabelRE = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?$`)
	labelNameRE = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)
	// headerNameRE is the character set Istio accepts in header names.
	headerNameRE = regexp.MustCompile(`^[-_A-Za-z0-9]+$`)
	// tokenRE is an RFC 9110 token, the syntax of any HTTP field name.
	tokenRE = regexp.MustCompile("^[-!#$%&'*+.^_`|~0-9A-Za-z]+$")
)

// isDNSLabel reports whether s is a lowercase RFC 1123 label.
func isDNSLabel(s string) bool { return len(s) <= 63 && dnsLabelRE.MatchString(s) }

// isDNSSubdomain reports whether s is a lowercase RFC 1123 subdomain.
func isDNSSubdomain(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if !isDNSLabel(l) {
			return false
		}
	}
	return true
}

// isPortName reports whether s is a valid port name (an RFC 1123 label;
// Istio accepts upper case letters too).
func isPortName(s string) bool { return len(s) <= 63 && hostLabelRE.MatchString(s) }

func checkPortName(c *checker, p path, name string, required bool) {
	switch {
	case name == "" && required:
		c.errorf(p, "port name is required")
	case name != "" && !isPortName(name):
		c.errorf(p, "invalid port name %q: use letters, digits and '-', starting and ending with a letter or digit", name)
	}
}

// ---- hosts ----

// hostRules says which host forms a field accepts.
type hostRules uint8

const (
	wildcardHost hostRules = 1 << iota // a leading "*." label
	starHost                           // "*" alone
	ipHost                             // an IP address
	fqdnOnly                           // no short names: the host must contain a dot
)

func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// checkHost reports what is wrong with a hostname; it returns whether the
// host is valid.
func checkHost(c *checker, p path, h string, rules hostRules) bool {
	if msg := hostProblem(h, rules); msg != "" {
		c.errorf(p, "%s", msg)
		return false
	}
	return true
}

func hostProblem(h string, rules hostRules) string {
	switch {
	case h == "":
		return "host must not be empty"
	case len(h) > 255:
		return fmt.Sprintf("invalid host %q: longer than 255 characters", h)
	case isIP(h):
		if rules&ipHost != 0 {
			return ""
		}
		return fmt.Sprintf("invalid host %q: IP addresses are not allowed here, use a hostname", h)
	case h == "*":
		if rules&starHost != 0 {
			return ""
		}
		return fmt.Sprintf("invalid host %q: a bare wildcard is not allowed here", h)
	}
	name := h
	if rules&wildcardHost != 0 {
		name = strings.TrimPrefix(h, "*.")
	}
	switch {
	case strings.Contains(name, "*") && rules&wildcardHost == 0:
		return fmt.Sprintf("invalid host %q: wildcards are not allowed here", h)
	case strings.Contains(name, "*") || name == "":
		return fmt.Sprintf("invalid host %q: wildcard must be the leftmost label followed by a dot", h)
	case strings.Contains(name, ":"):
		return fmt.Sprintf("invalid host %q: a host must not include a port", h)
	case rules&fqdnOnly != 0 && !strings.Contains(strings.TrimSuffix(name, "."), "."):
		return fmt.Sprintf("invalid host %q: short names are not allowed here, use a fully qualified name", h)
	}
	return domainProblem(h, name)
}

// domainProblem checks the DNS labels of name (a trailing dot is allowed).
func domainProblem(h, name string) string {
	labels := strings.Split(strings.TrimSuffix(name, "."), ".")
	for _, l := range labels {
		if l == "" {
			return fmt.Sprintf("invalid host %q: empty label (a leading dot or two dots in a row)", h)
		}
		if len(l) > 63 || !hostLabelRE.MatchString(l) {
			return fmt.Sprintf("invalid host %q: %q is not a valid DNS label", h, l)
		}
	}
	if tld := labels[len(labels)-1]; isDigits(tld) {
		return fmt.Sprintf("invalid host %q: top-level label %q must not be all digits", h, tld)
	}
	return ""
}

func isDigits(s string) bool {
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}

// hostCovers reports whether host pattern a matches every name b matches.
func hostCovers(a, b string) bool {
	switch {
	case a == b || a == "*":
		return true
	case strings.HasPrefix(a, "*."):
		return strings.HasSuffix(b, a[1:])
	}
	return false
}

// checkNamespacedHost checks a Gateway server host or a Sidecar egress host
// of the form namespace/dnsName ("namespace/" is optional on gateways).
func checkNamespacedHost(c *checker, p path, h string, gateway bool) {
	ns, name, found := strings.Cut(h, "/")
	if !found {
		if !gateway {
			c.errorf(p, "invalid host %q: must be of the form namespace/dnsName", h)
			return
		}
		ns, name = "*", h
	}
	switch {
	case ns == "" || name == "":
		c.errorf(p, "invalid host %q: namespace and dnsName must not be empty", h)
		return
	case !namespaceSelectorOK(ns, gateway):
		c.errorf(p, "invalid host %q: namespace %q must be %s or a namespace name", h, ns, nsForms(gateway))
		return
	}
	rules := wildcardHost | starHost | fqdnOnly
	if gateway {
		rules |= ipHost
	}
	if msg := hostProblem(name, rules); msg != "" {
		c.errorf(p, "%s", strings.Replace(msg, strconv.Quote(name), strconv.Quote(h), 1))
	}
}

func namespaceSelectorOK(ns string, gateway bool) bool {
	if !gateway && len(ns) > 1 && ns[0] == '~' {
		ns = ns[1:] // an exclusion entry in a Sidecar
	}
	switch ns {
	case "*", ".":
		return true
	case "~":
		return !gateway
	}
	return isDNSLabel(ns)
}

func nsForms(gateway bool) string {
	if gateway {
		return `"*", "."`
	}
	return `"*", ".", "~" (or "~" followed by a namespace to exclude)`
}

// checkGatewayNames checks gateway references: "mesh", "name" or
// "namespace/name".
func checkGatewayNames(c *checker, p path, names []string) {
	for i, g := range names {
		gp := p.index(i)
		ns, name, found := strings.Cut(g, "/")
		switch {
		case !found:
			if msg := hostProblem(g, 0); msg != "" {
				c.errorf(gp, "invalid gateway %q: use mesh, <name> or <namespace>/<name>", g)
			}
		case !isDNSLabel(ns):
			c.errorf(gp, "invalid gateway %q: namespace %q must be a lowercase RFC 1123 label", g, ns)
		case !isDNSLabel(name):
			c.errorf(gp, "invalid gateway %q: name %q must be a lowercase RFC 1123 label", g, name)
		}
	}
}

// ---- ports, protocols, addresses ----

func checkPort(c *checker, p path, n int64) {
	if n < 1 || n > 65535 {
		c.errorf(p, "port must be between 1 and 65535, got %d", n)
	}
}

// protocols lists the port protocols Istio recognises (case-insensitive).
var protocols = []string{"HTTP", "HTTPS", "GRPC", "GRPC-WEB", "HTTP2", "HTTP_PROXY", "MONGO", "MYSQL", "REDIS", "TCP", "TLS", "UDP"}

func checkProtocol(c *checker, p path, proto string, required bool) {
	switch {
	case proto == "" && required:
		c.errorf(p, "protocol is required (one of %s)", strings.Join(protocols, ", "))
	case proto != "" && !slices.Contains(protocols, strings.ToUpper(proto)):
		c.errorf(p, "unknown protocol %q (use one of %s)", proto, strings.Join(protocols, ", "))
	}
}

// isHTTPProtocol and isTLSProtocol classify a protocol as Istio does.
func isHTTPProtocol(proto string) bool {
	switch strings.ToUpper(proto) {
	case "HTTP", "HTTP2", "GRPC", "GRPC-WEB", "HTTP_PROXY":
		return true
	}
	return false
}

func isTLSProtocol(proto string) bool {
	switch strings.ToUpper(proto) {
	case "HTTPS", "TLS":
		return true
	}
	return false
}

func checkIP(c *checker, p path, s string) {
	if !isIP(s) {
		c.errorf(p, "invalid IP address %q", s)
	}
}

// checkIPOrCIDR accepts "10.0.0.1", "10.0.0.0/8", "2001:db8::/32".
func checkIPOrCIDR(c *checker, p path, s string) {
	if strings.Contains(s, "/") {
		if _, err := netip.ParsePrefix(s); err != nil {
			c.errorf(p, "invalid CIDR %q: expected an address and prefix length such as 10.0.0.0/8", s)
		}
		return
	}
	if !isIP(s) {
		c.errorf(p, "invalid address %q: expected an IP address or CIDR", s)
	}
}

const unixPrefix = "unix://"

// unixProblem checks the path of a unix:// address.
func unixProblem(addr string) string {
	sock := strings.TrimPrefix(addr, unixPrefix)
	switch {
	case sock == "":
		return "unix socket path must not be empty"
	case strings.HasPrefix(sock, "@"):
		return ""
	case !pathpkg.IsAbs(sock) || strings.HasSuffix(sock, "/"):
		return fmt.Sprintf("invalid unix address %q: expected an absolute path to a socket or @abstract-name", addr)
	}
	return ""
}

// checkHostPort checks a "host:port" address (host a hostname or IP).
func checkHostPort(c *checker, p path, addr string) {
	host, port, err := splitHostPort(addr)
	if err != nil {
		c.errorf(p, "invalid address %q: expected host:port", addr)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		c.errorf(p, "invalid address %q: port must be a number between 1 and 65535", addr)
	}
	if !isIP(host) && hostProblem(host, 0) != "" {
		c.errorf(p, "invalid address %q: %q is not a valid hostname or IP address", addr, host)
	}
}

func splitHostPort(addr string) (string, string, error) {
	i := strings.LastIndex(addr, ":")
	if i <= 0 {
		return "", "", fmt.Errorf("missing port")
	}
	host, port := addr[:i], addr[i+1:]
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	} else if strings.Contains(host, ":") {
		return "", "", fmt.Errorf("IPv6 addresses must be in brackets")
	}
	return host, port, nil
}

// ---- labels and selectors ----

// labelKeyProblem checks a Kubernetes label key: [prefix/]name.
func labelKeyProblem(k string) string {
	prefix, name, found := strings.Cut(k, "/")
	if !found {
		prefix, name = "", k
	}
	switch {
	case k == "":
		return "label key must not be empty"
	case found && !isDNSSubdomain(prefix):
		return fmt.Sprintf("invalid label key %q: prefix %q must be a lowercase DNS subdomain", k, prefix)
	case len(name) > 63 || !labelNameRE.MatchString(name):
		return fmt.Sprintf("invalid label key %q: name must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit", k)
	}
	return ""
}

func labelValueProblem(v string) string {
	if v == "" || (len(v) <= 63 && labelNameRE.MatchString(v)) {
		return ""
	}
	return fmt.Sprintf("invalid label value %q: must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit", v)
}

// checkLabels checks a label map with Kubernetes syntax.
func checkLabels(c *checker, p path, labels map[string]string) {
	for _, k := range sortedKeys(labels) {
		if msg := labelKeyProblem(k); msg != "" {
			c.errorf(p.key(k), "%s", msg)
		}
		if msg := labelValueProblem(labels[k]); msg != "" {
			c.errorf(p.key(k), "%s", msg)
		}
	}
}

// checkSelectorLabels checks labels used to select workloads: Kubernetes
// syntax and no wildcards.
func checkSelectorLabels(c *checker, p path, labels map[string]string) {
	for _, k := range sortedKeys(labels) {
		if strings.Contains(k, "*") || strings.Contains(labels[k], "*") {
			c.errorf(p.key(k), "wildcards are not supported in selectors")
			continue
		}
		if msg := labelKeyProblem(k); msg != "" {
			c.errorf(p.key(k), "%s", msg)
		}
		if msg := labelValueProblem(labels[k]); msg != "" {
			c.errorf(p.key(k), "%s", msg)
		}
	}
}

// checkPolicyTarget checks a policy's selector/targetRef/targetRefs trio:
// at most one of them, each well formed.
func checkPolicyTarget(c *checker, p path, sel *typev1beta1.WorkloadSelector,
	ref *typev1beta1.PolicyTargetReference, refs []*typev1beta1.PolicyTargetReference) {
	var set []string
	if sel != nil {
		set = append(set, "selector")
		checkSelectorLabels(c, p.field("selector").field("matchLabels"), sel.GetMatchLabels())
	}
	if ref != nil {
		set = append(set, "targetRef")
		checkTargetRef(c, p.field("targetRef"), ref)
	}
	if len(refs) > 0 {
		set = append(set, "targetRefs")
		for i, r := range refs {
			checkTargetRef(c, p.field("targetRefs").index(i), r)
		}
	}
	if len(set) > 1 {
		c.errorf(p.field(set[1]), "%s cannot be combined with %s: set only one of selector, targetRef and targetRefs", set[1], set[0])
	}
}

// targetKinds lists what a policy may target: group (core is "") and kind.
var targetKinds = [][2]string{
	{"", "Service"}, {"networking.istio.io", "ServiceEntry"},
	{"gateway.networking.k8s.io", "Gateway"}, {"gateway.networking.k8s.io", "GatewayClass"},
}

func checkTargetRef(c *checker, p path, r *typev1beta1.PolicyTargetReference) {
	if r.GetName() == "" {
		c.errorf(p.field("name"), "name is required")
	}
	if r.GetNamespace() != "" {
		c.errorf(p.field("namespace"), "cross-namespace references are not supported; leave namespace empty")
	}
	group := r.GetGroup()
	if group == "core" {
		group = ""
	}
	if !slices.Contains(targetKinds, [2]string{group, r.GetKind()}) {
		kind := r.GetKind()
		if group != "" {
			kind = group + "/" + kind
		}
		c.errorf(p.field("kind"), "cannot target a %s: use a Service, a networking.istio.io ServiceEntry, or a gateway.networking.k8s.io Gateway or GatewayClass", kind)
	}
}

// ---- durations and percentages ----

// checkDuration requires a set duration to be at least 1ms, with no finer
// precision than milliseconds.
func checkDuration(c *checker, p path, d *durationpb.Duration) {
	if d == nil {
		return
	}
	if err := d.CheckValid(); err != nil {
		c.errorf(p, "invalid duration: %v", err)
		return
	}
	switch v := d.AsDuration(); {
	case v < time.Millisecond:
		c.errorf(p, "duration must be at least 1ms, got %s", v)
	case v%time.Millisecond != 0:
		c.errorf(p, "duration must be a whole number of milliseconds, got %s", v)
	}
}

func checkPercent(c *checker, p path, v float64) {
	if v < 0 || v > 100 {
		c.errorf(p, "percentage must be between 0 and 100, got %g", v)
	}
}

// checkPercentInt is checkPercent for integer percentages.
func checkPercentInt(c *checker, p path, v int64) {
	if v < 0 || v > 100 {
		c.errorf(p, "percentage must be between 0 and 100, got %d", v)
	}
}

func checkNonNegative(c *checker, p path, v int64) {
	if v < 0 {
		c.errorf(p, "must not be negative, got %d", v)
	}
}

// ---- string matches, headers ----

// maxRegexLen approximates Envoy's RE2 program size limit.
const maxRegexLen = 1024

func checkRegex(c *checker, p path, re string) {
	switch {
	case re == "":
		c.errorf(p, "regex must not be empty")
	case len(re) > maxRegexLen:
		c.errorf(p, "regex is longer than %d characters", maxRegexLen)
	default:
		if _, err := regexp.Compile(re); err != nil {
			c.errorf(p, "invalid RE2 regex %q: %v", re, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
	}
}

// checkStringMatch checks a StringMatch; an empty one (presence match) is
// allowed.
func checkStringMatch(c *checker, p path, sm *networking.StringMatch) {
	if _, ok := sm.GetMatchType().(*networking.StringMatch_Regex); ok {
		checkRegex(c, p.field("regex"), sm.GetRegex())
	}
}

func isRegexMatch(sm *networking.StringMatch) bool {
	_, ok := sm.GetMatchType().(*networking.StringMatch_Regex)
	return ok
}

// checkHeaderName checks a header name against the characters Istio allows.
func checkHeaderName(c *checker, p path, name string) {
	switch {
	case name == "":
		c.errorf(p, "header name must not be empty")
	case !headerNameRE.MatchString(name):
		c.errorf(p, "invalid header name %q: use letters, digits, '-' and '_'", name)
	}
}

// headerValueProblem checks a header value to add or set: no control
// characters, and Envoy's %VARIABLE% syntax ("%%" for a literal '%').
func headerValueProblem(v string) string {
	for _, r := range v {
		if (r < 0x20 && r != '\t') || r == 0x7f {
			return fmt.Sprintf("invalid header value %q: control characters are not allowed", v)
		}
	}
	for rest := v; rest != ""; {
		i := strings.IndexByte(rest, '%')
		if i < 0 {
			break
		}
		rest = rest[i+1:]
		if strings.HasPrefix(rest, "%") {
			rest = rest[1:]
			continue
		}
		end := strings.IndexByte(rest, '%')
		if end <= 0 {
			return fmt.Sprintf("invalid header value %q: '%%' must start a %%VARIABLE%% or be doubled as %%%%", v)
		}
		rest = rest[end+1:]
	}
	return ""
}

// httpMethods are the methods Istio accepts in CORS policies.
var httpMethods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace,
}

// ---- exportTo, localities ----

// checkExportTo checks exportTo values: ".", "*", a namespace, and for
// ServiceEntry "~" (alone). It returns the namespaces exported to, with "."
// resolved to ns.
func checkExportTo(c *checker, p path, ns string, exportTo []string, allowNone bool) map[string]bool {
	seen := map[string]int{}
	for i, e := range exportTo {
		ep := p.index(i)
		key := e
		if e == "." && ns != "" {
			key = ns
		}
		if j, dup := seen[key]; dup {
			c.errorf(ep, "duplicate exportTo entry %q (also at %s)", e, p.index(j))
			continue
		}
		seen[key] = i
		switch {
		case e == "~" && !allowNone:
			c.errorf(ep, "\"~\" (export to no namespace) is only allowed on ServiceEntry")
		case e != "~" && e != "." && e != "*" && !isDNSLabel(e):
			c.errorf(ep, "invalid exportTo entry %q: use \".\", \"*\" or a namespace name", e)
		}
	}
	for _, only := range []string{"*", "~"} {
		if _, ok := seen[only]; ok && len(exportTo) > 1 {
			c.errorf(p, "%q cannot be combined with other exportTo entries", only)
		}
	}
	out := make(map[string]bool, len(seen))
	for k := range seen {
		out[k] = true
	}
	return out
}

// localityProblem checks a region[/zone[/subzone]] locality; with
// wildcard, the last given part may be "*".
func localityProblem(l string, wildcard bool) string {
	if l == "" {
		return "locality must not be empty"
	}
	parts := strings.Split(l, "/")
	if len(parts) > 3 {
		return fmt.Sprintf("invalid locality %q: expected region[/zone[/subzone]]", l)
	}
	for i, part := range parts {
		switch {
		case part == "":
			return fmt.Sprintf("invalid locality %q: region, zone and subzone must not be empty", l)
		case part == "*" && wildcard && i == len(parts)-1:
		case strings.Contains(part, "*"):
			if !wildcard {
				return fmt.Sprintf("invalid locality %q: wildcards are not allowed here", l)
			}
			return fmt.Sprintf("invalid locality %q: '*' may only be the whole last part", l)
		}
	}
	return ""
}

// localitiesOverlap reports whether two locality patterns select a common
// locality ("us" and "us/zone1" do; "us/*" and "us/zone1" do).
func localitiesOverlap(a, b string) bool {
	pa, pb := strings.Split(a, "/"), strings.Split(b, "/")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		if pa[i] == "*" || pb[i] == "*" {
			return true
		}
		if pa[i] != pb[i] {
			return false
		}
	}
	return true
}

// checkNonEmptyStrings reports empty entries of a string list.
func checkNonEmptyStrings(c *checker, p path, what string, list []string) {
	for i, s := range list {
		if s == "" {
			c.errorf(p.index(i), "%s must not be empty", what)
		}
	}
}

func formatPort(n uint32) string { return strconv.FormatUint(uint64(n), 10) }
