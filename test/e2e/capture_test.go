//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Tests of `lateen demo --capture=iptables`: every sample runs in its own
// network namespace with Istio's iptables capture, and plain programs in
// it (curl, bash's /dev/tcp) go through the sidecar without knowing. They
// need root and skip elsewhere (see requireCapture).

var podnameRE = regexp.MustCompile(`"podname":"reviews-(v[0-9])-`)

// curlReviews runs curl n times in sleep's namespace against
// http://reviews:9080/reviews/0 and counts the answers by reviews version.
func (d *Demo) curlReviews(n int) (map[string]int, error) {
	script := fmt.Sprintf(`for i in $(seq %d); do curl -sf http://reviews:9080/reviews/0 || echo FAILED; echo; done`, n)
	out, err := d.exec("sleep", "bash", "-c", script)
	if err != nil {
		return nil, err
	}
	seen := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		m := podnameRE.FindStringSubmatch(line)
		if m == nil {
			return seen, fmt.Errorf("unexpected answer from reviews: %.200q", line)
		}
		seen[m[1]]++
	}
	return seen, nil
}

// TestCaptureExecCurlFollowsVirtualService: plain curl in sleep's namespace
// (`lateen exec sleep -- curl http://reviews:9080/reviews/0`) is captured:
// it rotates over the three versions, then only reaches v1 once a
// VirtualService says so; the sleep sidecar counts each request, in its
// /stats and its Istio metrics, and hands each connection to 0.0.0.0_9080
// exactly once (its own upstream connections are not captured again).
func TestCaptureExecCurlFollowsVirtualService(t *testing.T) {
	d := iptablesDemo(t)
	sleep := d.workload(t, "sleep")
	const handedOff = "listener.0.0.0.0:9080.downstream_cx_total"
	client := map[string]string{"reporter": "source", "source_workload": "sleep",
		"destination_service": "reviews.default.svc.cluster.local", "response_code": "200"}
	requests := promSum(d.promText(t, "sleep", "15090"), "istio_requests_total", client)
	before := d.stat(t, sleep, handedOff)
	seen, err := d.curlReviews(12)
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) < 2 {
		t.Errorf("12 requests answered by %v, want reviews to rotate over its versions", seen)
	}
	if after := d.stat(t, sleep, handedOff); after-before != 12 {
		t.Errorf("%s of the sleep sidecar went from %d to %d, want 12 more (one per curl)", handedOff, before, after)
	}
	d.metricRise(t, "sleep", "istio_requests_total", client, requests, 12)

	const v1Requests = "cluster.outbound|9080|v1|reviews.default.svc.cluster.local.upstream_rq_total"
	d.apply(t, writeYAML(t, "reviews-v1.yaml", reviewsTo("v1")))
	eventually(t, propagation, "curl from sleep to reach reviews v1 only", func() error {
		seen, err := d.curlReviews(6)
		if err == nil && seen["v1"] != 6 {
			err = fmt.Errorf("6 requests answered by %v", seen)
		}
		return err
	})
	v1Before := d.stat(t, sleep, v1Requests)
	if seen, err := d.curlReviews(5); err != nil || seen["v1"] != 5 {
		t.Errorf("5 requests answered by %v (%v), want reviews v1 only", seen, err)
	}
	if v1After := d.stat(t, sleep, v1Requests); v1After-v1Before != 5 {
		t.Errorf("%s of the sleep sidecar went from %d to %d, want 5 more", v1Requests, v1Before, v1After)
	}
}

// TestCaptureTCPEcho: bash's /dev/tcp to tcp-echo:9000 in sleep's
// namespace is proxied through the sidecar's tcp-echo listener.
func TestCaptureTCPEcho(t *testing.T) {
	d := iptablesDemo(t)
	sleep := d.workload(t, "sleep")
	const proxied = "tcp.outbound|9000||tcp-echo.default.svc.cluster.local.downstream_cx_total"
	before := d.stat(t, sleep, proxied)
	out, err := d.exec("sleep", "bash", "-c", `exec 3<>/dev/tcp/tcp-echo/9000 && echo hello >&3 && read -r line <&3 && echo "$line"`)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out); got != "one hello" && got != "two hello" {
		t.Errorf("tcp-echo answered %q, want \"one hello\" or \"two hello\"", got)
	}
	eventually(t, propagation, "the sleep sidecar to count the connection", func() error {
		if after := d.stat(t, sleep, proxied); after != before+1 {
			return fmt.Errorf("%s: %d before, %d after, want one more", proxied, before, after)
		}
		return nil
	})
}

// strictMesh is mesh-wide STRICT mutual TLS.
const strictMesh = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: default
  namespace: istio-system
spec:
  mtls:
    mode: STRICT
