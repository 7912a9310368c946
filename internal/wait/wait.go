// Package wait lets tests wait for a condition with a deadline instead of
// sleeping.
package wait

import (
	"testing"
	"time"
)

// For polls cond every few milliseconds until it returns nil, failing the
// test with cond's last error after timeout.
func For(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("timed out after %s waiting for %s: %v", timeout, what, err)
		}
	}
}
