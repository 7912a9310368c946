package validate

import (
	"strconv"
	"strings"

	security "istio.io/api/security/v1beta1"
)

func validateAuthorizationPolicy(c *checker, p path, ap *security.AuthorizationPolicy) {
	checkPolicyTarget(c, p, ap.GetSelector(), ap.GetTargetRef(), ap.GetTargetRefs())
	action := ap.GetAction()
	switch {
	case action == security.AuthorizationPolicy_CUSTOM && ap.GetProvider().GetName() == "":
		c.errorf(p.field("provider").field("name"), "action CUSTOM requires provider.name (an extension provider of the mesh config)")
	case action != security.AuthorizationPolicy_CUSTOM && ap.GetProvider() != nil:
		c.errorf(p.field("provider"), "provider can only be used with action CUSTOM, not %s", action)
	}
	if len(ap.GetRules()) == 0 && (action == security.AuthorizationPolicy_DENY || action == security.AuthorizationPolicy_CUSTOM) {
		c.errorf(p.field("rules"), "action %s without rules never applies; add an empty rule {} to match every request", action)
	}
	for i, r := range ap.GetRules() {
		rp := p.field("rules").index(i)
		checkRule(c, rp, r)
		if action == security.AuthorizationPolicy_CUSTOM {
			checkCustomRule(c, rp, r)
		}
	}
}

func checkRule(c *checker, p path, r *security.Rule) {
	for i, f := range r.GetFrom() {
		fp := p.field("from").index(i).field("source")
		if f.GetSource() == nil || isEmpty(f.GetSource()) {
			c.errorf(fp, "source must set at least one field")
			continue
		}
		checkSource(c, fp, f.GetSource())
	}
	for i, t := range r.GetTo() {
		tp := p.field("to").index(i).field("operation")
		if t.GetOperation() == nil || isEmpty(t.GetOperation()) {
			c.errorf(tp, "operation must set at least one field")
			continue
		}
		checkOperation(c, tp, t.GetOperation())
	}
	for i, w := range r.GetWhen() {
		checkCondition(c, p.field("when").index(i), w)
	}
}

// stringList is a list field by JSON name.
type stringList struct {
	name   string
	values []string
}

func checkSource(c *checker, p path, s *security.Source) {
	lists := []stringList{
		{"principals", s.GetPrincipals()}, {"notPrincipals", s.GetNotPrincipals()},
		{"requestPrincipals", s.GetRequestPrincipals()}, {"notRequestPrincipals", s.GetNotRequestPrincipals()},
		{"namespaces", s.GetNamespaces()}, {"notNamespaces", s.GetNotNamespaces()},
		{"serviceAccounts", s.GetServiceAccounts()}, {"notServiceAccounts", s.GetNotServiceAccounts()},
		{"ipBlocks", s.GetIpBlocks()}, {"notIpBlocks", s.GetNotIpBlocks()},
		{"remoteIpBlocks", s.GetRemoteIpBlocks()}, {"notRemoteIpBlocks", s.GetNotRemoteIpBlocks()},
		{"trustDomains", s.GetTrustDomains()}, {"notTrustDomains", s.GetNotTrustDomains()},
	}
	for _, l := range lists {
		checkNonEmptyStrings(c, p.field(l.name), "value", l.values)
	}
	for _, l := range lists[8:12] {
		for i, v := range l.values {
			if v != "" {
				checkIPOrCIDR(c, p.field(l.name).index(i), v)
			}
		}
	}
	for _, l := range lists[6:8] {
		checkServiceAccounts(c, p.field(l.name), l.values)
	}
	if len(s.GetServiceAccounts())+len(s.GetNotServiceAccounts()) > 0 &&
		len(s.GetPrincipals())+len(s.GetNotPrincipals())+len(s.GetNamespaces())+len(s.GetNotNamespaces()) > 0 {
		c.errorf(p, "serviceAccounts cannot be combined with principals or namespaces")
	}
}

func checkServiceAccounts(c *checker, p path, sas []string) {
	if len(sas) > 16 {
		c.errorf(p, "at most 16 service accounts, got %d", len(sas))
	}
	for i, sa := range sas {
		ns, name, found := strings.Cut(sa, "/")
		if !found {
			ns, name = "", sa
		}
		if sa != "" && (len(sa) > 320 || (found && !isDNSLabel(ns)) || !isDNSSubdomain(name)) {
			c.errorf(p.index(i), "invalid service account %q: use <namespace>/<name> or <name>, without wildcards", sa)
		}
	}
}

func checkOperation(c *checker, p path, op *security.Operation) {
	lists := []stringList{
		{"ports", op.GetPorts()}, {"notPorts", op.GetNotPorts()},
		{"hosts", op.GetHosts()}, {"notHosts", op.GetNotHosts()},
		{"methods", op.GetMethods()}, {"notMethods", op.GetNotMethods()},
		{"paths", op.GetPaths()}, {"notPaths", op.GetNotPaths()},
	}
	for _, l := range lists {
		checkNonEmptyStrings(c, p.field(l.name), "value", l.values)
	}
	for _, l := range lists[:2] {
		for i, v := range l.values {
			if v != "" && !isPortString(v) {
				c.errorf(p.field(l.name).index(i), "invalid port %q: must be a number between 0 and 65535", v)
			}
		}
	}
	for _, l := range lists[6:] {
		for i, v := range l.values {
			if msg := pathTemplateProblem(v); msg != "" {
				c.errorf(p.field(l.name).index(i), "%s", msg)
			}
		}
	}
}

