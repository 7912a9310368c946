package memory

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

// TestSmoke measures two tiny meshes with real pilot and proxy processes.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := Run(ctx, Options{
		Binaries: benchtest.Binaries(os.Args[0]), WorkDir: t.TempDir(), OutDir: out,
		Sizes: []int{4, 12}, Endpoints: 2, PerNamespace: 4, Settle: 300 * time.Millisecond, Command: "go test",
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Sizes) != 2 {
		t.Fatalf("%d sizes", len(res.Sizes))
	}
	for _, s := range res.Sizes {
		if s.Error != "" || s.Full.RSSSteadyMB <= 0 || s.Full.RSSPeakMB < s.Full.RSSSteadyMB || s.Narrowed.RSSSteadyMB <= 0 {
			t.Fatalf("size %d: %+v", s.Services, s)
		}
		if s.Full.InScope != s.Services || s.Narrowed.InScope != min(s.Services, 4) {
			t.Fatalf("size %d: in scope %d and %d", s.Services, s.Full.InScope, s.Narrowed.InScope)
		}
	}
	b, err := os.ReadFile(filepath.Join(out, ChartFile))
	if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Fatalf("%s: not a PNG (%v)", ChartFile, err)
	}
	page, err := os.ReadFile(filepath.Join(out, PageFile))
	if err != nil || !strings.Contains(string(page), "## Targets") {
		t.Fatalf("%s: %v", PageFile, err)
	}
	var back Result
	data, _ := os.ReadFile(filepath.Join(out, JSONFile))
	if err := json.Unmarshal(data, &back); err != nil || len(back.Sizes) != 2 {
		t.Fatalf("%s: %v", JSONFile, err)
	}
	if err := Render(out); err != nil {
		t.Fatalf("render from JSON: %v", err)
	}
}

func TestWriteMeshScopes(t *testing.T) {
	dir := t.TempDir()
	if err := writeMesh(dir, 25, 3, 10); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := "ns-0000.yaml ns-0001.yaml ns-0002.yaml sidecar.yaml"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("files %q, want %q", got, want)
	}
	last, _ := os.ReadFile(filepath.Join(dir, "ns-0002.yaml"))
	if n := strings.Count(string(last), "kind: ServiceEntry"); n != 5 {
		t.Fatalf("last namespace has %d services, want 5", n)
	}
}
