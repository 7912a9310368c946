package validate

import (
	"net/http"
	"slices"
	"strings"
	"time"

	networking "istio.io/api/networking/v1alpha3"
)

// meshGateway is the reserved gateway name for all sidecars.
const meshGateway = "mesh"

// vsContext carries what route checks need to know about their
// VirtualService.
type vsContext struct {
	// delegate is set for a VirtualService without hosts, which is only
	// usable as the delegate of another one.
	delegate bool
	// gatewayOnly is set when the routes apply only to gateways, not to
	// sidecars (gateways listed and "mesh" not among them).
	gatewayOnly bool
	hosts       []string
}

func validateVirtualService(c *checker, p path, vs *networking.VirtualService) {
	gws := vs.GetGateways()
	ctx := vsContext{
		delegate:    len(vs.GetHosts()) == 0,
		gatewayOnly: len(gws) > 0 && !slices.Contains(gws, meshGateway),
		hosts:       vs.GetHosts(),
	}
	if ctx.delegate {
		checkDelegateVS(c, p, vs)
	}
	checkGatewayNames(c, p.field("gateways"), gws)
	checkVSHosts(c, p.field("hosts"), vs.GetHosts(), ctx.gatewayOnly)
	if len(vs.GetHttp()) == 0 && len(vs.GetTcp()) == 0 && len(vs.GetTls()) == 0 {
		c.errorf(p, "at least one of http, tcp or tls routes is required")
	}
	for i, r := range vs.GetHttp() {
		checkHTTPRoute(c, p.field("http").index(i), r, ctx)
	}
	for i, r := range vs.GetTls() {
		checkTLSRoute(c, p.field("tls").index(i), r, ctx)
	}
	for i, r := range vs.GetTcp() {
		checkTCPRoute(c, p.field("tcp").index(i), r)
	}
	checkExportTo(c, p.field("exportTo"), c.namespace, vs.GetExportTo(), false)
}

// checkDelegateVS applies the rules of a VirtualService without hosts.
func checkDelegateVS(c *checker, p path, vs *networking.VirtualService) {
	if len(vs.GetGateways()) > 0 {
		c.errorf(p.field("gateways"), "a delegate VirtualService (no hosts) must not list gateways")
	}
	if len(vs.GetTls()) > 0 {
		c.errorf(p.field("tls"), "a delegate VirtualService (no hosts) cannot have tls routes")
	}
	if len(vs.GetTcp()) > 0 {
		c.errorf(p.field("tcp"), "a delegate VirtualService (no hosts) cannot have tcp routes")
	}
}

func checkVSHosts(c *checker, p path, hosts []string, gatewayOnly bool) {
	valid := true
	for i, h := range hosts {
		hp := p.index(i)
		switch {
		case isIP(h) && !gatewayOnly:
			c.errorf(hp, "invalid host %q: IP addresses are only allowed when the VirtualService applies only to gateways", h)
			valid = false
		case h == "*" && !gatewayOnly:
			c.errorf(hp, "host \"*\" is not allowed when the VirtualService applies to sidecars (the mesh gateway)")
			valid = false
		default:
			valid = checkHost(c, hp, h, wildcardHost|starHost|ipHost) && valid
		}
	}
	if !valid {
		return
	}
	for j := range hosts {
		for i := range j {
			switch {
			case hosts[i] == hosts[j]:
				c.errorf(p.index(j), "duplicate host %q (also at %s)", hosts[j], p.index(i))
			case hostCovers(hosts[i], hosts[j]) || hostCovers(hosts[j], hosts[i]):
				c.errorf(p.index(j), "host %q overlaps host %q (at %s); a host may appear in one entry only", hosts[j], hosts[i], p.index(i))
			default:
				continue
			}
			break
		}
	}
}