func isPortString(s string) bool {
	n, err := strconv.ParseUint(s, 10, 32)
	return err == nil && n <= 65535
}

// pathTemplateProblem checks a path using the {*} and {**} operators: each
// operator fills a whole segment, "*", "{" and "}" appear nowhere else, and
// {**} is the last operator.
func pathTemplateProblem(p string) string {
	if !strings.Contains(p, "{*}") && !strings.Contains(p, "{**}") {
		return ""
	}
	sawAny := false
	for _, seg := range strings.Split(p, "/") {
		switch {
		case seg == "{*}" || seg == "{**}":
			if sawAny {
				return "invalid path template " + strconv.Quote(p) + ": {**} must be the last operator"
			}
			sawAny = seg == "{**}"
		case strings.ContainsAny(seg, "*{}"):
			return "invalid path template " + strconv.Quote(p) + ": {*} and {**} must fill a whole path segment, and '*', '{', '}' may appear nowhere else"
		}
	}
	return ""
}

// exactKeys are the condition keys without a [name] part.
var exactKeys = []string{
	"source.ip", "remote.ip", "source.namespace", "source.principal", "request.auth.principal",
	"request.auth.audiences", "request.auth.presenter", "destination.ip", "destination.port", "connection.sni",
}

func checkCondition(c *checker, p path, w *security.Condition) {
	key := w.GetKey()
	if key == "" {
		c.errorf(p.field("key"), "key is required")
		return
	}
	if msg := conditionKeyProblem(key); msg != "" {
		c.errorf(p.field("key"), "%s", msg)
		return
	}
	if len(w.GetValues()) == 0 && len(w.GetNotValues()) == 0 {
		c.errorf(p, "at least one of values or notValues is required for key %s", key)
	}
	for _, l := range []stringList{{"values", w.GetValues()}, {"notValues", w.GetNotValues()}} {
		for i, v := range l.values {
			vp := p.field(l.name).index(i)
			switch {
			case v == "":
				c.errorf(vp, "value must not be empty")
			case key == "source.ip" || key == "remote.ip" || key == "destination.ip":
				checkIPOrCIDR(c, vp, v)
			case key == "destination.port" && !isPortString(v):
				c.errorf(vp, "invalid port %q: must be a number between 0 and 65535", v)
			}
		}
	}
}

// conditionKeyProblem checks a when key against Istio's list of attributes.
func conditionKeyProblem(key string) string {
	for _, k := range exactKeys {
		if key == k {
			return ""
		}
	}
	for _, prefix := range []string{"request.headers", "request.auth.claims", "experimental.envoy.filters."} {
		if strings.HasPrefix(key, prefix) {
			if !isBracketKey(key) {
				return "invalid key " + strconv.Quote(key) + ": the name goes in brackets, e.g. " + prefix + "[name]"
			}
			return ""
		}
	}
	switch {
	case key == "destination.namespace":
		return "destination.namespace is not supported: the policy applies in its own namespace"
	case strings.HasPrefix(key, "destination.labels"):
		return "destination.labels is not supported: use the policy's selector"
	case key == "destination.name" || key == "destination.user":
		return key + " is no longer supported"
	}
	return "unknown key " + strconv.Quote(key) + ": see Istio's authorization policy conditions for the supported keys"
}

// isBracketKey reports whether key has the form a[b] (or a[b][c]).
func isBracketKey(key string) bool {
	open := strings.IndexByte(key, '[')
	return open > 0 && strings.HasSuffix(key, "]") && open < len(key)-2
}

// checkCustomRule rejects rule fields the CUSTOM action cannot evaluate
// (identity-based ones, known only after the external authorizer ran).
func checkCustomRule(c *checker, p path, r *security.Rule) {
	for i, f := range r.GetFrom() {
		s := f.GetSource()
		fp := p.field("from").index(i).field("source")
		for _, l := range []stringList{
			{"principals", s.GetPrincipals()}, {"notPrincipals", s.GetNotPrincipals()},
			{"requestPrincipals", s.GetRequestPrincipals()}, {"notRequestPrincipals", s.GetNotRequestPrincipals()},
			{"namespaces", s.GetNamespaces()}, {"notNamespaces", s.GetNotNamespaces()},
		} {
			if len(l.values) > 0 {
				c.errorf(fp.field(l.name), "%s cannot be used with action CUSTOM", l.name)
			}
		}
	}
	for i, w := range r.GetWhen() {
		k := w.GetKey()
		if k == "source.namespace" || k == "source.principal" || strings.HasPrefix(k, "request.auth.") {
			c.errorf(p.field("when").index(i).field("key"), "key %s cannot be used with action CUSTOM", k)
		}
	}
}
