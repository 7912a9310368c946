package proxy_test

import (
	"fmt"
	"strings"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"

	"github.com/lateenmesh/lateen/internal/proxy"
	"github.com/lateenmesh/lateen/internal/proxy/proxytest"
)

// mtlsPair is a client sidecar (sleep) and a server sidecar (httpbin)
// with workload certificates from one mesh, and httpbin's app.
type mtlsPair struct {
	client, server *env
	app            string
}

func newPair(t *testing.T) *mtlsPair {
	t.Helper()
	m := newTestMesh(t)
	return &mtlsPair{
		client: startNode(t, proxy.Options{ServiceAccount: "sleep", Identity: m.identity(t, "sleep")}),
		server: startNode(t, proxy.Options{ServiceAccount: "httpbin", Identity: m.identity(t, "httpbin")}),
		app:    strings.TrimPrefix(echoApp(t, "httpbin").URL, "http://"),
	}
}

func TestMutualTLSBetweenSidecars(t *testing.T) {
	p := newPair(t)
	port := serverSide(t, p.server, "1", strictMode, false, p.app)
	inbound := fmt.Sprintf("127.0.0.1:%d", port)
	out := clientSide(t, p.client, "1", proxytest.CLA("", inbound), withTLS(proxytest.IstioMutual(sni, httpbinID)))

	r := get(t, client(), out, "httpbin:8000", "/", "X-Forwarded-Client-Cert", "By=spoofed")
	if r.code != 200 {
		t.Fatalf("code %d, body %q", r.code, r.body)
	}
	xfcc := echoed(t, r).Get("X-Forwarded-Client-Cert")
	// The client sidecar's outbound HCM sanitizes what the app sent (its
	// downstream is plaintext); the server appends the mTLS peer.
	if !strings.HasPrefix(xfcc, "By="+httpbinID+";Hash=") || !strings.HasSuffix(xfcc, `;Subject="";URI=`+sleepID) ||
		strings.Contains(xfcc, "spoofed") {
		t.Errorf("x-forwarded-client-cert %q", xfcc)
	}
	if got := p.client.stat("cluster.out.ssl.handshake"); got != 1 {
		t.Errorf("client handshakes %d, want 1", got)
	}
	if got := p.server.stat(fmt.Sprintf("listener.%s.ssl.handshake", inbound)); got != 1 {
		t.Errorf("server handshakes %d, want 1", got)
	}

	// STRICT: a plaintext client gets no filter chain and is disconnected.
	if code, _, err := plainGet(inbound); err == nil {
		t.Errorf("plaintext request to a STRICT port answered %d", code)
	}
	if got := p.server.stat(fmt.Sprintf("listener.%s.no_filter_chain_match", inbound)); got == 0 {
		t.Error("no_filter_chain_match not counted")
	}
}

func TestPermissiveServesMutualTLSAndPlaintext(t *testing.T) {
	p := newPair(t)
	port := serverSide(t, p.server, "1", permissiveMode, false, p.app)
	inbound := fmt.Sprintf("127.0.0.1:%d", port)
	out := clientSide(t, p.client, "1", proxytest.CLA("", inbound), withTLS(proxytest.IstioMutual(sni, httpbinID)))

	r := get(t, client(), out, "httpbin:8000", "/")
	if xfcc := echoed(t, r).Get("X-Forwarded-Client-Cert"); !strings.HasSuffix(xfcc, "URI="+sleepID) {
		t.Errorf("mTLS request: code %d, x-forwarded-client-cert %q", r.code, xfcc)
	}
	code, h, err := plainGet(inbound, "X-Forwarded-Client-Cert", "By=spoofed;URI=spiffe://cluster.local/ns/default/sa/admin")
	if err != nil || code != 200 {
		t.Fatalf("plaintext request: %d %v", code, err)
	}
	if v := h.Get("X-Forwarded-Client-Cert"); v != "" {
		t.Errorf("plaintext request kept x-forwarded-client-cert %q", v)
	}
}

