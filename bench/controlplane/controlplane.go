// Package controlplane is the control-plane benchmark: an xDS load tool
// connecting N simulated proxies (lateen-proxy's own ADS client: real
// decoding, real ACKs) to a real lateen-pilot process, then measuring how
// long a configuration change takes to be acknowledged by every proxy it
// concerns, which proxies received a push they did not need, pilot's CPU
// and memory, and the bytes sent.
package controlplane

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lateenmesh/lateen/bench/lateenrun"
	"github.com/lateenmesh/lateen/bench/launch"
	"github.com/lateenmesh/lateen/bench/proc"
	"github.com/lateenmesh/lateen/bench/report"
	"github.com/lateenmesh/lateen/internal/proxy/xdsclient"
)

// Options shape a run.
type Options struct {
	Binaries launch.Binaries
	WorkDir  string
	OutDir   string
	// Proxies are the scales, in increasing order (default 100, 500, 1000).
	Proxies []int
	// Services and Endpoints per service (default 1000 and 10).
	Services, Endpoints int
	// Namespaces spread services and proxies (default 10); the first
	// Scoped of them have a Sidecar limiting them to their own namespace
	// (default half).
	Namespaces, Scoped int
	// Reps is how many times each change is made at each scale (default 2).
	Reps int
	// Timeout bounds the wait for one change to reach every proxy
	// (default 2m).
	Timeout time.Duration
	// Budget bounds the whole measurement (default 11m): scales not
	// reached in time are reported as not run.
	Budget time.Duration
	// MemoryLimit stops the run when pilot and the simulated proxies
	// together use more resident memory (default 6 GiB), to keep a shared
	// machine alive; the scale is reported as not completed.
	MemoryLimit uint64
	Command     string
	Preliminary bool
	// Light simulates proxies with a minimal ADS client that ACKs without
	// decoding endpoints or routes, to measure pilot's part alone (the
	// default is lateen-proxy's own client, which decodes and validates
	// everything).
	Light  bool
	Logger *slog.Logger
}

// DefaultProxies are the scales.
var DefaultProxies = []int{100, 500, 1000}

