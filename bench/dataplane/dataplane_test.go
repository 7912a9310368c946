package dataplane

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lateenmesh/lateen/bench/benchtest"
)

func TestMain(m *testing.M) { benchtest.TestMain(m) }

// TestSmoke runs the harness at a tiny size: every topology that can run
// here starts, takes load of every kind and is measured; the result files
// are written. It asserts that the harness works, not how fast anything is.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := Run(ctx, Options{
		Binaries: benchtest.Binaries(os.Args[0]), WorkDir: t.TempDir(), OutDir: out,
		Rate: 200, Conns: 4, Warmup: 100 * time.Millisecond,
		Window: 300 * time.Millisecond, Rounds: 1, SatWindow: 300 * time.Millisecond, SatRounds: 1,
		GRPCWindow: 300 * time.Millisecond, GRPCRounds: 1, Command: "go test",
	})
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]TopologyResult{}
	for _, tr := range res.Topologies {
		status[tr.Name] = tr
		t.Logf("%s: %s %s", tr.Name, tr.Status, tr.Reason)
	}
	// nginx and HAProxy run when installed (bench/install-peers.sh).
	for _, name := range []string{"direct", "lateen", "lateen-mtls", "go-reverseproxy"} {
		tr := status[name]
		if tr.Status != "ran" {
			t.Fatalf("%s: %s: %s", name, tr.Status, tr.Reason)
		}
		for _, ph := range []*Phase{tr.HTTP, tr.Saturation, tr.GRPC} {
			if ph == nil || ph.Requests == 0 || ph.Errors != 0 || ph.Error != "" {
				t.Fatalf("%s: phase %+v", name, ph)
			}
		}
		if name != "direct" && (len(tr.Proxies) != 2 || tr.HTTP.Added == nil || tr.Proxies[0].RSSPeakMB <= 0) {
			t.Fatalf("%s: proxies %+v, added %+v", name, tr.Proxies, tr.HTTP.Added)
		}
	}
	checkFiles(t, out)
	if err := Render(out); err != nil {
		t.Fatalf("render from JSON: %v", err)
	}
	checkFiles(t, out)
}

func checkFiles(t *testing.T, dir string) {
	t.Helper()
	for _, f := range []string{LatencyChart, GRPCChart, CPUChart, MemoryChart} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Fatalf("%s: not a PNG (%v)", f, err)
		}
	}
	page, err := os.ReadFile(filepath.Join(dir, PageFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Preliminary run", "## Targets", "| lateen |", "go-reverseproxy"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("%s lacks %q", PageFile, want)
		}
	}
	var back Result
	data, err := os.ReadFile(filepath.Join(dir, JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("%s: %v", JSONFile, err)
	}
	if len(back.Topologies) == 0 || !back.Preliminary {
		t.Fatalf("%s: %d topologies, preliminary %v", JSONFile, len(back.Topologies), back.Preliminary)
	}
}
