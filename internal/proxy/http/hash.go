package http

import (
	"fmt"
	"net"
	nethttp "net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"

	"github.com/lateenmesh/lateen/internal/proxy/lb"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// requestHash evaluates the route's hash_policy for the consistent hash
// load balancers (RING_HASH, MAGLEV) as Envoy does: every policy that
// yields a value is folded in (the previous hash rotated left by one, then
// xor), and a terminal policy that yields one ends the list. Inputs are
// hashed with xxHash64. It reports false when no policy yielded a value
// (the load balancer then picks at random).
func (f *forward) requestHash(out *nethttp.Request) (uint64, bool) {
	var hash uint64
	have := false
	for i := range f.action.HashPolicies {
		hp := &f.action.HashPolicies[i]
		if h, ok := f.policyHash(hp, out); ok {
			if have {
				hash = hash<<1 | hash>>63
			}
			hash, have = hash^h, true
		}
		if hp.Terminal && have {
			break
		}
	}
	return hash, have
}

// withHash sets the route's request hash on a load balancer request.
func (f *forward) withHash(req *lb.Request, out *nethttp.Request) *lb.Request {
	if f.action != nil && len(f.action.HashPolicies) > 0 {
		req.Hash, req.HasHash = f.requestHash(out)
	}
	return req
}

func (f *forward) policyHash(hp *resource.HashPolicy, out *nethttp.Request) (uint64, bool) {
	switch {
	case hp.Header != "":
		return headerHash(out, hp.Header)
	case hp.Cookie != "":
		if c, err := out.Cookie(hp.Cookie); err == nil && c.Value != "" {
			return lb.HashString(c.Value), true
		}
		if hp.CookieGenerate {
			return lb.HashString(f.generatedCookieValue()), true
		}
	case hp.SourceIP:
		if host, _, err := net.SplitHostPort(f.info.DownstreamPeer); err == nil {
			return lb.HashString(host), true
		}
	case hp.QueryParam != "":
		if v, ok := firstQueryValue(out.URL.RawQuery, hp.QueryParam); ok {
			return lb.HashString(v), true
		}
	}
	return 0, false
}

// headerHash hashes a header's values, sorted so that their order does not
// matter (":authority" is the Host).
func headerHash(r *nethttp.Request, name string) (uint64, bool) {
	values := r.Header.Values(name)
	if name == ":authority" || name == "host" {
		values = []string{r.Host}
	}
	if len(values) == 0 {
		return 0, false
	}
	slices.Sort(values)
	var seed uint64
	for _, v := range values {
		d := xxhash.NewWithSeed(seed)
		_, _ = d.WriteString(v)
		seed = d.Sum64()
	}
	return seed, true
}

// firstQueryValue returns the first value of a query parameter, as sent
// (not decoded), like Envoy's query_parameter hash.
func firstQueryValue(rawQuery, name string) (string, bool) {
	for part := range strings.SplitSeq(rawQuery, "&") {
		k, v, _ := strings.Cut(part, "=")
		if k == name {
			return v, true
		}
	}
	return "", false
}

// generatedCookieValue is the value Envoy gives a generated hash cookie:
// the hex xxHash64 of the downstream connection's remote and local
// addresses, so concurrent requests of one connection get the same one.
func (f *forward) generatedCookieValue() string {
	return fmt.Sprintf("%016x", xxhash.Sum64String(f.info.DownstreamPeer+f.info.DownstreamLocal))
}

// setHashCookies adds Set-Cookie for every cookie hash policy with a ttl
// whose cookie the request lacked: name="value"; Max-Age (when the ttl is
// not 0); Path; HttpOnly, as Envoy writes it.
func (f *forward) setHashCookies(out *nethttp.Request, resp *nethttp.Response) {
	if f.action == nil {
		return
	}
	for _, hp := range f.action.HashPolicies {
		if hp.Cookie == "" || !hp.CookieGenerate {
			continue
		}
		if c, err := out.Cookie(hp.Cookie); err == nil && c.Value != "" {
			continue
		}
		v := hp.Cookie + `="` + f.generatedCookieValue() + `"`
		if s := int64(hp.CookieTTL.Seconds()); s > 0 {
			v += "; Max-Age=" + strconv.FormatInt(s, 10)
		}
		if hp.CookiePath != "" {
			v += "; Path=" + hp.CookiePath
		}
		resp.Header.Add("Set-Cookie", v+"; HttpOnly")
	}
}