func checkHTTPRoute(c *checker, p path, r *networking.HTTPRoute, ctx vsContext) {
	checkRouteAction(c, p, r, ctx)
	noRegex := ctx.delegate || r.GetDelegate() != nil
	for i, m := range r.GetMatch() {
		checkHTTPMatch(c, p.field("match").index(i), m, ctx, noRegex)
	}
	checkHTTPDestinations(c, p.field("route"), r.GetRoute())
	checkRedirect(c, p.field("redirect"), r.GetRedirect())
	checkDirectResponse(c, p.field("directResponse"), r.GetDirectResponse())
	checkDelegate(c, p.field("delegate"), r.GetDelegate())
	checkRewrite(c, p.field("rewrite"), r.GetRewrite())
	checkAuthority(c, p, r)
	checkDuration(c, p.field("timeout"), r.GetTimeout())
	checkRetry(c, p.field("retries"), r.GetRetries())
	checkFault(c, p.field("fault"), r.GetFault())
	checkMirrors(c, p, r)
	checkCORS(c, p.field("corsPolicy"), r.GetCorsPolicy())
	checkHeaderOperations(c, p.field("headers"), r.GetHeaders())
}

// checkRouteAction requires exactly one of route, redirect, directResponse
// and delegate.
func checkRouteAction(c *checker, p path, r *networking.HTTPRoute, ctx vsContext) {
	var set []string
	for _, a := range []struct {
		name string
		on   bool
	}{
		{"route", len(r.GetRoute()) > 0},
		{"redirect", r.GetRedirect() != nil},
		{"directResponse", r.GetDirectResponse() != nil},
		{"delegate", r.GetDelegate() != nil},
	} {
		if a.on {
			set = append(set, a.name)
		}
	}
	switch {
	case len(set) == 0:
		c.errorf(p, "one of route, redirect, directResponse or delegate is required")
	case len(set) > 1:
		c.errorf(p.field(set[1]), "%s cannot be combined with %s: set only one of route, redirect, directResponse and delegate",
			set[1], set[0])
	}
	if ctx.delegate && r.GetDelegate() != nil {
		c.errorf(p.field("delegate"), "a delegate VirtualService (no hosts) cannot delegate again")
	}
	if r.GetRedirect() != nil || r.GetDirectResponse() != nil {
		if r.GetFault() != nil {
			c.errorf(p.field("fault"), "fault cannot be used with redirect or directResponse")
		}
		if r.GetRewrite() != nil {
			c.errorf(p.field("rewrite"), "rewrite cannot be used with redirect or directResponse")
		}
	}
}

func checkHTTPMatch(c *checker, p path, m *networking.HTTPMatchRequest, ctx vsContext, noRegex bool) {
	for _, f := range []struct {
		name string
		sm   *networking.StringMatch
	}{{"uri", m.GetUri()}, {"scheme", m.GetScheme()}, {"method", m.GetMethod()}, {"authority", m.GetAuthority()}} {
		checkMatchValue(c, p.field(f.name), f.sm, noRegex)
	}
	for _, f := range []struct {
		name string
		m    map[string]*networking.StringMatch
	}{{"headers", m.GetHeaders()}, {"withoutHeaders", m.GetWithoutHeaders()}} {
		for _, k := range sortedKeys(f.m) {
			kp := p.field(f.name).key(k)
			checkMatchHeaderName(c, kp, k, ctx.gatewayOnly)
			checkMatchValue(c, kp, f.m[k], noRegex)
		}
	}
	for _, k := range sortedKeys(m.GetQueryParams()) {
		kp := p.field("queryParams").key(k)
		if k == "" {
			c.errorf(kp, "query parameter name must not be empty")
		}
		checkMatchValue(c, kp, m.GetQueryParams()[k], noRegex)
	}
	if m.GetPort() != 0 {
		checkPort(c, p.field("port"), int64(m.GetPort()))
	}
	checkLabels(c, p.field("sourceLabels"), m.GetSourceLabels())
	checkGatewayNames(c, p.field("gateways"), m.GetGateways())
	if ns := m.GetSourceNamespace(); ns != "" && !isDNSLabel(ns) {
		c.errorf(p.field("sourceNamespace"), "invalid namespace %q: must be a lowercase RFC 1123 label", ns)
	}
}