func TestSecureNamingMismatchFailsHandshake(t *testing.T) {
	p := newPair(t)
	port := serverSide(t, p.server, "1", strictMode, false, p.app)
	inbound := fmt.Sprintf("127.0.0.1:%d", port)
	// The destination service may only run as "reviews"; httpbin answers.
	out := clientSide(t, p.client, "1", proxytest.CLA("", inbound),
		withTLS(proxytest.IstioMutual(sni, "spiffe://cluster.local/ns/default/sa/reviews")))

	r := get(t, client(), out, "httpbin:8000", "/")
	if r.code != 503 || !strings.Contains(r.body, "transport failure reason: TLS error") ||
		!strings.Contains(r.body, "subject alternative name mismatch") {
		t.Fatalf("got %d %q, want 503 with a TLS error reason", r.code, r.body)
	}
	if flags := r.header.Get("X-Envoy-Response-Flags"); flags != "" && !strings.Contains(flags, "UF") {
		t.Errorf("flags %q", flags)
	}
	if got := p.client.stat("cluster.out.ssl.fail_verify_san"); got == 0 {
		t.Error("ssl.fail_verify_san not counted")
	}
}

func TestAutoMutualTLSPerEndpoint(t *testing.T) {
	p := newPair(t)
	port := serverSide(t, p.server, "1", strictMode, false, p.app)
	plain := strings.TrimPrefix(echoApp(t, "legacy").URL, "http://")
	cla := proxytest.MarkTLSMode(proxytest.CLA("", fmt.Sprintf("127.0.0.1:%d", port), plain), 0, "istio")
	out := clientSide(t, p.client, "1", cla, func(c *clusterv3.Cluster) {
		proxytest.AutoMTLS(c, proxytest.IstioMutual(sni, httpbinID))
	})
	seen := map[string]bool{}
	for i := 0; i < 20 && len(seen) < 2; i++ {
		r := get(t, client(), out, "httpbin:8000", "/")
		if r.code != 200 {
			t.Fatalf("code %d %q", r.code, r.body)
		}
		backend := r.header.Get("X-Backend")
		seen[backend] = true
		mutual := strings.Contains(echoed(t, r).Get("X-Forwarded-Client-Cert"), sleepID)
		if mutual != (backend == "httpbin") {
			t.Errorf("backend %s reached with mTLS=%v", backend, mutual)
		}
	}
	if !seen["httpbin"] || !seen["legacy"] {
		t.Errorf("backends seen %v, want both", seen)
	}
}

func TestTCPOverMutualTLS(t *testing.T) {
	p := newPair(t)
	echo := echoTCP(t)
	port := serverSide(t, p.server, "1", strictMode, true, echo)
	inbound := fmt.Sprintf("127.0.0.1:%d", port)
	outPort := proxytest.FreePort(t)
	cl := proxytest.StaticCluster("out", inbound)
	cl.TransportSocket = proxytest.UpstreamSocket(proxytest.IstioMutual("outbound_.9000_._.tcp-echo.default.svc.cluster.local", httpbinID))
	p.client.apply(t, "1", proxytest.Resources{
		Clusters:  []types.Resource{cl},
		Listeners: []types.Resource{proxytest.TCPListener("tcp-out", "127.0.0.1", outPort, "out")},
	})
	got, err := dialEcho(fmt.Sprintf("127.0.0.1:%d", outPort), "hello over mTLS")
	if err != nil || got != "hello over mTLS" {
		t.Fatalf("echo %q, %v", got, err)
	}
	if _, err := dialEcho(inbound, "plain"); err == nil {
		t.Error("plaintext TCP to a STRICT port was echoed")
	}
}

// TestHTTP2OverMutualTLS: an HTTP/2 cluster offers "h2" with Istio's ALPN
// and speaks HTTP/2 to the server sidecar over mTLS.
func TestHTTP2OverMutualTLS(t *testing.T) {
	p := newPair(t)
	port := serverSide(t, p.server, "1", strictMode, false, p.app)
	ctx := proxytest.IstioMutual(sni, httpbinID)
	ctx.CommonTlsContext.AlpnProtocols = []string{"istio-peer-exchange", "istio", "h2"}
	out := clientSide(t, p.client, "1", proxytest.CLA("", fmt.Sprintf("127.0.0.1:%d", port)), func(c *clusterv3.Cluster) {
		proxytest.H2(c)
		withTLS(ctx)(c)
	})
	for range 3 {
		r := get(t, client(), out, "httpbin:8000", "/")
		if xfcc := echoed(t, r).Get("X-Forwarded-Client-Cert"); r.code != 200 || !strings.HasSuffix(xfcc, "URI="+sleepID) {
			t.Fatalf("code %d, x-forwarded-client-cert %q", r.code, xfcc)
		}
	}
	if got := p.client.stat("cluster.out.ssl.handshake"); got != 1 {
		t.Errorf("%d handshakes for 3 requests, want 1 (one HTTP/2 connection)", got)
	}
}
