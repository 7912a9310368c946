package proxy

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

type applyFunc func(*resource.Config) error

func (f applyFunc) Apply(cfg *resource.Config) error { return f(cfg) }

func TestTrimmingApplier(t *testing.T) {
	errBad := errors.New("bad")
	var applied atomic.Int32
	tr := newTrimmingApplier(applyFunc(func(cfg *resource.Config) error {
		applied.Add(1)
		if cfg == nil {
			return errBad
		}
		return nil
	}))
	tr.delay, tr.interval = time.Millisecond, 50*time.Millisecond
	freed := make(chan time.Time, 10)
	tr.free = func() { freed <- time.Now() }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.run(ctx) }()

	if err := tr.Apply(nil); !errors.Is(err, errBad) {
		t.Fatalf("Apply error = %v, want the runtime's", err)
	}
	first := waitFreed(t, freed)
	for range 5 { // a burst: one trim, not before the interval
		_ = tr.Apply(&resource.Config{})
	}
	second := waitFreed(t, freed)
	if gap := second.Sub(first); gap < 50*time.Millisecond {
		t.Errorf("trims %v apart, want at least the interval", gap)
	}
	select {
	case <-freed:
		t.Error("a burst of updates was trimmed more than once")
	case <-time.After(100 * time.Millisecond):
	}
	if applied.Load() != 6 {
		t.Errorf("%d applies reached the runtime, want 6", applied.Load())
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}

func waitFreed(t *testing.T, freed <-chan time.Time) time.Time {
	t.Helper()
	select {
	case at := <-freed:
		return at
	case <-time.After(10 * time.Second):
		t.Fatal("memory was not returned after an update")
		return time.Time{}
	}
}
