package controlplane

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/lateenmesh/lateen/bench/proc"
)

// guardMemory stops the run (cancel) when pilot's and this process's
// resident memory together pass the limit: the benchmark runs on shared
// machines, and a control plane that grows without bound is a result, not
// a reason to take the machine down.
func (b *bench) guardMemory(ctx context.Context, cancel context.CancelCauseFunc) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		pilot, err := proc.Read(b.pilot.PID())
		if err != nil {
			continue
		}
		self, err := proc.Read(os.Getpid())
		if err != nil {
			continue
		}
		if self.RSS > b.harnessPeak.Load() {
			b.harnessPeak.Store(self.RSS)
		}
		if total := pilot.RSS + self.RSS; total > b.o.MemoryLimit {
			cancel(fmt.Errorf("memory guard: pilot (%d MiB) and the simulated proxies (%d MiB) passed %d MiB (--memory-limit)",
				pilot.RSS>>20, self.RSS>>20, b.o.MemoryLimit>>20))
			return
		}
	}
}