func checkMatchValue(c *checker, p path, sm *networking.StringMatch, noRegex bool) {
	if noRegex && isRegexMatch(sm) {
		c.errorf(p.field("regex"), "regex matches cannot be used in a route that delegates or in a delegate VirtualService")
		return
	}
	checkStringMatch(c, p, sm)
}

const claimPrefix = "@request.auth.claims"

// checkMatchHeaderName checks a header match key: a header name,
// or a JWT claim (@request.auth.claims.name or @request.auth.claims[name])
// on gateway-only VirtualServices.
func checkMatchHeaderName(c *checker, p path, name string, gatewayOnly bool) {
	if claim, ok := strings.CutPrefix(name, claimPrefix); ok {
		switch {
		case !gatewayOnly:
			c.errorf(p, "routing on JWT claims (%s) is only supported when the VirtualService applies only to gateways", name)
		case !validClaimRef(claim):
			c.errorf(p, "invalid JWT claim reference %q: use %s.<name> or %s[<name>]", name, claimPrefix, claimPrefix)
		}
		return
	}
	switch {
	case name == "":
		c.errorf(p, "header name must not be empty")
	case !headerNameRE.MatchString(name):
		// Istio's docs ask for lowercase keys but accept any case; header
		// names are case-insensitive and translation lowercases them.
		c.errorf(p, "invalid header name %q: use letters, digits, '-' or '_'", name)
	}
}

func validClaimRef(s string) bool {
	if rest, ok := strings.CutPrefix(s, "."); ok {
		return rest != "" && !strings.HasPrefix(rest, ".") && !strings.HasSuffix(rest, ".") && !strings.Contains(rest, "..")
	}
	if s == "" || s[0] != '[' {
		return false
	}
	for s != "" {
		if s[0] != '[' {
			return false
		}
		end := strings.IndexByte(s, ']')
		if end < 2 {
			return false
		}
		s = s[end+1:]
	}
	return true
}

// weighted is a route destination with a weight (HTTP, TCP or TLS).
type weighted interface {
	GetDestination() *networking.Destination
	GetWeight() int32
}

func checkDestinations[T weighted](c *checker, p path, ds []T) {
	var total int64
	for i, d := range ds {
		dp := p.index(i)
		if d.GetDestination() == nil {
			c.errorf(dp.field("destination"), "destination is required")
		} else {
			checkDestination(c, dp.field("destination"), d.GetDestination())
		}
		if d.GetWeight() < 0 {
			c.errorf(dp.field("weight"), "weight must not be negative, got %d", d.GetWeight())
		}
		total += int64(d.GetWeight())
	}
	if len(ds) > 1 && total == 0 {
		c.errorf(p, "the weights of the destinations add up to 0: give at least one destination a positive weight")
	}
}

func checkHTTPDestinations(c *checker, p path, ds []*networking.HTTPRouteDestination) {
	checkDestinations(c, p, ds)
	for i, d := range ds {
		checkHeaderOperations(c, p.index(i).field("headers"), d.GetHeaders())
	}
}

func checkDestination(c *checker, p path, d *networking.Destination) {
	switch h := d.GetHost(); h {
	case "":
		c.errorf(p.field("host"), "host is required")
	case "*":
		c.errorf(p.field("host"), "invalid destination host \"*\": name a service")
	default:
		checkHost(c, p.field("host"), h, wildcardHost)
	}
	if s := d.GetSubset(); s != "" && !isDNSLabel(s) {
		c.errorf(p.field("subset"), "invalid subset name %q: must be a lowercase RFC 1123 label", s)
	}
	if d.GetPort() != nil {
		checkPort(c, p.field("port").field("number"), int64(d.GetPort().GetNumber()))
	}
}

// redirectCodes are the redirect statuses Envoy supports.
var redirectCodes = []uint32{301, 302, 303, 307, 308}

