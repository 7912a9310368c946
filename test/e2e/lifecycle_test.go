//go:build linux

package e2e

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lateenmesh/lateen/internal/demo"
)

// Foundation 5: the demo prints `lateen demo: ready` once the mesh serves,
// and SIGTERM stops every process it started and removes its files.
func TestDemoReadyAndStop(t *testing.T) {
	d := startDemo(t, demoOptions{})
	t.Logf("lateen demo: ready after %s", d.ReadyAfter.Round(time.Millisecond))

	samples := 0
	for _, w := range d.Workloads {
		if len(w.Sample) > 0 {
			samples++
		}
	}
	if want := 1 + len(d.Workloads) + samples; len(d.children) != want {
		t.Errorf("demo runs %d processes, want %d (pilot, %d proxies, %d apps): %v",
			len(d.children), want, len(d.Workloads), samples, d.children)
	}
	for _, f := range []string{demo.StateFile, demo.WorkloadsFile, "logs/pilot.log"} {
		if _, err := os.Stat(filepath.Join(d.StateDir, f)); err != nil {
			t.Errorf("state directory: %v", err)
		}
	}
	if _, err := d.productPage(d.client); err != nil {
		t.Errorf("ready, but the ingress does not serve the Bookinfo page: %v", err)
	}

	start := time.Now()
	if err := d.stop(); err != nil {
		t.Fatal(err) // stop checks that no process and no file is left
	}
	t.Logf("lateen demo: stopped %s after SIGTERM", time.Since(start).Round(time.Millisecond))
	for _, addr := range []string{d.State.PilotXDS, d.State.PilotHTTP, d.Ingress[len("http://"):]} {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("%s still taken after the demo stopped: %v", addr, err)
			continue
		}
		l.Close()
	}
}