`

// TestCaptureInboundFromHost: a request from the host to httpbin's pod
// address is captured by its sidecar's virtualInbound (15006), which
// forwards it to the app; under STRICT mutual TLS the plaintext request
// is refused while sleep's, captured and sent over mTLS, still works.
func TestCaptureInboundFromHost(t *testing.T) {
	d := iptablesDemo(t)
	httpbin := d.workload(t, "httpbin-v1")
	const inbound = "listener.0.0.0.0:15006.downstream_cx_total"
	url := "http://" + net.JoinHostPort(httpbin.Address, "8000") + "/headers"
	before := d.stat(t, httpbin, inbound)
	c := newClient(nil)
	c.Transport.(*http.Transport).DisableKeepAlives = true
	body, err := get(c, url)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Headers map[string]string `json:"headers"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || doc.Headers["X-Request-Id"] == "" {
		t.Errorf("httpbin saw %s (%v), want a request id generated by its sidecar", body, err)
	}
	if after := d.stat(t, httpbin, inbound); after <= before {
		t.Errorf("%s of httpbin's sidecar: %d before, %d after, want a rise", inbound, before, after)
	}

	d.apply(t, writeYAML(t, "strict.yaml", strictMesh))
	eventually(t, propagation, "a plaintext request from the host to be refused", func() error {
		if _, err := get(c, url); err == nil {
			return fmt.Errorf("GET %s from the host succeeded", url)
		}
		return nil
	})
	out, err := d.exec("sleep", "curl", "-sf", "http://httpbin:8000/headers")
	if err != nil || !strings.Contains(out, "URI=spiffe://cluster.local/ns/default/sa/sleep") {
		t.Errorf("sleep → httpbin under STRICT: %v\n%s", err, out)
	}
}

// TestCaptureExcludedOutboundPort: a connection from sleep to an address
// no service has goes through its sidecar's PassthroughCluster; once the
// port is excluded from capture (traffic.sidecar.istio.io's
// excludeOutboundPorts, applied with `lateen-proxy iptables` in sleep's
// namespace) the same connection bypasses the sidecar.
func TestCaptureExcludedOutboundPort(t *testing.T) {
	d := iptablesDemo(t)
	sleep := d.workload(t, "sleep")
	var served atomic.Int64
	ln, err := net.Listen("tcp4", net.JoinHostPort(d.State.AddressBase, "0")) // the host's bridge address
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		served.Add(1)
		io.WriteString(w, "host\n")
	}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck
	t.Cleanup(func() { srv.Close() })
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	url := "http://" + ln.Addr().String() + "/"
	const passthrough = "cluster.PassthroughCluster.upstream_cx_total"

	check := func(wantProxied bool) {
		t.Helper()
		before, n := d.stat(t, sleep, passthrough), served.Load()
		if out, err := d.exec("sleep", "curl", "-sf", url); err != nil || strings.TrimSpace(out) != "host" {
			t.Fatalf("curl %s from sleep: %v %q", url, err, out)
		}
		if served.Load() != n+1 {
			t.Errorf("the host server served %d requests, want 1", served.Load()-n)
		}
		if proxied := d.stat(t, sleep, passthrough) > before; proxied != wantProxied {
			t.Errorf("through the sidecar's PassthroughCluster: %v, want %v", proxied, wantProxied)
		}
	}
	check(true)
	d.iptables(t, sleep.Name, "--exclude-outbound-ports", port)
	t.Cleanup(func() { d.iptables(t, sleep.Name) })
	check(false)
}

// iptables re-applies the capture rules in a workload's namespace with
// `lateen-proxy iptables` and flags (none: the demo's own rules).
func (d *Demo) iptables(t *testing.T, workload string, flags ...string) {
	t.Helper()
	if _, err := d.exec(workload, append([]string{lateenBin, "proxy", "iptables"}, flags...)...); err != nil {
		t.Fatal(err)
	}
}

// TestCaptureWalkthroughs runs the Bookinfo and httpbin walkthroughs of
// the traffic management tasks (written for the capture=none demo) on the
// capture=iptables demo, where the apps' own traffic is captured.
func TestCaptureWalkthroughs(t *testing.T) {
	requireCapture(t)
	for _, s := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"ProductPageThroughIngress", TestProductPageThroughIngress},
		{"RequestRouting", TestRequestRouting},
		{"FaultInjectionDelay", TestFaultInjectionDelay},
		{"FaultInjectionAbort", TestFaultInjectionAbort},
		{"TrafficShifting", TestTrafficShifting},
		{"RequestTimeouts", TestRequestTimeouts},
		{"CircuitBreaking", TestCircuitBreaking},
		{"Mirroring", TestMirroring},
		{"IstioStandardMetrics", TestIstioStandardMetrics},
	} {
		t.Run(s.name, func(t *testing.T) {
			withCapture(t, "iptables")
			s.run(t)
		})
	}
}

// TestCaptureDemoCrashCleanup: after `lateen demo --capture=iptables` is
// killed, `lateen demo --cleanup` removes its namespaces, veths, bridge,
// /etc/netns files and its own files, and nothing of it keeps running.
func TestCaptureDemoCrashCleanup(t *testing.T) {
	requireCapture(t)
	d, err := launch(t.TempDir(), demoOptions{Capture: "iptables"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			d.dumpLogs(t)
		}
	})
	_ = d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.exited
	out, err := lateen("demo", "--cleanup", "--state-dir", d.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("lateen demo --cleanup:\n%s", out)
	eventually(t, 30*time.Second, "the demo's processes to be gone", func() error {
		if left := d.leftovers(); len(left) > 0 {
			return fmt.Errorf("processes left: %v", left)
		}
		return nil
	})
	if err := d.leftNetwork(); err != nil {
		t.Error(err)
	}
	if err := d.leftFiles(); err != nil {
		t.Error(err)
	}
	if out, err := lateen("demo", "--cleanup", "--state-dir", d.StateDir); err != nil || !strings.Contains(out, "nothing to clean up") {
		t.Errorf("second --cleanup: %v\n%s", err, out)
	}
}
