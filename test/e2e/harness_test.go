//go:build linux

package e2e

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lateenmesh/lateen/internal/demo"
)

// readyTimeout bounds the wait for `lateen demo: ready` (the machine may be
// a shared 2-core box) and stopTimeout the wait for the demo to exit after
// SIGTERM (it gives each child 5 s, then pilot 5 s).
const (
	readyTimeout = 90 * time.Second
	stopTimeout  = 30 * time.Second
)

// lateenBin is the lateen binary TestMain builds once for every test.
var lateenBin string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	flag.Parse()
	dir, err := os.MkdirTemp("", "lateen-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if !testing.Short() {
		lateenBin = filepath.Join(dir, "lateen")
		if err := buildLateen(lateenBin); err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
	}
	code := m.Run()
	if err := stopShared(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: shared demo:", err)
		code = max(code, 1)
	}
	return code
}

// buildLateen builds ./cmd/lateen without the race detector: the suite
// tests the binary users run, and a plain build is much faster.
func buildLateen(out string) error {
	cmd := exec.Command("go", "build", "-o", out, "github.com/lateenmesh/lateen/cmd/lateen")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/lateen: %w", err)
	}
	return nil
}

// Demo is one running `lateen demo`, started by the test with its own
// address block, ingress port, state and config directories.
type Demo struct {
	Root      string // holds config/, state/ and logs/ (hard links to the demo's logs)
	ConfigDir string
	StateDir  string
	State     *demo.State
	Workloads []*demo.Workload
	// Ingress is the ingress gateway's base URL (http://127.0.0.1:PORT).
	Ingress string
	// ReadyAfter is the time from start to `lateen demo: ready`.
	ReadyAfter time.Duration

	cmd      *exec.Cmd
	stdout   *outputLog
	stderr   *outputLog
	exited   chan struct{}
	exitErr  error
	children []proc
	// baseline is the config directory as the demo wrote it, and
	// baseObjects the objects pilot accepted from it.
	baseline    map[string][]byte
	baseObjects []string
	client      *http.Client

	stopOnce sync.Once
	stopErr  error
}

// demoOptions change how a test's own demo runs.
type demoOptions struct {
	// Args are extra flags for `lateen demo` (the harness sets the
	// address base, ingress port, state and config directories).
	Args []string
	// Capture is the demo's --capture: "none" (the default) or
	// "iptables" (see capture_test.go).
	Capture string
}

// startDemo starts a demo owned by t and stops it when t ends, checking
// that every process is gone and every file the demo created removed.
func startDemo(t *testing.T, opts demoOptions) *Demo {
	t.Helper()
	skipShort(t)
	d, err := launch(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			d.dumpLogs(t)
		}
		if err := d.stop(); err != nil {
			t.Error(err)
		}
	})
	return d
}

func skipShort(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: skipped in -short mode")
	}
}

// launch starts a demo under root and waits until it is ready, retrying
// with another address block and port when one was taken meanwhile.
func launch(root string, opts demoOptions) (*Demo, error) {
	var err error
	for range 3 {
		var d *Demo
		d, err = launchOnce(root, opts)
		if err == nil {
			return d, nil
		}
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, err
}

func launchOnce(root string, opts demoOptions) (*Demo, error) {
	root, err := os.MkdirTemp(root, "demo-")
	if err != nil {
		return nil, err
	}
	d := &Demo{Root: root, ConfigDir: filepath.Join(root, "config"), StateDir: filepath.Join(root, "state"),
		stdout: newOutputLog("lateen demo: ready"), stderr: newOutputLog(""), exited: make(chan struct{}),
		client: newClient(nil)}
	for _, dir := range []string{d.ConfigDir, d.StateDir, d.logsDir()} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	d.Ingress = "http://127.0.0.1:" + strconv.Itoa(port)
	args, err := captureArgs(opts)
	if err != nil {
		return nil, err
	}
	if err := d.start(port, append(args, opts.Args...)); err != nil {
		return nil, err
	}
	if err := d.waitReady(); err != nil {
		_ = d.stop()
		return nil, err
	}
	if err := d.record(); err != nil {
		_ = d.stop()
		return nil, err
	}
	return d, nil
}

func (d *Demo) start(port int, extra []string) error {
	args := []string{"demo", "--ingress-port", strconv.Itoa(port), "--state-dir", d.StateDir, "--config-dir", d.ConfigDir}
	d.cmd = exec.Command(lateenBin, append(args, extra...)...)
	d.cmd.Stdout, d.cmd.Stderr = d.stdout, d.stderr
	// If this test binary dies, the kernel kills the demo, which takes its
	// children with it (they have the same setting).
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := d.cmd.Start(); err != nil {
		return fmt.Errorf("start lateen demo: %w", err)
	}
	go func() {
		d.exitErr = d.cmd.Wait()
		close(d.exited)
	}()
	return nil
}

// waitReady waits for the ready line, linking the demo's log files as they
// appear so that they can be read even after the demo removed them.
func (d *Demo) waitReady() error {
	start := time.Now()
	deadline := time.NewTimer(readyTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-d.stdout.matched:
			d.ReadyAfter = time.Since(start)
			d.linkLogs()
			return nil
		case <-d.exited:
			return fmt.Errorf("lateen demo exited before ready: %v\n%s", d.exitErr, d.report())
		case <-deadline.C:
			d.linkLogs()
			return fmt.Errorf("lateen demo not ready after %s\n%s", readyTimeout, d.report())
		case <-tick.C:
			d.linkLogs()
		}
	}
}

