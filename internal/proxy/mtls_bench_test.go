package proxy_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"

	"github.com/lateenmesh/lateen/internal/proxy"
	"github.com/lateenmesh/lateen/internal/proxy/proxytest"
)

// cpuTime is the CPU (user + system) this process used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSidecarToSidecar sends HTTP requests, one at a time, from a
// client through two real proxies (client sidecar → server sidecar →
// app) and reports the CPU time of the whole process per request
// (cpu-µs/op: both proxies, the app and the client). Cases: plaintext
// and mTLS between the proxies, with kept-alive upstream connections, and
// with a new upstream connection every 10 requests (for mTLS: a resumed
// TLS session, %resumed).
//
//	go test ./internal/proxy -run '^$' -bench SidecarToSidecar -benchtime 5000x
func BenchmarkSidecarToSidecar(b *testing.B) {
	for _, bc := range []struct {
		name  string
		mode  inboundMode
		tweak func(*clusterv3.Cluster)
	}{
		{"plaintext", plaintextMode, func(*clusterv3.Cluster) {}},
		{"mtls", strictMode, withTLS(proxytest.IstioMutual(sni, httpbinID))},
		{"plaintext-reconnect-every-10", plaintextMode, maxRequestsPerConnection(10)},
		{"mtls-reconnect-every-10", strictMode, func(c *clusterv3.Cluster) {
			maxRequestsPerConnection(10)(c)
			withTLS(proxytest.IstioMutual(sni, httpbinID))(c)
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			m := newTestMesh(b)
			client := startNode(b, proxy.Options{ServiceAccount: "sleep", Identity: m.identity(b, "sleep")})
			server := startNode(b, proxy.Options{ServiceAccount: "httpbin", Identity: m.identity(b, "httpbin")})
			app := strings.TrimPrefix(echoApp(b, "httpbin").URL, "http://")
			port := serverSide(b, server, "1", bc.mode, false, app)
			out := clientSide(b, client, "1", proxytest.CLA("", fmt.Sprintf("127.0.0.1:%d", port)), bc.tweak)
			c := &http.Client{Timeout: 10 * time.Second}
			send := func() {
				resp, err := c.Get("http://" + out + "/")
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
			for range 100 { // warm up: connections, sessions
				send()
			}
			b.ResetTimer()
			start := cpuTime(b)
			for range b.N {
				send()
			}
			cpu := cpuTime(b) - start
			b.StopTimer()
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
			if hs := client.stat("cluster.out.ssl.handshake"); hs > 0 {
				b.ReportMetric(float64(client.stat("cluster.out.ssl.session_reused"))/float64(hs)*100, "%resumed")
			}
		})
	}
}
