//go:build linux

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lateenmesh/lateen/internal/demo"
)

// The harness's side of capture=iptables: what a test needs to act from
// inside a workload's network namespace, and the checks that the demo
// left no network behind.

// requireCapture skips a test that needs a capture=iptables demo where
// one cannot run.
func requireCapture(t *testing.T) {
	t.Helper()
	skipShort(t)
	if os.Geteuid() != 0 {
		t.Skip("capture=iptables end-to-end test: needs root (network namespaces and iptables rules); CI runs it as root")
	}
	for _, p := range []string{"ip", "iptables", "setpriv", "bash", "curl"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("capture=iptables end-to-end test: %s not installed (Debian: iproute2, iptables, util-linux, bash, curl)", p)
		}
	}
}

// iptablesDemo returns the shared capture=iptables demo for t.
func iptablesDemo(t *testing.T) *Demo {
	t.Helper()
	requireCapture(t)
	withCapture(t, "iptables")
	return sharedDemo(t)
}

// netnsClient returns an HTTP client whose connections are opened inside
// workload w's network namespace, as its application's are: the capture
// rules send them through its sidecar. Names resolve from the
// namespace's /etc/hosts.
func (d *Demo) netnsClient(t *testing.T, w *demo.Workload) *http.Client {
	t.Helper()
	names, err := namespaceHosts(w.Netns)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 8,
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			if ip, ok := names[host]; ok {
				host = ip
			}
			return dialInNetns(ctx, w.Netns, net.JoinHostPort(host, port))
		}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Timeout: 15 * time.Second, Transport: tr}
}

// namespaceHosts reads the /etc/hosts the demo wrote for a namespace.
func namespaceHosts(ns string) (map[string]string, error) {
	f, err := os.Open(filepath.Join(demo.EtcNetns, ns, "hosts"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		for _, n := range fields[1:] {
			names[n] = fields[0]
		}
	}
	return names, sc.Err()
}

// dialInNetns connects from a network namespace: the socket is made on a
// thread moved into it, then moved back (it may be the process's main
// thread, which `ip netns pids` reports: the demo kills what it lists).
// If the move back fails the thread stays locked and exits with its
// goroutine instead of returning to the scheduler.
func dialInNetns(ctx context.Context, ns, addr string) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		c, err := inThreadNetns(ns, func() (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "tcp4", addr)
		})
		done <- result{c, err}
	}()
	r := <-done
	return r.c, r.err
}

// inThreadNetns runs fn with the locked calling thread in namespace ns and
// unlocks the thread once it is back in its own.
func inThreadNetns(ns string, fn func() (net.Conn, error)) (net.Conn, error) {
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return nil, err
	}
	defer self.Close()
	target, err := os.Open("/run/netns/" + ns)
	if err != nil {
		return nil, err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		return nil, fmt.Errorf("setns %s: %w", ns, err)
	}
	c, err := fn()
	if unix.Setns(int(self.Fd()), unix.CLONE_NEWNET) == nil {
		runtime.UnlockOSThread()
	}
	return c, err
}

// leftNetwork reports what a capture=iptables demo left of its network:
// namespaces, veths, the bridge, /etc/netns files.
func (d *Demo) leftNetwork() error {
	if d.State == nil || d.State.Network == nil {
		return nil
	}
	n := d.State.Network
	var left []string
	netns, _ := exec.Command("ip", "netns", "list").Output()
	for _, line := range strings.Split(string(netns), "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], "lateen-"+n.ID+"-") {
			left = append(left, "network namespace "+f[0])
		}
	}
	links, _ := exec.Command("ip", "-o", "link", "show").Output()
	for _, line := range strings.Split(string(links), "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[1], "lt"+n.ID) {
			left = append(left, "link "+strings.TrimSuffix(f[1], ":"))
		}
	}
	files, _ := filepath.Glob(filepath.Join(demo.EtcNetns, "lateen-"+n.ID+"-*"))
	left = append(left, files...)
	if len(left) > 0 {
		return fmt.Errorf("network of the demo left after it exited: %v", left)
	}
	return nil
}
