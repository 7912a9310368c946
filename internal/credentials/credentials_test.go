package credentials

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lateenmesh/lateen/internal/wait"
)

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDirLoad(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "default", "tls"), map[string]string{"tls.crt": "C", "tls.key": "K", "ca.crt": "A"})
	write(t, filepath.Join(root, "istio-system", "generic"), map[string]string{"cert": "C2", "key": "K2", "cacert": "A2"})
	write(t, filepath.Join(root, "default", "ca-only"), map[string]string{"ca.crt": "A3"})
	write(t, filepath.Join(root, "default", "broken"), map[string]string{"tls.crt": "C4"})
	write(t, filepath.Join(root, "default", "empty"), map[string]string{"README": "x"})
	s, problems, err := NewDir(DirOptions{Path: root}).Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 {
		t.Errorf("problems %v, want the certificate without a key", problems)
	}
	if c := s.Get("default", "tls"); c == nil || string(c.Cert) != "C" || string(c.Key) != "K" || string(c.CA) != "A" {
		t.Errorf("default/tls = %+v", c)
	}
	if c := s.Get("istio-system", "generic"); c == nil || string(c.Cert) != "C2" || string(c.CA) != "A2" {
		t.Errorf("istio-system/generic = %+v", c)
	}
	if c := s.Get("default", "ca-only"); c == nil || c.Cert != nil || string(c.CA) != "A3" {
		t.Errorf("default/ca-only = %+v", c)
	}
	if s.Get("default", "broken") != nil || s.Get("default", "empty") != nil || s.Get("other", "tls") != nil || s.Len() != 3 {
		t.Errorf("unexpected credentials: %d", s.Len())
	}
	again, _, _ := NewDir(DirOptions{Path: root}).Load()
	if again.Version() != s.Version() {
		t.Error("same content, different versions")
	}
	if none, _, err := NewDir(DirOptions{Path: filepath.Join(root, "missing")}).Load(); err != nil || none.Len() != 0 {
		t.Errorf("missing dir: %v, %d", err, none.Len())
	}
}

func TestDirRunPublishesChanges(t *testing.T) {
	root := t.TempDir()
	got := make(chan *Set, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- NewDir(DirOptions{Path: root, Interval: 10 * time.Millisecond}).Run(ctx, func(s *Set) { got <- s })
	}()
	defer func() { cancel(); <-done }()
	if s := <-got; s.Len() != 0 {
		t.Fatalf("first set has %d credentials", s.Len())
	}
	write(t, filepath.Join(root, "default", "c"), map[string]string{"ca.crt": "A"})
	wait.For(t, 10*time.Second, "the new credential", func() error {
		select {
		case s := <-got:
			if s.Get("default", "c") != nil {
				return nil
			}
		default:
		}
		return os.ErrNotExist
	})
}
