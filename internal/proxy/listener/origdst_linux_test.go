//go:build linux

package listener

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestSOOriginalDstAfterRedirect redirects connections with the real
// iptables in a scratch network namespace (root only) and checks that the
// original destination is read back, for IPv4 and IPv6.
func TestSOOriginalDstAfterRedirect(t *testing.T) {
	ns := scratchNetns(t)
	tests := []struct {
		name, tables, listen, dst string
	}{
		{"IPv4", "iptables", "0.0.0.0:15001", "10.1.1.1:80"},
		{"IPv6", "ip6tables", "[::]:15001", "[fd00::1]:80"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			host, port, _ := net.SplitHostPort(tc.dst)
			run(t, "ip", "netns", "exec", ns, tc.tables, "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-d", host,
				"--dport", port, "-j", "REDIRECT", "--to-ports", "15001")
			var ln net.Listener
			inNetns(t, ns, func() (err error) { ln, err = listen(tc.listen); return err })
			defer ln.Close()
			inNetns(t, ns, func() error {
				c, err := net.DialTimeout("tcp", tc.dst, 10*time.Second)
				if err == nil {
					c.Close()
				}
				return err
			})
			c, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			got, err := SOOriginalDst(c)
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tc.dst {
				t.Errorf("original destination %s, want %s (local address %s)", got, tc.dst, c.LocalAddr())
			}
		})
	}
}

func scratchNetns(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root to create a network namespace")
	}
	for _, p := range []string{"ip", "iptables", "ip6tables"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("skipping: %s not installed (Debian: apt-get install iproute2 iptables)", p)
		}
	}
	ns := fmt.Sprintf("lateen-origdst-%08x", rand.Uint32())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("skipping: ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { run(t, "ip", "netns", "del", ns) })
	for _, c := range [][]string{{"link", "set", "lo", "up"}, {"link", "add", "d0", "type", "veth", "peer", "name", "d1"},
		{"addr", "add", "10.1.1.2/24", "dev", "d0"}, {"addr", "add", "fd00::2/64", "dev", "d0", "nodad"},
		{"link", "set", "d0", "up"}, {"link", "set", "d1", "up"}} {
		run(t, append([]string{"ip", "-n", ns}, c...)...)
	}
	return ns
}

func run(t *testing.T, argv ...string) {
	t.Helper()
	if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%v: %v: %s", argv, err, out)
	}
}

// inNetns runs fn on a thread moved into the namespace, then moved back
// (it may be the main thread); if that fails the thread stays locked and
// exits with its goroutine.
func inNetns(t *testing.T, ns string, fn func() error) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		self, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- err
			return
		}
		defer self.Close()
		f, err := os.Open("/run/netns/" + ns)
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		err = fn()
		if unix.Setns(int(self.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