func checkRedirect(c *checker, p path, r *networking.HTTPRedirect) {
	if r == nil {
		return
	}
	if r.GetUri() == "" && r.GetPrefixRewrite() == "" && r.GetAuthority() == "" && r.GetScheme() == "" && r.GetRedirectPort() == nil {
		c.errorf(p, "redirect must set at least one of uri, prefixRewrite, authority, scheme, port or derivePort")
	}
	if r.GetUri() != "" && r.GetPrefixRewrite() != "" {
		c.errorf(p.field("prefixRewrite"), "uri and prefixRewrite cannot be used together")
	}
	if code := r.GetRedirectCode(); code != 0 && !slices.Contains(redirectCodes, code) {
		c.errorf(p.field("redirectCode"), "redirect code must be one of 301, 302, 303, 307 or 308, got %d", code)
	}
	if s := r.GetScheme(); s != "" && s != "http" && s != "https" {
		c.errorf(p.field("scheme"), "scheme must be \"http\" or \"https\", got %q", s)
	}
	if port, ok := r.GetRedirectPort().(*networking.HTTPRedirect_Port); ok {
		checkPort(c, p.field("port"), int64(port.Port))
	}
}

// maxDirectResponseBody is the largest direct response body Istio accepts.
const maxDirectResponseBody = 1 << 20

func checkDirectResponse(c *checker, p path, d *networking.HTTPDirectResponse) {
	if d == nil {
		return
	}
	if s := d.GetStatus(); s < 200 || s > 599 {
		c.errorf(p.field("status"), "status must be an HTTP status code between 200 and 599, got %d", s)
	}
	if n := len(d.GetBody().GetString_()) + len(d.GetBody().GetBytes()); n > maxDirectResponseBody {
		c.errorf(p.field("body"), "body must be at most 1MiB, got %d bytes", n)
	}
}

func checkDelegate(c *checker, p path, d *networking.Delegate) {
	if d == nil {
		return
	}
	if d.GetName() == "" {
		c.errorf(p.field("name"), "name of the delegate VirtualService is required")
	} else if !isDNSSubdomain(d.GetName()) {
		c.errorf(p.field("name"), "invalid name %q: must be a lowercase RFC 1123 subdomain", d.GetName())
	}
	if ns := d.GetNamespace(); ns != "" && !isDNSLabel(ns) {
		c.errorf(p.field("namespace"), "invalid namespace %q: must be a lowercase RFC 1123 label", ns)
	}
}

func checkRewrite(c *checker, p path, r *networking.HTTPRewrite) {
	if r == nil {
		return
	}
	re := r.GetUriRegexRewrite()
	switch {
	case r.GetUri() != "" && re != nil:
		c.errorf(p.field("uriRegexRewrite"), "uri and uriRegexRewrite cannot be used together")
	case r.GetUri() == "" && re == nil && r.GetAuthority() == "":
		c.errorf(p, "rewrite must set uri, uriRegexRewrite or authority")
	}
	if re == nil {
		return
	}
	if re.GetRewrite() == "" {
		c.errorf(p.field("uriRegexRewrite").field("rewrite"), "rewrite is required")
	}
	checkRegex(c, p.field("uriRegexRewrite").field("match"), re.GetMatch())
}

// checkAuthority makes sure the authority is rewritten in one place only.
func checkAuthority(c *checker, p path, r *networking.HTTPRoute) {
	var first path
	if r.GetRewrite().GetAuthority() != "" {
		first = p.field("rewrite").field("authority")
	}
	req := r.GetHeaders().GetRequest()
	for _, op := range []struct {
		name string
		m    map[string]string
	}{{"set", req.GetSet()}, {"add", req.GetAdd()}} {
		for _, k := range sortedKeys(op.m) {
			if !isAuthorityHeader(k) {
				continue
			}
			kp := p.field("headers").field("request").field(op.name).key(k)
			if first != "" {
				c.errorf(kp, "the authority is already rewritten at %s; rewrite it in one place only", first)
				continue
			}
			first = kp
		}
	}
}

