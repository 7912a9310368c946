package http

import (
	nethttp "net/http"
	"net/url"
	"strings"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// match returns the first route of the virtual host matching r.
func (vh *vhost) match(r *nethttp.Request, path string) *route {
	var query url.Values
	for i := range vh.routes {
		rt := &vh.routes[i]
		m := &rt.cfg.Match
		if !matchPath(m, path) || !matchHeaders(m.Headers, r) {
			continue
		}
		if len(m.Query) > 0 {
			if query == nil {
				query = r.URL.Query()
			}
			if !matchQuery(m.Query, query) {
				continue
			}
		}
		return rt
	}
	return nil
}

// matchPath matches the path (without query) of the request.
func matchPath(m *resource.RouteMatch, path string) bool {
	if m.Kind == resource.PathRegex {
		return m.Regex.MatchString(path)
	}
	if !m.CaseSensitive {
		path = strings.ToLower(path)
	}
	switch m.Kind {
	case resource.PathExact:
		return path == m.Path
	case resource.PathSeparatedPrefix:
		return path == m.Path || (strings.HasPrefix(path, m.Path) && path[len(m.Path)] == '/')
	default:
		return strings.HasPrefix(path, m.Path)
	}
}

// matchHeaders applies header matchers with Envoy's semantics: a missing
// header fails a matcher (inverted or not) unless it is a present_match
// that wants it absent, or treat_missing_header_as_empty makes it "".
// Multiple values are matched joined with ",".
func matchHeaders(hms []resource.HeaderMatcher, r *nethttp.Request) bool {
	for i := range hms {
		if !matchHeader(&hms[i], r) {
			return false
		}
	}
	return true
}

func matchHeader(hm *resource.HeaderMatcher, r *nethttp.Request) bool {
	values, present := headerValues(r, hm.Name)
	if !present && !hm.TreatMissingAsEmpty {
		wantAbsent := hm.String == nil && (hm.Present == hm.Invert)
		return wantAbsent
	}
	var ok bool
	if hm.String == nil {
		ok = hm.Present
	} else {
		ok = matchString(hm.String, strings.Join(values, ","))
	}
	return ok != hm.Invert
}

// headerValues handles the pseudo-headers Envoy exposes to matchers.
func headerValues(r *nethttp.Request, name string) ([]string, bool) {
	switch name {
	case ":authority", "host":
		return []string{r.Host}, true
	case ":method":
		return []string{r.Method}, true
	case ":path":
		return []string{r.URL.RequestURI()}, true
	case ":scheme":
		return []string{"http"}, true
	}
	v, ok := r.Header[nethttp.CanonicalHeaderKey(name)]
	return v, ok
}

func matchQuery(qms []resource.QueryMatcher, q url.Values) bool {
	for i := range qms {
		qm := &qms[i]
		v, present := q[qm.Name]
		if !present {
			return false
		}
		if qm.String != nil && !matchString(qm.String, v[0]) {
			return false
		}
	}
	return true
}

func matchString(sm *resource.StringMatcher, v string) bool {
	if sm.Kind == resource.StringRegex {
		return sm.Regex.MatchString(v)
	}
	if sm.IgnoreCase {
		v = strings.ToLower(v)
	}
	switch sm.Kind {
	case resource.StringExact:
		return v == sm.Value
	case resource.StringPrefix:
		return strings.HasPrefix(v, sm.Value)
	case resource.StringSuffix:
		return strings.HasSuffix(v, sm.Value)
	default:
		return strings.Contains(v, sm.Value)
	}
}
