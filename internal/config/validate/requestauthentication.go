package validate

import (
	"encoding/json"
	"net/url"

	security "istio.io/api/security/v1beta1"
)

func validateRequestAuthentication(c *checker, p path, ra *security.RequestAuthentication) {
	checkPolicyTarget(c, p, ra.GetSelector(), ra.GetTargetRef(), ra.GetTargetRefs())
	for i, r := range ra.GetJwtRules() {
		checkJWTRule(c, p.field("jwtRules").index(i), r)
	}
}

func checkJWTRule(c *checker, p path, r *security.JWTRule) {
	if r.GetIssuer() == "" {
		c.errorf(p.field("issuer"), "issuer is required")
	}
	checkNonEmptyStrings(c, p.field("audiences"), "audience", r.GetAudiences())
	if r.GetJwksUri() != "" {
		checkJwksURI(c, p.field("jwksUri"), r.GetJwksUri())
		if r.GetJwks() != "" {
			c.errorf(p.field("jwks"), "jwks and jwksUri cannot be used together")
		}
	}
	if r.GetJwks() != "" && !isJWKS(r.GetJwks()) {
		c.errorf(p.field("jwks"), "jwks must be a JSON Web Key Set (a JSON object with a \"keys\" list) or a JSON Web Key")
	}
	for i, h := range r.GetFromHeaders() {
		checkHeaderName(c, p.field("fromHeaders").index(i).field("name"), h.GetName())
	}
	checkNonEmptyStrings(c, p.field("fromParams"), "query parameter name", r.GetFromParams())
	checkNonEmptyStrings(c, p.field("fromCookies"), "cookie name", r.GetFromCookies())
	if h := r.GetOutputPayloadToHeader(); h != "" {
		checkHeaderName(c, p.field("outputPayloadToHeader"), h)
	}
	seen := map[string]path{}
	for i, ch := range r.GetOutputClaimToHeaders() {
		cp := p.field("outputClaimToHeaders").index(i)
		checkHeaderName(c, cp.field("header"), ch.GetHeader())
		if ch.GetClaim() == "" {
			c.errorf(cp.field("claim"), "claim is required")
		}
		if prev, dup := seen[ch.GetHeader()]; dup && ch.GetHeader() != "" {
			c.errorf(cp.field("header"), "duplicate header %q (also at %s)", ch.GetHeader(), prev)
		}
		seen[ch.GetHeader()] = cp
	}
	checkDuration(c, p.field("timeout"), r.GetTimeout())
	checkNonEmptyStrings(c, p.field("spaceDelimitedClaims"), "claim name", r.GetSpaceDelimitedClaims())
	if n := len(r.GetSpaceDelimitedClaims()); n > 64 {
		c.errorf(p.field("spaceDelimitedClaims"), "at most 64 claims, got %d", n)
	}
}

// maxURILen is the longest jwksUri Istio accepts.
const maxURILen = 2048

func checkJwksURI(c *checker, p path, uri string) {
	if len(uri) > maxURILen {
		c.errorf(p, "jwksUri is longer than %d characters", maxURILen)
		return
	}
	u, err := url.Parse(uri)
	switch {
	case err != nil:
		c.errorf(p, "invalid URL %q", uri)
	case u.Scheme != "http" && u.Scheme != "https":
		c.errorf(p, "invalid URL %q: scheme must be http or https", uri)
	case u.Hostname() == "":
		c.errorf(p, "invalid URL %q: a host is required", uri)
	case u.Port() != "" && !isPortString(u.Port()):
		c.errorf(p, "invalid URL %q: bad port %q", uri, u.Port())
	}
}

// isJWKS reports whether s is a JSON Web Key Set (an object with a "keys"
// list of keys) or a single JSON Web Key (an object with "kty").
func isJWKS(s string) bool {
	var set struct {
		Keys []map[string]any `json:"keys"`
		Kty  string           `json:"kty"`
	}
	return json.Unmarshal([]byte(s), &set) == nil && (set.Keys != nil || set.Kty != "")
}
