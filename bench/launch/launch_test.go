package launch

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestStartStopAndExit(t *testing.T) {
	dir := t.TempDir()
	var g Group
	p, err := Start(Command{Path: "/bin/sh", Args: []string{"-c"}}, "sleeper", dir, "echo started; exec sleep 60")
	if err != nil {
		t.Fatal(err)
	}
	g.Add(p)
	if err := g.WaitFor(context.Background(), 10*time.Second, "log line", func() error {
		if !strings.Contains(Tail(p.Log, 100), "started") {
			return errors.New("not yet")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if p.Exited() != nil || p.LastLine() != "started" {
		t.Fatalf("running process: exited %v, last line %q", p.Exited(), p.LastLine())
	}
	g.Stop()
	if p.Exited() == nil {
		t.Fatal("stopped process still running")
	}
}

func TestWaitForNoticesExit(t *testing.T) {
	var g Group
	p, err := Start(Command{Path: "/bin/sh", Args: []string{"-c"}}, "quitter", t.TempDir(), "echo bye; exit 3")
	if err != nil {
		t.Fatal(err)
	}
	g.Add(p)
	defer g.Stop()
	err = g.WaitFor(context.Background(), 10*time.Second, "never", func() error { return errors.New("no") })
	if err == nil || !strings.Contains(err.Error(), "quitter exited") || !strings.Contains(err.Error(), "bye") {
		t.Fatalf("err = %v", err)
	}
}

func TestBlocksAreDistinct(t *testing.T) {
	var b Blocks
	seen := map[string]bool{}
	for range 5 {
		prefix, err := b.Next()
		if err != nil {
			t.Fatal(err)
		}
		if seen[prefix] || !strings.HasPrefix(prefix, "127.") || !strings.HasSuffix(prefix, ".0.") {
			t.Fatalf("block %q (seen %v)", prefix, seen)
		}
		seen[prefix] = true
	}
}