// record reads the demo's state and notes its children and configuration,
// against which stop and restoreConfig check.
func (d *Demo) record() error {
	var err error
	if d.State, err = demo.ReadState(d.StateDir); err != nil {
		return err
	}
	if d.Workloads, err = demo.ReadWorkloads(d.StateDir); err != nil {
		return err
	}
	if d.children, err = childrenOf(d.cmd.Process.Pid); err != nil {
		return err
	}
	if d.baseline, err = readDir(d.ConfigDir); err != nil {
		return err
	}
	cz, err := d.configz()
	if err != nil {
		return err
	}
	d.baseObjects = cz.acceptedKeys()
	return nil
}

// stop sends SIGTERM, waits for the demo to exit and reports an unclean
// exit, any process left and any file left; it is safe to call twice.
func (d *Demo) stop() error {
	d.stopOnce.Do(func() { d.stopErr = d.terminate() })
	return d.stopErr
}

func (d *Demo) terminate() error {
	d.client.CloseIdleConnections()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(stopTimeout):
		_ = d.cmd.Process.Kill()
		<-d.exited
		killAll(d.children)
		return fmt.Errorf("lateen demo did not exit within %s of SIGTERM\n%s", stopTimeout, d.report())
	}
	var errs []error
	if d.exitErr != nil {
		errs = append(errs, fmt.Errorf("lateen demo exited with %v\n%s", d.exitErr, d.report()))
	}
	if left := d.leftovers(); len(left) > 0 {
		killAll(left)
		errs = append(errs, fmt.Errorf("processes left after the demo exited: %v", left))
	}
	if err := d.leftNetwork(); err != nil {
		errs = append(errs, err)
	}
	if err := d.leftFiles(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// keptState is what the demo keeps in its state directory on purpose: the
// mesh's root CA, reused by the next run (see internal/demo/identity.go).
var keptState = map[string]bool{"ca": true}

// leftFiles reports what the demo created and did not remove: its state
// files, its logs and the YAML it wrote into the config directory.
func (d *Demo) leftFiles() error {
	var left []string
	entries, err := os.ReadDir(d.StateDir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !keptState[e.Name()] {
			left = append(left, filepath.Join(d.StateDir, e.Name()))
		}
	}
	for name := range d.baseline {
		if _, err := os.Stat(filepath.Join(d.ConfigDir, name)); err == nil {
			left = append(left, filepath.Join(d.ConfigDir, name))
		}
	}
	if len(left) > 0 {
		return fmt.Errorf("files left after the demo exited: %v", left)
	}
	return nil
}

// captureArgs are the demo's capture flags: --capture=none with its own
// loopback block (a free --address-base), or --capture=iptables (the demo
// picks its private network).
func captureArgs(opts demoOptions) ([]string, error) {
	if opts.Capture == "iptables" {
		return []string{"--capture=iptables"}, nil
	}
	base, err := pickAddressBase()
	if err != nil {
		return nil, err
	}
	return []string{"--capture=none", "--address-base", base.String()}, nil
}

// pickAddressBase returns a 127.N.0.1 whose pilot xDS ports (plaintext
// and TLS) are free, scanning N from a random start so that parallel runs
// pick different blocks.
func pickAddressBase() (netip.Addr, error) {
	const lo, hi = 20, 250
	start := lo + rand.IntN(hi-lo)
	for i := range hi - lo {
		n := lo + (start-lo+i)%(hi-lo)
		base := netip.AddrFrom4([4]byte{127, byte(n), 0, 1})
		if portFree(base, "15010") && portFree(base, "15012") {
			return base, nil
		}
	}
	return netip.Addr{}, errors.New("no free 127.N.0.1 address block")
}

func portFree(addr netip.Addr, port string) bool {
	l, err := net.Listen("tcp", net.JoinHostPort(addr.String(), port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func readDir(dir string) (map[string][]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out[e.Name()] = data
	}
	return out, nil
}
