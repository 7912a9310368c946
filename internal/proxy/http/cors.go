package http

import (
	"fmt"
	nethttp "net/http"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/stats"
)

// CORS filter type URLs: the filter's typed_config and the route's
// typed_per_filter_config.
const (
	CorsTypeURL       = "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors"
	CorsPolicyTypeURL = "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy"
)

// corsFilter is envoy.filters.http.cors: it answers preflight requests of
// allowed origins itself and adds the Access-Control-* headers to the
// responses of allowed cross-origin requests, per the route's CorsPolicy.
type corsFilter struct {
	name           string
	valid, invalid *stats.Counter
	next           nethttp.Handler
}

func newCorsFilter(cfg any, bc BuildContext) (Filter, error) {
	if _, ok := cfg.(*resource.CorsConfig); !ok {
		return nil, fmt.Errorf("cors filter: unexpected config %T", cfg)
	}
	p := "http." + bc.StatPrefix + ".cors."
	valid, invalid := bc.Stats.Counter(p+"origin_valid"), bc.Stats.Counter(p+"origin_invalid")
	return func(next nethttp.Handler) nethttp.Handler {
		return &corsFilter{name: bc.FilterName, valid: valid, invalid: invalid, next: next}
	}, nil
}

func (f *corsFilter) ServeHTTP(w nethttp.ResponseWriter, r *nethttp.Request) {
	p, _ := InfoFrom(r.Context()).Route().PerFilterConfig[f.name].(*resource.CorsPolicy)
	origin := r.Header.Get("Origin")
	if p == nil || origin == "" {
		f.next.ServeHTTP(w, r)
		return
	}
	enabled, shadow := sample(p.FilterEnabled), sample(p.ShadowEnabled)
	if !enabled && !shadow {
		f.next.ServeHTTP(w, r)
		return
	}
	allowed := originAllowed(p.AllowOrigins, origin)
	if allowed {
		f.valid.Inc()
	} else {
		f.invalid.Inc()
	}
	if !enabled {
		f.next.ServeHTTP(w, r) // shadow mode: stats only
		return
	}
	preflight := r.Method == nethttp.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
	switch {
	case preflight && (allowed || !p.ForwardNotMatchingPreflights):
		preflightReply(w, r, p, allowed, origin)
	case allowed:
		f.next.ServeHTTP(&corsWriter{ResponseWriter: w, policy: p, origin: origin}, r)
	default:
		f.next.ServeHTTP(w, r)
	}
}

// originAllowed: an origin is allowed when a matcher matches it, or
// matches "*" (which allows every origin), as in Envoy.
func originAllowed(ms []*resource.StringMatcher, origin string) bool {
	for _, m := range ms {
		if matchString(m, "*") || matchString(m, origin) {
			return true
		}
	}
	return false
}

// preflightReply answers a preflight request with 200 and the policy's
// Access-Control-* headers (without Allow-Origin for an origin that is not
// allowed).
func preflightReply(w nethttp.ResponseWriter, r *nethttp.Request, p *resource.CorsPolicy, allowed bool, origin string) {
	h := w.Header()
	if allowed {
		h.Set("Access-Control-Allow-Origin", origin)
	}
	if p.AllowCredentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if m := p.AllowMethods; m == "*" {
		h.Set("Access-Control-Allow-Methods", r.Header.Get("Access-Control-Request-Method"))
	} else if m != "" {
		h.Set("Access-Control-Allow-Methods", m)
	}
	if hs := p.AllowHeaders; hs == "*" {
		h.Set("Access-Control-Allow-Headers", r.Header.Get("Access-Control-Request-Headers"))
	} else if hs != "" {
		h.Set("Access-Control-Allow-Headers", hs)
	}
	if p.MaxAge != "" {
		h.Set("Access-Control-Max-Age", p.MaxAge)
	}
	if p.AllowPrivateNetworkAccess && r.Header.Get("Access-Control-Request-Private-Network") == "true" {
		h.Set("Access-Control-Allow-Private-Network", "true")
	}
	w.WriteHeader(nethttp.StatusOK)
}

// corsWriter adds the CORS response headers of an allowed origin to the
// response (upstream or local reply) when its headers are written.
type corsWriter struct {
	nethttp.ResponseWriter
	policy *resource.CorsPolicy
	origin string
	done   bool
}

func (w *corsWriter) WriteHeader(code int) {
	if !w.done && (code >= 200 || code == nethttp.StatusSwitchingProtocols) {
		w.done = true
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", w.origin)
		if w.policy.AllowCredentials {
			h.Set("Access-Control-Allow-Credentials", "true")
		}
		if w.policy.ExposeHeaders != "" {
			h.Set("Access-Control-Expose-Headers", w.policy.ExposeHeaders)
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *corsWriter) Write(b []byte) (int, error) {
	if !w.done {
		w.WriteHeader(nethttp.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Flush sends buffered data (the headers first).
func (w *corsWriter) Flush() {
	if !w.done {
		w.WriteHeader(nethttp.StatusOK)
	}
	flush(w.ResponseWriter)
}

// Unwrap lets http.ResponseController reach Hijack and friends.
func (w *corsWriter) Unwrap() nethttp.ResponseWriter { return w.ResponseWriter }