func isAuthorityHeader(name string) bool {
	return strings.EqualFold(name, "host") || strings.EqualFold(name, ":authority")
}

// retryOnPolicies are the retry conditions Envoy understands (x-envoy-retry-on
// and x-envoy-retry-grpc-on); HTTP status codes are accepted too.
var retryOnPolicies = []string{
	"5xx", "gateway-error", "reset", "reset-before-request", "connect-failure", "retriable-4xx", "refused-stream",
	"retriable-status-codes", "retriable-headers", "envoy-ratelimited", "http3-post-connect-failure",
	"cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable",
}

func checkRetry(c *checker, p path, r *networking.HTTPRetry) {
	if r == nil {
		return
	}
	switch a := r.GetAttempts(); {
	case a < 0:
		c.errorf(p.field("attempts"), "attempts must not be negative, got %d", a)
	case a == 0 && (r.GetPerTryTimeout() != nil || r.GetRetryOn() != "" || r.GetRetryRemoteLocalities() != nil):
		c.errorf(p.field("attempts"), "attempts is 0, which disables retries, but other retry settings are set: set attempts above 0")
	}
	checkDuration(c, p.field("perTryTimeout"), r.GetPerTryTimeout())
	checkDuration(c, p.field("backoff"), r.GetBackoff())
	if r.GetRetryOn() == "" {
		return
	}
	for _, cond := range strings.Split(r.GetRetryOn(), ",") {
		if !slices.Contains(retryOnPolicies, cond) && !isStatusCode(cond) {
			c.errorf(p.field("retryOn"), "unknown retry condition %q: use Envoy conditions such as 5xx, reset, connect-failure, or HTTP status codes", cond)
		}
	}
}

func isStatusCode(s string) bool {
	if !isDigits(s) || len(s) != 3 {
		return false
	}
	n := int(s[0]-'0')*100 + int(s[1]-'0')*10 + int(s[2]-'0')
	return http.StatusText(n) != ""
}

// grpcStatuses are the gRPC status names an abort may return.
var grpcStatuses = []string{
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
	"PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
	"UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
}

func checkFault(c *checker, p path, f *networking.HTTPFaultInjection) {
	if f == nil {
		return
	}
	if f.GetDelay() == nil && f.GetAbort() == nil {
		c.errorf(p, "fault must set delay, abort or both")
	}
	if d := f.GetDelay(); d != nil {
		dp := p.field("delay")
		checkFaultPercentage(c, dp.field("percentage"), d.GetPercentage())
		checkPercentInt(c, dp.field("percent"), int64(d.GetPercent()))
		switch {
		case d.GetExponentialDelay() != nil:
			c.errorf(dp.field("exponentialDelay"), "exponentialDelay is not supported by Istio; use fixedDelay")
		case d.GetFixedDelay() == nil:
			c.errorf(dp.field("fixedDelay"), "fixedDelay is required")
		default:
			checkDuration(c, dp.field("fixedDelay"), d.GetFixedDelay())
		}
	}
	if a := f.GetAbort(); a != nil {
		checkAbort(c, p.field("abort"), a)
	}
}

func checkAbort(c *checker, p path, a *networking.HTTPFaultInjection_Abort) {
	checkFaultPercentage(c, p.field("percentage"), a.GetPercentage())
	switch t := a.GetErrorType().(type) {
	case *networking.HTTPFaultInjection_Abort_HttpStatus:
		if t.HttpStatus < 200 || t.HttpStatus > 599 {
			c.errorf(p.field("httpStatus"), "httpStatus must be between 200 and 599, got %d", t.HttpStatus)
		}
	case *networking.HTTPFaultInjection_Abort_GrpcStatus:
		if !slices.Contains(grpcStatuses, t.GrpcStatus) {
			c.errorf(p.field("grpcStatus"), "unknown gRPC status %q: use a status name such as UNAVAILABLE or NOT_FOUND", t.GrpcStatus)
		}
	case *networking.HTTPFaultInjection_Abort_Http2Error:
		c.errorf(p.field("http2Error"), "http2Error is not supported by Istio; use httpStatus or grpcStatus")
	default:
		c.errorf(p, "one of httpStatus or grpcStatus is required")
	}
}

