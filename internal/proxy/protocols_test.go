package proxy_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"

	"github.com/lateenmesh/lateen/internal/proxy/proxytest"
)

// oneCluster serves every host and path from cluster "c" (backend h).
func oneCluster(t *testing.T, e *env, h http.Handler, h2 bool) string {
	t.Helper()
	srv := &http.Server{Handler: h, Protocols: new(http.Protocols)}
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	ln := listen(t)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	cl := proxytest.EDSCluster("c")
	if h2 {
		cl = proxytest.H2(cl)
	}
	port := proxytest.FreePort(t)
	e.apply(t, "v1", proxytest.Resources{
		Clusters:  []types.Resource{cl},
		Endpoints: []types.Resource{proxytest.CLA("c", ln.Addr().String())},
		Listeners: []types.Resource{proxytest.HTTPListener("l", "0.0.0.0", port, "r")},
		Routes:    []types.Resource{proxytest.RouteConfig("r", proxytest.VirtualHost("vh", []string{"*"}, proxytest.PrefixRoute("/", "c")))},
	})
	return fmt.Sprintf("127.0.0.1:%d", port)
}

func protoHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "upstream HTTP/%d", r.ProtoMajor)
	})
}

func TestHTTP1AndH2CDownstreamAndUpstream(t *testing.T) {
	for _, up := range []bool{false, true} {
		for _, down := range []bool{false, true} {
			t.Run(fmt.Sprintf("down_h2=%v/up_h2=%v", down, up), func(t *testing.T) {
				e := startProxy(t)
				addr := oneCluster(t, e, protoHandler(), up)
				c := client()
				if down {
					c = h2cClient()
				}
				r := get(t, c, addr, "h", "/")
				wantDown, wantUp := 1, "upstream HTTP/1"
				if down {
					wantDown = 2
				}
				if up {
					wantUp = "upstream HTTP/2"
				}
				if r.code != 200 || r.proto != wantDown || r.body != wantUp {
					t.Errorf("got %d HTTP/%d %q, want 200 HTTP/%d %q", r.code, r.proto, r.body, wantDown, wantUp)
				}
			})
		}
	}
}

func TestAbsoluteFormProxyRequestAndOriginalDst(t *testing.T) {
	e := startProxy(t)
	b := newBackend(t, "direct", false)
	port := proxytest.FreePort(t)
	e.apply(t, "v1", proxytest.Resources{
		Clusters:  []types.Resource{proxytest.OriginalDstCluster("PassthroughCluster", true)},
		Listeners: []types.Resource{proxytest.HTTPListener("virtualOutbound", "0.0.0.0", port, "http_proxy")},
		Routes: []types.Resource{proxytest.RouteConfig("http_proxy",
			proxytest.VirtualHost("allow_any", []string{"*"}, proxytest.PrefixRoute("/", "PassthroughCluster")))},
	})
	proxyURL, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", port))
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL)}}
	r := do(t, c, mustRequest(t, "GET", b.URL+"/some/path?x=1", nil))
	if r.code != 200 || r.body != "direct" {
		t.Fatalf("got %d %q", r.code, r.body)
	}
	if r.header.Get("X-Path") != "/some/path?x=1" || r.header.Get("X-Host") != b.hostPort() {
		t.Errorf("upstream saw path %q host %q; want origin-form and the URI's authority", r.header.Get("X-Path"), r.header.Get("X-Host"))
	}
}

func mustRequest(t *testing.T, method, u string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// patternReader yields n deterministic bytes without holding them.
type patternReader struct{ n, off int64 }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	n := min(int64(len(b)), p.n-p.off)
	for i := range n {
		b[i] = byte((p.off + i) % 251)
	}
	p.off += n
	return int(n), nil
}

func TestStreaming64MiBBothWays(t *testing.T) {
	const size = 64 << 20
	e := startProxy(t)
	addr := oneCluster(t, e, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			h := sha256.New()
			n, _ := io.Copy(h, r.Body)
			fmt.Fprintf(w, "%d %x", n, h.Sum(nil))
			return
		}
		_, _ = io.Copy(w, &patternReader{n: size})
	}), false)
	h := sha256.New()
	_, _ = io.Copy(h, &patternReader{n: size})
	want := fmt.Sprintf("%d %x", size, h.Sum(nil))

	req := mustRequest(t, "POST", "http://"+addr+"/up", &patternReader{n: size})
	req.ContentLength = -1 // chunked: nothing can buffer by length
	if r := do(t, client(), req); r.body != want {
		t.Errorf("upload: upstream got %q, want %q", r.body, want)
	}
	resp, err := client().Get("http://" + addr + "/down")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got := sha256.New()
	n, err := io.Copy(got, resp.Body)
	if err != nil || n != size || !bytes.Equal(got.Sum(nil), h.Sum(nil)) {
		t.Errorf("download: %d bytes, err %v", n, err)
	}
}

func TestGRPCStyleTrailersOverH2C(t *testing.T) {
	e := startProxy(t)
	addr := oneCluster(t, e, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "Grpc-Status, Grpc-Message")
		w.Header().Set("Content-Type", "application/grpc")
		_, _ = w.Write([]byte("\x00\x00\x00\x00\x02hi"))
		w.Header().Set("Grpc-Status", "0")
		w.Header().Set("Grpc-Message", "ok")
	}), true)
	req := mustRequest(t, "POST", "http://"+addr+"/pkg.Svc/Method", strings.NewReader("\x00\x00\x00\x00\x00"))
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("TE", "trailers")
	r := do(t, h2cClient(), req)
	if r.code != 200 || r.proto != 2 || r.trailer.Get("Grpc-Status") != "0" || r.trailer.Get("Grpc-Message") != "ok" {
		t.Errorf("got %d HTTP/%d trailers %v", r.code, r.proto, r.trailer)
	}
}

func TestWebSocketUpgrade(t *testing.T) {
	e := startProxy(t)
	addr := oneCluster(t, e, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" {
			http.Error(w, "want upgrade", 400)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprint(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		line, _ := brw.ReadString('\n')
		fmt.Fprintf(brw, "echo: %s", line)
		brw.Flush()
	}), false)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprint(conn, "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 {
		t.Fatalf("status %d, want 101", resp.StatusCode)
	}
	fmt.Fprint(conn, "hello\n")
	line, err := br.ReadString('\n')
	if err != nil || line != "echo: hello\n" {
		t.Errorf("after upgrade got %q, %v", line, err)
	}
}

func TestTCPProxyEchoWithHalfClose(t *testing.T) {
	e := startProxy(t)
	ln := listen(t)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c) // echo until the client half-closes
			}()
		}
	}()
	port := proxytest.FreePort(t)
	e.apply(t, "v1", proxytest.Resources{
		Clusters:  []types.Resource{proxytest.StaticCluster("inbound|9000||", ln.Addr().String())},
		Listeners: []types.Resource{proxytest.TCPListener("127.0.0.1_9000", "127.0.0.1", port, "inbound|9000||")},
	})
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	msg := strings.Repeat("tcp-echo ", 10000)
	go func() {
		_, _ = io.WriteString(conn, msg)
		_ = conn.(*net.TCPConn).CloseWrite()
	}()
	got, err := io.ReadAll(conn)
	if err != nil || string(got) != msg {
		t.Errorf("echo: %d bytes (want %d), err %v", len(got), len(msg), err)
	}
	proxytest.Eventually(t, "tcp stats", func() bool {
		return e.stat("tcp.127.0.0.1_9000.downstream_cx_rx_bytes_total") == int64(len(msg))
	})
}
