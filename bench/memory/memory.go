// Package memory is the sidecar memory benchmark: the resident memory of
// one lateen-proxy as the mesh grows (10 to 5,000 services, each with a
// few endpoints and a DestinationRule with subsets), with every service in
// scope and with a Sidecar resource narrowing the scope to the proxy's own
// namespace, as Istio recommends for large meshes.
package memory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/lateenmesh/lateen/bench/lateenrun"
	"github.com/lateenmesh/lateen/bench/launch"
	"github.com/lateenmesh/lateen/bench/proc"
	"github.com/lateenmesh/lateen/bench/report"
)

// Options shape a run.
type Options struct {
	Binaries launch.Binaries
	WorkDir  string
	OutDir   string
	// Sizes are the numbers of services (default 10, 100, 1000, 5000).
	Sizes []int
	// Endpoints per service (default 3).
	Endpoints int
	// PerNamespace services share a namespace (default 10): the narrowed
	// proxy sees that many.
	PerNamespace int
	// Settle is how long memory is sampled after the proxies acknowledged
	// their configuration (default 10s).
	Settle      time.Duration
	Command     string
	Preliminary bool
	Logger      *slog.Logger
}

// DefaultSizes are the mesh sizes.
var DefaultSizes = []int{10, 100, 1000, 5000}

func (o *Options) defaults() {
	if len(o.Sizes) == 0 {
		o.Sizes = DefaultSizes
	}
	if o.Endpoints <= 0 {
		o.Endpoints = 3
	}
	if o.PerNamespace <= 0 {
		o.PerNamespace = 10
	}
	if o.Settle <= 0 {
		o.Settle = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Preliminary = o.Preliminary || !slices.Equal(o.Sizes, DefaultSizes) || o.Settle < 10*time.Second
}

// Run measures every size and writes memory.md, memory.json and
// memory.png into OutDir.
func Run(ctx context.Context, o Options) (*Result, error) {
	o.defaults()
	if o.WorkDir == "" || o.OutDir == "" {
		return nil, errors.New("memory: WorkDir and OutDir are required")
	}
	res := &Result{Run: report.Run{Harness: "memory", Command: o.Command, Started: time.Now(),
		Machine: report.Describe(), Preliminary: o.Preliminary},
		Endpoints: o.Endpoints, PerNamespace: o.PerNamespace, Settle: o.Settle.String()}
	var blocks launch.Blocks
	for _, n := range o.Sizes {
		block, err := blocks.Next()
		if err != nil {
			return nil, err
		}
		size, err := measureSize(ctx, o, n, block)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			// A size the proxies cannot take is a result, not the end of the run.
			o.Logger.Error("size failed", "component", "memory", "services", n, "error", err)
			size = Size{Services: n, Error: err.Error()}
		}
		o.Logger.Info("size measured", "component", "memory", "services", n,
			"full_rss_mb", report.Num(size.Full.RSSSteadyMB, 1), "narrowed_rss_mb", report.Num(size.Narrowed.RSSSteadyMB, 1))
		res.Sizes = append(res.Sizes, size)
	}
	res.Finished = time.Now()
	if err := writeResults(o.OutDir, res); err != nil {
		return nil, err
	}
	return res, nil
}

// measureSize runs pilot and two sidecars (full scope and narrowed) over a
// mesh of n services and samples their memory once both are in sync.
func measureSize(ctx context.Context, o Options, n int, block string) (Size, error) {
	dir := filepath.Join(o.WorkDir, fmt.Sprintf("services-%d", n))
	cfgDir := filepath.Join(dir, "config")
	if err := os.MkdirAll(cfgDir, 0o755); err != nil {
		return Size{}, err
	}
	if err := writeMesh(cfgDir, n, o.Endpoints, o.PerNamespace); err != nil {
		return Size{}, err
	}
	var g launch.Group
	defer g.Stop()
	pilot, err := lateenrun.StartPilot(o.Binaries.Pilot, dir, block+"1", cfgDir)
	if err != nil {
		return Size{}, err
	}
	g.Add(pilot.Process)
	if err := g.WaitFor(ctx, 2*time.Minute, "pilot ready", pilot.Ready); err != nil {
		return Size{}, err
	}
	start := time.Now()
	var sidecars []*lateenrun.Sidecar
	for i, app := range []string{"wide", "narrow"} {
		sc, err := lateenrun.StartSidecar(o.Binaries.Proxy, dir, pilot.XDS, lateenrun.SidecarOptions{
			Name: app, Namespace: namespace(0), IP: fmt.Sprintf("%s%d", block, i+2), Labels: map[string]string{"app": app},
		})
		if err != nil {
			return Size{}, err
		}
		g.Add(sc.Process)
		sidecars = append(sidecars, sc)
	}
	err = g.WaitFor(ctx, syncTimeout, "both sidecars synced", func() error {
		return pilot.Synced(sidecars[0].ID, sidecars[1].ID)
	})
	if err != nil {
		return Size{}, fmt.Errorf("%w; wide proxy's last log line: %s", err, sidecars[0].LastLine())
	}
	synced := time.Since(start)
	samples, err := sampleFor(ctx, o.Settle, pilot.PID(), sidecars[0].PID(), sidecars[1].PID())
	if err != nil {
		return Size{}, err
	}
	return Size{
		Services: n,
		Full:     samples[1].proxy(n, synced),
		Narrowed: samples[2].proxy(min(n, o.PerNamespace), synced),
		PilotMB:  report.MB(median(samples[0].rss)),
	}, nil
}

// syncTimeout bounds the wait for the proxies' first configuration.
const syncTimeout = 3 * time.Minute

// series are one process's memory samples.
type series struct {
	rss, anon []uint64
	peak      uint64
}

func (s series) proxy(inScope int, synced time.Duration) Proxy {
	return Proxy{
		InScope: inScope, Samples: len(s.rss), SyncedSeconds: synced.Seconds(),
		RSSSteadyMB: report.MB(median(s.rss)), RSSPeakMB: report.MB(s.peak), AnonSteadyMB: report.MB(median(s.anon)),
	}
}

// sampleFor reads each pid's memory every 250 ms for d.
func sampleFor(ctx context.Context, d time.Duration, pids ...int) ([]series, error) {
	out := make([]series, len(pids))
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(d)
	for {
		for i, pid := range pids {
			u, err := proc.Read(pid)
			if err != nil {
				return nil, err
			}
			out[i].rss = append(out[i].rss, u.RSS)
			out[i].anon = append(out[i].anon, u.Anon)
			out[i].peak = max(out[i].peak, u.Peak)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-deadline:
			return out, nil
		case <-tick.C:
		}
	}
}

func median(v []uint64) uint64 {
	if len(v) == 0 {
		return 0
	}
	c := slices.Clone(v)
	slices.Sort(c)
	return c[len(c)/2]
}
