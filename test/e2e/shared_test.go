//go:build linux

package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// shared is the demo most tests use: starting one takes seconds, so the
// tests that only need a running mesh share it, each restoring the config
// directory when it ends. TestMain stops it after the last test.
var shared struct {
	once sync.Once
	d    *Demo
	err  error
	root string
}

// sharedDemo returns the shared demo, starting it on first use. When t
// ends it prints the demo's logs if t failed, then puts the config
// directory back as the demo wrote it and waits until pilot serves that
// configuration again.
func sharedDemo(t *testing.T) *Demo {
	t.Helper()
	skipShort(t)
	shared.once.Do(func() {
		shared.root, shared.err = os.MkdirTemp("", "lateen-e2e-")
		if shared.err == nil {
			shared.d, shared.err = launch(shared.root, demoOptions{})
		}
		if shared.err == nil {
			fmt.Fprintf(os.Stderr, "e2e: shared demo ready after %s (%s)\n", shared.d.ReadyAfter.Round(time.Millisecond), shared.d.Root)
		}
	})
	if shared.err != nil {
		t.Fatalf("shared demo: %v", shared.err)
	}
	d := shared.d
	t.Cleanup(func() { d.restoreConfig(t) })
	t.Cleanup(func() {
		if t.Failed() {
			d.dumpLogs(t)
		}
	})
	return d
}

// stopShared stops the shared demo, if one was started, with the checks
// of Demo.stop, and removes its directory. Failing tests have copied the
// logs out already; a failing stop copies them here.
func stopShared() error {
	if shared.root == "" {
		return nil
	}
	defer os.RemoveAll(shared.root)
	if shared.d == nil {
		return nil
	}
	err := shared.d.stop()
	if err != nil {
		if dir, kerr := shared.d.keepLogs(); kerr == nil {
			err = fmt.Errorf("%w\nfull logs of the demo copied to %s", err, dir)
		}
	}
	return err
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
