package proxy_test

import (
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"

	"github.com/lateenmesh/lateen/internal/proxy/proxytest"
	"github.com/lateenmesh/lateen/internal/wait"
)

// seen is what a recording backend received.
type seen struct {
	host, path, body, test string
}

// recorder is a backend that records requests (body digests) on a channel.
type recorder struct {
	mu   sync.Mutex
	reqs []seen
}

func (rec *recorder) handler(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, _ := io.Copy(h, r.Body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, seen{host: r.Host, path: r.URL.RequestURI(), body: fmt.Sprintf("%d %x", n, h.Sum(nil)),
			test: r.Header.Get("X-Test")})
		rec.mu.Unlock()
		fmt.Fprint(w, name)
	})
}

func (rec *recorder) all() []seen {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]seen(nil), rec.reqs...)
}

func mirrorTo(cluster string, pct *typev3.FractionalPercent) *routev3.RouteAction_RequestMirrorPolicy {
	m := &routev3.RouteAction_RequestMirrorPolicy{Cluster: cluster}
	if pct != nil {
		m.RuntimeFraction = &corev3.RuntimeFractionalPercent{DefaultValue: pct}
	}
	return m
}

func TestMirror(t *testing.T) {
	e := startProxy(t)
	var main, shadow recorder
	primary := serve(t, main.handler("primary"))
	mirror := serve(t, shadow.handler("mirror"))
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	slow := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release // never reads the body, never answers in time
	}))
	dead := fmt.Sprintf("127.0.0.1:%d", proxytest.FreePort(t))
	withMirrors := func(ms ...*routev3.RouteAction_RequestMirrorPolicy) func(*routev3.RouteAction) {
		return func(a *routev3.RouteAction) { a.RequestMirrorPolicies = ms }
	}
	keepHost := mirrorTo("m", nil)
	keepHost.DisableShadowHostSuffixAppend = true
	addr := applySetup(t, e, "v1", routeSetup{
		clusters: map[string][]string{"p": {primary}, "m": {mirror}, "slow": {slow}, "dead": {dead}},
		routes: []*routev3.Route{
			forwardRoute("/half", "p", withMirrors(mirrorTo("m", percent(50)))),
			forwardRoute("/slow", "p", withMirrors(mirrorTo("slow", nil))),
			forwardRoute("/dead", "p", withMirrors(mirrorTo("dead", nil))),
			forwardRoute("/keep", "p", withMirrors(keepHost)),
			forwardRoute("/", "p", withMirrors(mirrorTo("m", nil))),
		}})
	c := client()
	waitMirrored := func(n int) []seen {
		t.Helper()
		wait.For(t, 10*time.Second, fmt.Sprintf("%d mirrored requests", n), func() error {
			if got := len(shadow.all()); got < n {
				return fmt.Errorf("%d mirrored", got)
			}
			return nil
		})
		return shadow.all()
	}

	t.Run("copy with -shadow host", func(t *testing.T) {
		r := get(t, c, addr, "httpbin:8000", "/get?x=1", "X-Test", "t1")
		if r.code != 200 || r.body != "primary" {
			t.Fatalf("got %d %q", r.code, r.body)
		}
		got := waitMirrored(1)[0]
		if got.host != "httpbin-shadow:8000" || got.path != "/get?x=1" || got.test != "t1" {
			t.Errorf("mirror saw %+v", got)
		}
		if m := main.all(); m[len(m)-1].host != "httpbin:8000" {
			t.Errorf("primary saw host %q", m[len(m)-1].host)
		}
	})
	t.Run("streamed body", func(t *testing.T) {
		const size = 256 << 10 // within what a mirror may lag behind
		req := mustRequest(t, "POST", "http://"+addr+"/post", &patternReader{n: size})
		req.ContentLength = -1
		req.Host = "httpbin"
		if r := do(t, c, req); r.code != 200 {
			t.Fatalf("got %d", r.code)
		}
		h := sha256.New()
		_, _ = io.Copy(h, &patternReader{n: size})
		want := fmt.Sprintf("%d %x", size, h.Sum(nil))
		got := waitMirrored(2)[1]
		if got.host != "httpbin-shadow" || got.body != want {
			t.Errorf("mirror got host %q body %q, want %q", got.host, got.body, want)
		}
		if m := main.all(); m[len(m)-1].body != want {
			t.Errorf("primary got body %q", m[len(m)-1].body)
		}
	})
	t.Run("disable shadow host suffix", func(t *testing.T) {
		get(t, c, addr, "httpbin", "/keep")
		if got := waitMirrored(3)[2]; got.host != "httpbin" {
			t.Errorf("mirror host %q, want it unchanged", got.host)
		}
	})
	t.Run("slow mirror does not slow the request", func(t *testing.T) {
		for range 3 {
			req := mustRequest(t, "POST", "http://"+addr+"/slow", &patternReader{n: 4 << 20})
			req.ContentLength = -1
			if r := do(t, c, req); r.code != 200 || r.body != "primary" {
				t.Fatalf("got %d %q", r.code, r.body)
			}
		}
	})
	t.Run("failing mirror does not fail the request", func(t *testing.T) {
		if r := get(t, c, addr, "h", "/dead"); r.code != 200 || r.body != "primary" {
			t.Fatalf("got %d %q", r.code, r.body)
		}
	})
	t.Run("percentage", func(t *testing.T) {
		before := len(shadow.all())
		const n = 200
		for range n {
			get(t, c, addr, "h", "/half")
		}
		wait.For(t, 10*time.Second, "mirrors to finish", func() error {
			if sent, got := e.stat("cluster.m.upstream_rq_total"), int64(len(shadow.all())); got != sent {
				return fmt.Errorf("%d of %d mirrored requests received", got, sent)
			}
			return nil
		})
		if got := len(shadow.all()) - before; got < 60 || got > 140 {
			t.Errorf("%d of %d requests mirrored at 50%%", got, n)
		}
	})
}
