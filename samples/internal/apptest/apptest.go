// Package apptest has helpers for the sample applications' tests: running
// an app on a real socket and capturing its log.
package apptest

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"
)

// WaitTimeout bounds how long helpers wait for an app to start or stop.
const WaitTimeout = 10 * time.Second

// RunFunc runs an app until ctx ends, reporting the bound address.
type RunFunc func(ctx context.Context, onListen func(net.Addr)) error

// Start runs an app in the background and returns its address once it is
// listening. At cleanup the app's context is cancelled and the test fails
// unless Run returns nil promptly.
func Start(t testing.TB, run RunFunc) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, func(a net.Addr) { addrc <- a }) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("Run returned %v after cancel, want nil", err)
			}
		case <-time.After(WaitTimeout):
			t.Errorf("Run did not return within %v of cancel", WaitTimeout)
		}
	})
	select {
	case a := <-addrc:
		return a.String()
	case err := <-errc:
		t.Fatalf("Run failed before listening: %v", err)
	case <-time.After(WaitTimeout):
		t.Fatalf("Run did not listen within %v", WaitTimeout)
	}
	return ""
}

// LogBuffer is a goroutine-safe buffer for captured logs.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Logger returns a text logger writing to a new LogBuffer.
func Logger() (*slog.Logger, *LogBuffer) {
	b := new(LogBuffer)
	return slog.New(slog.NewTextHandler(b, nil)), b
}

// Eventually polls cond every few milliseconds until it holds, failing the
// test if it does not within WaitTimeout.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(WaitTimeout)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
