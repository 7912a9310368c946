//go:build linux

package e2e

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// How much of each log a failure report shows: pilot's log says most
// about the mesh; apps log a line per request.
const (
	pilotTailLines = 40
	tailLines      = 12
)

// outputLog collects a process's stdout or stderr and closes matched when
// a line equal to want appears.
type outputLog struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	want    string
	found   bool
	matched chan struct{}
}

func newOutputLog(want string) *outputLog {
	return &outputLog{want: want, matched: make(chan struct{})}
}

func (l *outputLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if l.want != "" && !l.found && hasLine(l.buf.String(), l.want) {
		l.found = true
		close(l.matched)
	}
	return len(p), nil
}

func (l *outputLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func hasLine(text, line string) bool {
	return slices.Contains(strings.Split(text, "\n"), line)
}

func (d *Demo) logsDir() string { return filepath.Join(d.Root, "logs") }

// linkLogs hard-links the demo's log files into the test's own directory:
// the demo removes its logs when it exits, but the links keep them (the
// processes go on appending to the same files) for a failure report.
func (d *Demo) linkLogs() {
	src := filepath.Join(d.StateDir, "logs")
	entries, err := os.ReadDir(src)
	if err != nil {
		return
	}
	for _, e := range entries {
		dst := filepath.Join(d.logsDir(), e.Name())
		if _, err := os.Lstat(dst); err == nil {
			continue
		}
		_ = os.Link(filepath.Join(src, e.Name()), dst)
	}
}

// logFiles lists the linked logs, pilot's first.
func (d *Demo) logFiles() []string {
	entries, _ := os.ReadDir(d.logsDir())
	var out []string
	for _, e := range entries {
		out = append(out, filepath.Join(d.logsDir(), e.Name()))
	}
	slices.SortStableFunc(out, func(a, b string) int {
		return boolInt(filepath.Base(b) == "pilot.log") - boolInt(filepath.Base(a) == "pilot.log")
	})
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// report is the demo's output and the tail of every log.
func (d *Demo) report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "--- lateen demo stdout:\n%s--- lateen demo stderr:\n%s", d.stdout, d.stderr)
	for _, f := range d.logFiles() {
		n := tailLines
		if filepath.Base(f) == "pilot.log" {
			n = pilotTailLines
		}
		fmt.Fprintf(&b, "--- tail of %s:\n%s", filepath.Base(f), tail(f, n))
	}
	return b.String()
}

// dumpLogs prints the report and keeps the full logs.
func (d *Demo) dumpLogs(t *testing.T) {
	t.Helper()
	t.Logf("demo report:\n%s", d.report())
	dir, err := d.keepLogs()
	if err != nil {
		t.Logf("keep logs: %v", err)
		return
	}
	t.Logf("full logs of the demo copied to %s", dir)
}

// keepLogs copies the logs to a new directory that outlives the test.
func (d *Demo) keepLogs() (string, error) {
	dir, err := os.MkdirTemp("", "lateen-e2e-logs-")
	if err != nil {
		return "", err
	}
	for _, f := range d.logFiles() {
		if err := copyFile(f, filepath.Join(dir, filepath.Base(f))); err != nil {
			return dir, err
		}
	}
	return dir, nil
}

func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error() + "\n"
	}
	lines := strings.SplitAfter(string(data), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return strings.Join(lines[max(0, len(lines)-n):], "")
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// logHasLine checks that a line of the log file at path contains every
// one of parts.
func logHasLine(path string, parts ...string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if containsAll(line, parts) {
			return nil
		}
	}
	return fmt.Errorf("no line of %s contains all of %q", path, parts)
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
