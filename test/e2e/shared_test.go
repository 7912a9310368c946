//go:build linux

package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// shared holds the demos most tests use, one per capture mode: starting
// one takes seconds, so the tests that only need a running mesh share it,
// each restoring the config directory when it ends. TestMain stops them
// after the last test. Tests run on the capture=none demo unless they run
// under withCapture (capture_test.go runs scenarios on both).
var shared struct {
	mu    sync.Mutex
	demos map[string]*sharedEntry // by capture mode
	// modes records the capture mode a (sub)test asked for.
	modes sync.Map // *testing.T → string
}

type sharedEntry struct {
	once sync.Once
	d    *Demo
	err  error
	root string
}

// withCapture makes sharedDemo(t) return the shared demo of a capture
// mode for t (a subtest running a scenario written for the default one).
func withCapture(t *testing.T, mode string) {
	shared.modes.Store(t, mode)
	t.Cleanup(func() { shared.modes.Delete(t) })
}

func captureOf(t *testing.T) string {
	if m, ok := shared.modes.Load(t); ok {
		return m.(string)
	}
	return "none"
}

func sharedEntryFor(mode string) *sharedEntry {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.demos == nil {
		shared.demos = map[string]*sharedEntry{}
	}
	e := shared.demos[mode]
	if e == nil {
		e = &sharedEntry{}
		shared.demos[mode] = e
	}
	return e
}

// sharedDemo returns the shared demo of t's capture mode, starting it on
// first use. When t ends it prints the demo's logs if t failed, then puts
// the config directory back as the demo wrote it and waits until pilot
// serves that configuration again.
func sharedDemo(t *testing.T) *Demo {
	t.Helper()
	skipShort(t)
	mode := captureOf(t)
	e := sharedEntryFor(mode)
	e.once.Do(func() {
		e.root, e.err = os.MkdirTemp("", "lateen-e2e-")
		if e.err == nil {
			e.d, e.err = launch(e.root, demoOptions{Capture: mode})
		}
		if e.err == nil {
			fmt.Fprintf(os.Stderr, "e2e: shared demo (capture=%s) ready after %s (%s)\n", mode,
				e.d.ReadyAfter.Round(time.Millisecond), e.d.Root)
		}
	})
	if e.err != nil {
		t.Fatalf("shared demo (capture=%s): %v", mode, e.err)
	}
	d := e.d
	t.Cleanup(func() { d.restoreConfig(t) })
	t.Cleanup(func() {
		if t.Failed() {
			d.dumpLogs(t)
		}
	})
	return d
}

// stopShared stops the shared demos that were started, with the checks of
// Demo.stop, and removes their directories. Failing tests have copied the
// logs out already; a failing stop copies them here.
func stopShared() error {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	var errs []error
	for mode, e := range shared.demos {
		if e.root == "" {
			continue
		}
		if e.d != nil {
			if err := e.d.stop(); err != nil {
				if dir, kerr := e.d.keepLogs(); kerr == nil {
					err = fmt.Errorf("%w\nfull logs of the demo copied to %s", err, dir)
				}
				errs = append(errs, fmt.Errorf("capture=%s: %w", mode, err))
			}
		}
		os.RemoveAll(e.root)
	}
	return errors.Join(errs...)
}

// restoreConfig puts the config directory back as the demo wrote it:
// files a test added are removed, files it changed rewritten. It then
// waits until pilot accepts exactly the demo's own objects again and every
// proxy has acknowledged the result.
func (d *Demo) restoreConfig(t *testing.T) {
	t.Helper()
	changed, err := d.resetConfigDir()
	if err != nil {
		t.Fatalf("restore config directory: %v", err)
	}
	if !changed {
		return
	}
	eventually(t, 30*time.Second, "pilot back on the demo's own configuration", func() error {
		cz, err := d.configz()
		if err != nil {
			return err
		}
		if len(cz.Rejected) > 0 {
			return fmt.Errorf("rejected: %v", cz.Rejected)
		}
		if got := cz.acceptedKeys(); !slices.Equal(got, d.baseObjects) {
			return fmt.Errorf("accepted %v, want %v", got, d.baseObjects)
		}
		return d.allSynced()
	})
}

func (d *Demo) resetConfigDir() (changed bool, err error) {
	now, err := readDir(d.ConfigDir)
	if err != nil {
		return false, err
	}
	for name := range now {
		if _, ok := d.baseline[name]; !ok {
			changed = true
			if err := os.Remove(filepath.Join(d.ConfigDir, name)); err != nil {
				return changed, err
			}
		}
	}
	for name, data := range d.baseline {
		if cur, ok := now[name]; !ok || !bytes.Equal(cur, data) {
			changed = true
			if err := writeFileAtomic(filepath.Join(d.ConfigDir, name), data); err != nil {
				return changed, err
			}
		}
	}
	return changed, nil
}

// writeFileAtomic replaces path through a hidden temporary file, which the
// config directory watcher ignores, so pilot never reads half a file.
func writeFileAtomic(path string, data []byte) error {
	tmp := filepath.Join(filepath.Dir(path), ".e2e-"+filepath.Base(path))
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