func (o *Options) defaults() error {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	if len(o.Proxies) == 0 {
		o.Proxies = DefaultProxies
	}
	def(&o.Services, 1000)
	def(&o.Endpoints, 10)
	def(&o.Namespaces, 10)
	def(&o.Scoped, o.Namespaces/2)
	def(&o.Reps, 2)
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.Budget <= 0 {
		o.Budget = 11 * time.Minute
	}
	if o.MemoryLimit == 0 {
		o.MemoryLimit = 6 << 30
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if !slices.IsSorted(o.Proxies) {
		return errors.New("controlplane: proxy counts must increase")
	}
	if o.Scoped >= o.Namespaces || o.Services < 2*o.Namespaces {
		return errors.New("controlplane: want Scoped < Namespaces and at least two services per namespace")
	}
	o.Preliminary = o.Preliminary || !slices.Equal(o.Proxies, DefaultProxies) || o.Services != 1000 || o.Endpoints != 10 || o.Reps < 2
	return nil
}

// Run measures every scale and writes controlplane.md, controlplane.json
// and controlplane.png into OutDir.
func Run(ctx context.Context, o Options) (*Result, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	if o.WorkDir == "" || o.OutDir == "" {
		return nil, errors.New("controlplane: WorkDir and OutDir are required")
	}
	res := &Result{Run: report.Run{Harness: "controlplane", Command: o.Command, Started: time.Now(),
		Machine: report.Describe(), Preliminary: o.Preliminary},
		Services: o.Services, Endpoints: o.Endpoints, Namespaces: o.Namespaces, Scoped: o.Scoped, Reps: o.Reps, Light: o.Light}
	b := &bench{o: o, hub: newHub(), decoders: xdsclient.NewDecoders()}
	defer b.stop()
	parent := ctx
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ctx, cancelBudget := context.WithDeadlineCause(ctx, time.Now().Add(o.Budget), errBudget)
	defer cancelBudget()
	if err := b.start(ctx); err != nil {
		return nil, err
	}
	go b.guardMemory(ctx, cancel)
	res.Scales = b.scales(ctx)
	res.HarnessPeakMB = report.MB(b.harnessPeak.Load())
	res.Finished = time.Now()
	if err := parent.Err(); err != nil {
		return nil, err // interrupted: no results
	}
	if err := writeResults(o.OutDir, res); err != nil {
		return nil, err
	}
	return res, nil
}

var errBudget = errors.New("the run's time budget was spent (--budget)")

// scales measures each scale in turn; when one cannot complete (time
// budget, memory guard, pilot gone) it and the later ones are reported as
// not completed.
func (b *bench) scales(ctx context.Context) []Scale {
	var out []Scale
	for i, n := range b.o.Proxies {
		sc, err := b.scale(ctx, n)
		if err == nil {
			out = append(out, sc)
			continue
		}
		if cause := context.Cause(ctx); cause != nil {
			err = cause
		}
		b.o.Logger.Error("scale not completed", "component", "controlplane", "proxies", n, "error", err)
		sc.Proxies, sc.Error = n, err.Error()
		out = append(out, sc)
		for _, m := range b.o.Proxies[i+1:] {
			out = append(out, Scale{Proxies: m, Error: "not run: " + err.Error()})
		}
		break
	}
	return out
}

// bench is one run: a pilot, the mesh it watches and the simulated
// proxies connected so far.
type bench struct {
	o        Options
	hub      *hub
	decoders *xdsclient.Decoders
	mesh     *mesh
	group    launch.Group
	pilot    *lateenrun.Pilot
	block    string
	proxies  []*simProxy
	cancel   []context.CancelFunc
	wg       sync.WaitGroup
	changes  int
	// harnessPeak is the largest resident memory of this process seen by
	// the memory guard.
	harnessPeak atomic.Uint64
}

func (b *bench) start(ctx context.Context) error {
	var blocks launch.Blocks
	block, err := blocks.Next()
	if err != nil {
		return err
	}
	b.block = block
	b.mesh = &mesh{dir: filepath.Join(b.o.WorkDir, "config"), services: b.o.Services, endpoints: b.o.Endpoints,
		namespaces: b.o.Namespaces, scoped: b.o.Scoped}
	if err := b.mesh.write(); err != nil {
		return fmt.Errorf("controlplane: writing the mesh: %w", err)
	}
	b.pilot, err = lateenrun.StartPilot(b.o.Binaries.Pilot, b.o.WorkDir, block+"1", b.mesh.dir, "--log-level", "warn")
	if err != nil {
		return err
	}
	b.group.Add(b.pilot.Process)
	return b.group.WaitFor(ctx, 2*time.Minute, "pilot ready", b.pilot.Ready)
}

func (b *bench) stop() {
	for _, c := range b.cancel {
		c()
	}
	b.wg.Wait()
	b.group.Stop()
}

// connect adds simulated proxies until there are n, and waits until each
// new one has a complete configuration.
func (b *bench) connect(ctx context.Context, n int) (time.Duration, error) {
	start := time.Now()
	first := len(b.proxies)
	for i := first; i < n; i++ {
		ns := nsName(i % b.o.Namespaces)
		p, err := newSimProxy(b.pilot.XDS, xdsclient.NodeInfo{
			Type: "sidecar", IP: fmt.Sprintf("127.252.%d.%d", i/256, i%256), WorkloadName: fmt.Sprintf("sim-%04d", i),
			Namespace: ns, ServiceAccount: "sim", Labels: map[string]string{"app": "sim"}, InterceptionMode: "NONE",
		}, b.decoders, b.hub, b.o.Light)
		if err != nil {
			return 0, err
		}
		pctx, cancel := context.WithCancel(ctx)
		b.cancel = append(b.cancel, cancel)
		b.proxies = append(b.proxies, p)
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			_ = p.client.Run(pctx)
		}()
	}
	deadline := time.After(5 * time.Minute)
	for _, p := range b.proxies[first:] {
		select {
		case <-p.synced:
		case <-deadline:
			return 0, fmt.Errorf("proxy %s got no complete configuration in 5m (pilot log: %s)", p.id, b.pilot.LastLine())
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	return time.Since(start), nil
}

// scale connects up to n proxies, lets pilot settle, and makes each kind
// of change in turn, Reps times, so that a scale cut short still has every
// kind measured.
func (b *bench) scale(ctx context.Context, n int) (sc Scale, err error) {
	sc.Proxies = n
	defer func() {
		if u, rerr := proc.Read(b.pilot.PID()); rerr == nil {
			sc.PilotPeakMB = report.MB(u.Peak)
		}
	}()
	connectTime, err := b.connect(ctx, n)
	if err != nil {
		return sc, err
	}
	b.o.Logger.Info("proxies connected", "component", "controlplane", "proxies", n, "seconds", connectTime.Seconds())
	b.quiesce(ctx, 2*time.Second, 30*time.Second)
	sc.ConnectSeconds = connectTime.Seconds()
	if u, err := proc.Read(b.pilot.PID()); err == nil {
		sc.PilotRSSMB = report.MB(u.RSS)
	}
	results := make([]ChangeResult, len(changeKinds))
	for i, kind := range changeKinds {
		results[i] = ChangeResult{Kind: kind.name, Description: kind.description}
	}
	defer func() {
		for i := range results {
			if results[i].n > 0 {
				results[i].finish()
				sc.Changes = append(sc.Changes, results[i])
			}
		}
	}()
	for range b.o.Reps {
		for i, kind := range changeKinds {
			m, err := b.change(ctx, kind)
			if err != nil {
				return sc, err
			}
			results[i].add(m)
			b.o.Logger.Info("change measured", "component", "controlplane", "proxies", n, "change", kind.name,
				"acked", len(m.latencies), "affected", m.affected, "unneeded", m.unneeded)
		}
	}
	return sc, nil
}
