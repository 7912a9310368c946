package controlplane

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

// TestSmoke runs the harness at a tiny size against a real pilot process:
// every change reaches every proxy that sees it and no other.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := Run(ctx, Options{
		Binaries: benchtest.Binaries(os.Args[0]), WorkDir: t.TempDir(), OutDir: out,
		Proxies: []int{4, 8}, Services: 8, Endpoints: 2, Namespaces: 4, Scoped: 2, Reps: 1,
		Timeout: time.Minute, Command: "go test",
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Scales) != 2 {
		t.Fatalf("%d scales", len(res.Scales))
	}
	for _, sc := range res.Scales {
		if sc.Error != "" || len(sc.Changes) != len(changeKinds) || sc.PilotRSSMB <= 0 {
			t.Fatalf("scale %d: %+v", sc.Proxies, sc)
		}
		for _, c := range sc.Changes {
			// Namespaces 0 (scoped) and 2, 3 (unscoped) of 4 see the change.
			if want := sc.Proxies * 3 / 4; c.Affected != want || c.Missing != 0 || c.NACKs != 0 || c.Leaked != 0 {
				t.Errorf("%d proxies, %s: affected %d (want %d), missing %d, nacks %d, leaked %d",
					sc.Proxies, c.Kind, c.Affected, want, c.Missing, c.NACKs, c.Leaked)
			}
			if c.P99 <= 0 || c.Bytes <= 0 || c.Translations <= 0 {
				t.Errorf("%d proxies, %s: %+v", sc.Proxies, c.Kind, c)
			}
		}
	}
	for _, f := range []string{ChartFile, PilotChart} {
		b, err := os.ReadFile(filepath.Join(out, f))
		if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Fatalf("%s: not a PNG (%v)", f, err)
		}
	}
	page, err := os.ReadFile(filepath.Join(out, PageFile))
	if err != nil || !strings.Contains(string(page), "## Targets") || !strings.Contains(string(page), "Preliminary run") {
		t.Fatalf("%s: %v\n%s", PageFile, err, page)
	}
	var back Result
	data, _ := os.ReadFile(filepath.Join(out, JSONFile))
	if err := json.Unmarshal(data, &back); err != nil || len(back.Scales) != 2 {
		t.Fatalf("%s: %v", JSONFile, err)
	}
	if err := Render(out); err != nil {
		t.Fatalf("render from JSON: %v", err)
	}
}

// TestSmokeLight runs the harness with light clients: every change is
// delivered to every proxy that sees it and to no other.
func TestSmokeLight(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := Run(ctx, Options{
		Binaries: benchtest.Binaries(os.Args[0]), WorkDir: t.TempDir(), OutDir: t.TempDir(),
		Proxies: []int{8}, Services: 8, Endpoints: 2, Namespaces: 4, Scoped: 2, Reps: 1,
		Timeout: time.Minute, Command: "go test", Light: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range res.Scales {
		for _, c := range sc.Changes {
			if c.Affected != 6 || c.Missing != 0 || c.Leaked != 0 || c.Unneeded != 0 || float64(c.DeliveredP99) <= 0 {
				t.Errorf("%s: %+v", c.Kind, c)
			}
		}
	}
}
