package proxy

import (
	"context"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// Memory settings. They are the process's (Go's garbage collector), so
// only a process that runs one proxy sets them (lateen-proxy does; the
// demo's in-process proxies leave them alone).
const (
	// trimDelay lets a burst of configuration updates settle before the
	// memory they freed is returned.
	trimDelay = time.Second
	// trimInterval bounds how often memory is returned (each time costs a
	// full collection).
	trimInterval = 10 * time.Second
)

// applyGC applies the garbage collector and concurrency options.
func (o *Options) applyGC() {
	if o.GCPercent != 0 {
		debug.SetGCPercent(o.GCPercent)
	}
	if o.MemoryLimit > 0 {
		debug.SetMemoryLimit(o.MemoryLimit)
	}
	if o.Concurrency > 0 {
		runtime.GOMAXPROCS(o.Concurrency)
	}
}

// trimmingApplier returns the memory a configuration update freed to the
// OS once updates settle: decoding a large configuration leaves tens of
// megabytes of garbage that the collector would otherwise keep mapped
// until the heap grows back to its goal.
type trimmingApplier struct {
	next interface {
		Apply(cfg *resource.Config) error
	}
	applied         chan struct{} // capacity 1: pending trim
	delay, interval time.Duration // trimDelay, trimInterval
	free            func()        // debug.FreeOSMemory
}

func newTrimmingApplier(next interface {
	Apply(cfg *resource.Config) error
}) *trimmingApplier {
	return &trimmingApplier{next: next, applied: make(chan struct{}, 1), delay: trimDelay, interval: trimInterval,
		free: debug.FreeOSMemory}
}

func (t *trimmingApplier) Apply(cfg *resource.Config) error {
	err := t.next.Apply(cfg)
	select {
	case t.applied <- struct{}{}:
	default:
	}
	return err
}

// run returns memory after updates, at most once per trimInterval.
func (t *trimmingApplier) run(ctx context.Context) error {
	var last time.Time
	timer := time.NewTimer(0)
	<-timer.C
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.applied:
		}
		timer.Reset(max(t.delay, t.interval-time.Since(last)))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
		select { // updates during the wait are covered by this trim
		case <-t.applied:
		default:
		}
		t.free()
		last = time.Now()
	}
}