// checkFaultPercentage accepts 0 or a value in [0.0001, 100].
func checkFaultPercentage(c *checker, p path, pc *networking.Percent) {
	if v := pc.GetValue(); pc != nil && (v < 0 || v > 100 || (v > 0 && v < 0.0001)) {
		c.errorf(p.field("value"), "percentage must be 0 or between 0.0001 and 100, got %g", v)
	}
}

func checkMirrors(c *checker, p path, r *networking.HTTPRoute) {
	if r.GetMirror() != nil {
		checkDestination(c, p.field("mirror"), r.GetMirror())
		if len(r.GetMirrors()) > 0 {
			c.errorf(p.field("mirrors"), "mirror and mirrors cannot be used together")
		}
	}
	if mp := r.GetMirrorPercent(); mp != nil && mp.GetValue() > 100 {
		c.errorf(p.field("mirrorPercent"), "percentage must be between 0 and 100, got %d", mp.GetValue())
	}
	if r.GetMirrorPercentage() != nil {
		checkPercent(c, p.field("mirrorPercentage").field("value"), r.GetMirrorPercentage().GetValue())
	}
	for i, m := range r.GetMirrors() {
		mp := p.field("mirrors").index(i)
		if m.GetDestination() == nil {
			c.errorf(mp.field("destination"), "destination is required")
		} else {
			checkDestination(c, mp.field("destination"), m.GetDestination())
		}
		if m.GetPercentage() != nil {
			checkPercent(c, mp.field("percentage").field("value"), m.GetPercentage().GetValue())
		}
	}
}

func checkCORS(c *checker, p path, cp *networking.CorsPolicy) {
	if cp == nil {
		return
	}
	for i, o := range cp.GetAllowOrigins() {
		op := p.field("allowOrigins").index(i)
		if o.GetExact() == "" && o.GetPrefix() == "" && o.GetRegex() == "" {
			c.errorf(op, "origin match must set a non-empty exact, prefix or regex")
			continue
		}
		checkStringMatch(c, op, o)
	}
	checkNonEmptyStrings(c, p.field("allowOrigin"), "origin", cp.GetAllowOrigin())
	for i, m := range cp.GetAllowMethods() {
		if !slices.Contains(httpMethods, m) {
			c.errorf(p.field("allowMethods").index(i), "unknown HTTP method %q: use an upper case method such as GET or POST", m)
		}
	}
	for _, f := range []struct {
		name  string
		names []string
	}{{"allowHeaders", cp.GetAllowHeaders()}, {"exposeHeaders", cp.GetExposeHeaders()}} {
		for i, h := range f.names {
			if h != "*" {
				checkHeaderName(c, p.field(f.name).index(i), h)
			}
		}
	}
	if ma := cp.GetMaxAge(); ma != nil {
		if d := ma.AsDuration(); d < time.Second || d%time.Second != 0 {
			c.errorf(p.field("maxAge"), "maxAge must be a whole number of seconds, at least 1s, got %s", d)
		}
	}
}

// checkHeaderOperations checks request and response header manipulation.
func checkHeaderOperations(c *checker, p path, h *networking.Headers) {
	if h == nil {
		return
	}
	checkHeaderOps(c, p.field("request"), h.GetRequest(), true)
	checkHeaderOps(c, p.field("response"), h.GetResponse(), false)
}

