package admin

import (
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
)

// registerPprof serves Go's runtime profiles under /debug/pprof/ (CPU,
// heap, allocations, goroutines, ...), e.g.
//
//	go tool pprof http://127.0.0.1:15000/debug/pprof/profile?seconds=30
//
// Only loopback clients get them, whatever address the admin server binds.
func registerPprof(mux *http.ServeMux) {
	mux.Handle("/debug/pprof/", loopbackOnly(http.HandlerFunc(pprof.Index)))
	mux.Handle("/debug/pprof/cmdline", loopbackOnly(http.HandlerFunc(pprof.Cmdline)))
	mux.Handle("/debug/pprof/profile", loopbackOnly(http.HandlerFunc(pprof.Profile)))
	mux.Handle("/debug/pprof/symbol", loopbackOnly(http.HandlerFunc(pprof.Symbol)))
	mux.Handle("/debug/pprof/trace", loopbackOnly(http.HandlerFunc(pprof.Trace)))
}

// loopbackOnly answers 403 to clients that are not on a loopback address.
func loopbackOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		ip, perr := netip.ParseAddr(host)
		if err != nil || perr != nil || !ip.Unmap().IsLoopback() {
			http.Error(w, "profiles are served to loopback clients only", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}
