package admin

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestPprofLoopbackOnly(t *testing.T) {
	mux := http.NewServeMux()
	registerPprof(mux)
	for _, tc := range []struct {
		remote string
		want   int
	}{
		{"127.0.0.1:5000", http.StatusOK},
		{"127.3.0.2:5000", http.StatusOK},
		{"[::1]:5000", http.StatusOK},
		{"10.0.0.5:5000", http.StatusForbidden},
		{"[2001:db8::1]:5000", http.StatusForbidden},
		{"garbage", http.StatusForbidden},
	} {
		r := httptest.NewRequest("GET", "/debug/pprof/", nil)
		r.RemoteAddr = tc.remote
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		if w.Code != tc.want {
			t.Errorf("%s: code %d, want %d", tc.remote, w.Code, tc.want)
		}
		if tc.want == http.StatusOK && !strings.Contains(w.Body.String(), "goroutine") {
			t.Errorf("%s: index does not list the profiles:\n%s", tc.remote, w.Body.String())
		}
	}
}