func checkHeaderOps(c *checker, p path, ops *networking.Headers_HeaderOperations, request bool) {
	for _, op := range []struct {
		name string
		m    map[string]string
	}{{"set", ops.GetSet()}, {"add", ops.GetAdd()}} {
		for _, k := range sortedKeys(op.m) {
			kp := p.field(op.name).key(k)
			if msg := headerOpProblem(k, request); msg != "" {
				c.errorf(kp, "%s", msg)
			}
			if msg := headerValueProblem(op.m[k]); msg != "" {
				c.errorf(kp, "%s", msg)
			}
		}
	}
	for i, k := range ops.GetRemove() {
		if msg := headerOpProblem(k, false); msg != "" {
			c.errorf(p.field("remove").index(i), "%s", msg)
		}
	}
}

// headerOpProblem checks a header name to set, add or remove; the authority
// (host) may only be set or added on requests.
func headerOpProblem(name string, mayRewriteAuthority bool) string {
	switch {
	case name == "":
		return "header name must not be empty"
	case isAuthorityHeader(name):
		if mayRewriteAuthority {
			return ""
		}
		return "the host (authority) header cannot be removed or changed here"
	case strings.HasPrefix(name, ":"):
		return "pseudo-header " + name + " cannot be changed"
	case !tokenRE.MatchString(name):
		return "invalid header name \"" + name + "\""
	}
	return ""
}

func checkTLSRoute(c *checker, p path, r *networking.TLSRoute, ctx vsContext) {
	if len(r.GetMatch()) == 0 {
		c.errorf(p.field("match"), "at least one match is required")
	}
	for i, m := range r.GetMatch() {
		mp := p.field("match").index(i)
		if len(m.GetSniHosts()) == 0 {
			c.errorf(mp.field("sniHosts"), "at least one SNI host is required")
		}
		for j, h := range m.GetSniHosts() {
			checkSNIHost(c, mp.field("sniHosts").index(j), h, ctx.hosts)
		}
		checkL4Match(c, mp, m.GetDestinationSubnets(), m.GetPort(), m.GetSourceLabels(), m.GetGateways(), m.GetSourceNamespace())
	}
	if len(r.GetRoute()) == 0 {
		c.errorf(p.field("route"), "at least one route destination is required")
	}
	checkDestinations(c, p.field("route"), r.GetRoute())
}

// checkSNIHost requires an SNI host to be within the VirtualService hosts.
func checkSNIHost(c *checker, p path, sni string, hosts []string) {
	if isIP(sni) || !checkHost(c, p, sni, wildcardHost|starHost) {
		return
	}
	for _, h := range hosts {
		if hostCovers(h, sni) {
			return
		}
	}
	c.errorf(p, "host %q in sniHosts is not within the VirtualService hosts [%s]", sni, strings.Join(hosts, ", "))
}

func checkTCPRoute(c *checker, p path, r *networking.TCPRoute) {
	for i, m := range r.GetMatch() {
		mp := p.field("match").index(i)
		checkL4Match(c, mp, m.GetDestinationSubnets(), m.GetPort(), m.GetSourceLabels(), m.GetGateways(), m.GetSourceNamespace())
		if s := m.GetSourceSubnet(); s != "" {
			checkIPOrCIDR(c, mp.field("sourceSubnet"), s)
		}
	}
	if len(r.GetRoute()) == 0 {
		c.errorf(p.field("route"), "at least one route destination is required")
	}
	checkDestinations(c, p.field("route"), r.GetRoute())
}

// checkL4Match checks the fields TCP and TLS matches share.
func checkL4Match(c *checker, p path, subnets []string, port uint32, labels map[string]string, gws []string, ns string) {
	for i, s := range subnets {
		checkIPOrCIDR(c, p.field("destinationSubnets").index(i), s)
	}
	if port != 0 {
		checkPort(c, p.field("port"), int64(port))
	}
	checkLabels(c, p.field("sourceLabels"), labels)
	checkGatewayNames(c, p.field("gateways"), gws)
	if ns != "" && !isDNSLabel(ns) {
		c.errorf(p.field("sourceNamespace"), "invalid namespace %q: must be a lowercase RFC 1123 label", ns)
	}
}
