//go:build linux

package capture

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// inNetns runs fn on an OS thread moved into the named network namespace,
// so the sockets fn creates live there. The thread is never unlocked: it
// exits with its goroutine instead of returning to the scheduler.
func inNetns(name string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open("/run/netns/" + name)
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", name, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// accepted is one connection a test listener received: which listener,
// the tag the client wrote, and where the client was connecting to.
type accepted struct {
	listener, tag, dst string
}

// listenIn opens a TCP listener in a namespace and reports each connection
// on out until the test ends.
func listenIn(t *testing.T, ns, label, addr string, out chan<- accepted) {
	t.Helper()
	var ln net.Listener
	if err := inNetns(ns, func() (err error) { ln, err = net.Listen("tcp4", addr); return err }); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
			tag, _ := io.ReadAll(c)
			out <- accepted{listener: label, tag: string(tag), dst: originalDst(c.(*net.TCPConn))}
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
}

// originalDst returns the address the client connected to before any
// REDIRECT (SO_ORIGINAL_DST), or the local address when there is none.
func originalDst(c *net.TCPConn) string {
	const soOriginalDst = 80
	raw, err := c.SyscallConn()
	if err != nil {
		return c.LocalAddr().String()
	}
	dst := c.LocalAddr().String()
	_ = raw.Control(func(fd uintptr) {
		m, err := syscall.GetsockoptIPv6Mreq(int(fd), syscall.IPPROTO_IP, soOriginalDst)
		if err == nil { // a sockaddr_in: family, port (big endian), address
			b := m.Multiaddr
			dst = fmt.Sprintf("%d.%d.%d.%d:%d", b[4], b[5], b[6], b[7], int(b[2])<<8|int(b[3]))
		}
	})
	return dst
}

// TestNetnsRedirect checks the rules with real connections: a pod namespace
// (10.1.2.1, the rules applied, "proxy" listeners on 15001/15006/15021 and
// an "app" on 9080) linked by a veth to a peer namespace (10.1.2.2).
func TestNetnsRedirect(t *testing.T) {
	requireNetns(t)
	pod, pr := newNetns(t)
	peer, qr := newNetns(t)
	for _, c := range [][]string{{"link", "set", "lo", "up"},
		{"link", "add", "vpod", "type", "veth", "peer", "name", "vpeer"}, {"link", "set", "vpeer", "netns", peer},
		{"addr", "add", "10.1.2.1/24", "dev", "vpod"}, {"link", "set", "vpod", "up"}} {
		mustRun(t, pr, "ip", c...)
	}
	for _, c := range [][]string{{"link", "set", "lo", "up"}, {"addr", "add", "10.1.2.2/24", "dev", "vpeer"},
		{"link", "set", "vpeer", "up"}} {
		mustRun(t, qr, "ip", c...)
	}
	b, err := DetectBackend(ctxFor(t), pr, "")
	if err != nil {
		t.Fatal(err)
	}
	o := Defaults()
	o.ExcludeOutboundPorts = PortList{Ports: []uint16{25}}
	if err := (Setup{Runner: pr, Backend: b}).Apply(ctxFor(t), o); err != nil {
		t.Fatal(err)
	}

	got := make(chan accepted, 16)
	for _, l := range []struct{ ns, label, addr string }{
		{pod, "proxy outbound", "0.0.0.0:15001"}, {pod, "proxy inbound", "0.0.0.0:15006"},
		{pod, "proxy readiness", "0.0.0.0:15021"}, {pod, "app", "10.1.2.1:9080"},
		{peer, "peer 80", "0.0.0.0:80"}, {peer, "peer 25", "0.0.0.0:25"},
	} {
		listenIn(t, l.ns, l.label, l.addr, got)
	}
	setpriv, bashErr := exec.LookPath("setpriv")
	if _, err := exec.LookPath("bash"); err != nil {
		bashErr = err
	}
	cases := []struct {
		name, ns, to, asUID, listener, dst string
	}{
		{"inbound is captured", peer, "10.1.2.1:9080", "", "proxy inbound", "10.1.2.1:9080"},
		{"proxy ports are not captured", peer, "10.1.2.1:15021", "", "proxy readiness", "10.1.2.1:15021"},
		{"outbound is captured", pod, "10.1.2.2:80", "", "proxy outbound", "10.1.2.2:80"},
		{"excluded outbound port", pod, "10.1.2.2:25", "", "peer 25", "10.1.2.2:25"},
		{"app calling its own pod IP", pod, "10.1.2.1:9080", "", "app", "10.1.2.1:9080"},
		{"proxy traffic goes out", pod, "10.1.2.2:80", "1337", "peer 80", "10.1.2.2:80"},
		{"proxy calling the pod IP goes inbound", pod, "10.1.2.1:9080", "1337", "proxy inbound", "10.1.2.1:9080"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tag := fmt.Sprint("conn-", i)
			if tc.asUID == "" {
				err = dialIn(tc.ns, tc.to, tag)
			} else if bashErr != nil {
				t.Skipf("skipping: needs setpriv and bash to connect as UID %s: %v", tc.asUID, bashErr)
			} else {
				err = dialAs(ctxFor(t), pr, setpriv, tc.asUID, tc.to, tag)
			}
			if err != nil {
				t.Fatal(err)
			}
			select {
			case a := <-got:
				if a != (accepted{listener: tc.listener, tag: tag, dst: tc.dst}) {
					t.Errorf("connection to %s reached %+v, want listener %q, tag %q, destination %s",
						tc.to, a, tc.listener, tag, tc.dst)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("no listener got the connection to %s", tc.to)
			}
		})
	}
}

// dialIn connects from a namespace and writes tag.
func dialIn(ns, to, tag string) error {
	return inNetns(ns, func() error {
		c, err := net.DialTimeout("tcp4", to, 30*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = io.WriteString(c, tag)
		return err
	})
}

// dialAs connects from the pod namespace as another user (the proxy's UID)
// with bash's /dev/tcp, and writes tag.
func dialAs(ctx context.Context, r ExecRunner, setpriv, uid, to, tag string) error {
	host, port, err := net.SplitHostPort(to)
	if err != nil {
		return err
	}
	_, err = r.Run(ctx, setpriv, []string{"--reuid=" + uid, "--regid=" + uid, "--clear-groups",
		"bash", "-c", fmt.Sprintf("printf %%s %s > /dev/tcp/%s/%s", tag, host, port)}, "")
	if err != nil {
		return errors.Join(errors.New("connecting as uid "+uid), err)
	}
	return nil
}
