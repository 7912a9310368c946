// Package dataplane is the data-plane benchmark: the same load through
// each topology (direct, Lateen's proxy pair, nginx, HAProxy and Go
// ReverseProxy pairs) on loopback, interleaved in rounds so that drift on
// the machine hits every topology alike. It reports the latency each pair
// adds over direct, throughput at saturation, and each proxy process's CPU
// per request and memory.
package dataplane

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/lateenmesh/lateen/bench/launch"
	"github.com/lateenmesh/lateen/bench/load"
	"github.com/lateenmesh/lateen/bench/peers"
	"github.com/lateenmesh/lateen/bench/report"
)

// Options shape a run. Zero values take the defaults of the full run
// (Defaults).
type Options struct {
	Binaries launch.Binaries
	// WorkDir holds configuration and logs of the processes.
	WorkDir string
	// OutDir receives dataplane.md, dataplane.json and the charts.
	OutDir string
	// Only runs these topologies (by name) besides direct; empty runs all.
	Only []string
	// ProxyArgs are extra lateen-proxy flags for every Lateen topology
	// (experiments, such as --concurrency 1).
	ProxyArgs []string

	Rate       float64       // fixed rate, requests per second
	Conns      int           // connections
	Warmup     time.Duration // before each measured window
	Window     time.Duration // HTTP fixed-rate window per round
	Rounds     int           // HTTP fixed-rate rounds
	SatWindow  time.Duration // saturation window per round
	SatRounds  int
	GRPCWindow time.Duration // gRPC fixed-rate window per round
	GRPCRounds int

	// Command is how the run was started, for the result page.
	Command string
	// Preliminary marks the results as a small or noisy run.
	Preliminary bool
	Logger      *slog.Logger
}

// Defaults are the full run's settings: about thirteen minutes for the
// eight topologies (each ~95 s of load).
func Defaults() Options {
	return Options{
		Rate: 1000, Conns: 16, Warmup: 2 * time.Second,
		Window: 15 * time.Second, Rounds: 3,
		SatWindow: 8 * time.Second, SatRounds: 2,
		GRPCWindow: 10 * time.Second, GRPCRounds: 2,
	}
}

func (o *Options) defaults() {
	d := Defaults()
	set := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	seti := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	if o.Rate <= 0 {
		o.Rate = d.Rate
	}
	seti(&o.Conns, d.Conns)
	set(&o.Window, d.Window)
	set(&o.SatWindow, d.SatWindow)
	set(&o.GRPCWindow, d.GRPCWindow)
	seti(&o.Rounds, d.Rounds)
	seti(&o.SatRounds, d.SatRounds)
	seti(&o.GRPCRounds, d.GRPCRounds)
	if o.Warmup < 0 {
		o.Warmup = 0
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Preliminary = o.Preliminary || o.Window < d.Window || o.Rounds < d.Rounds || o.SatWindow < d.SatWindow ||
		o.GRPCWindow < d.GRPCWindow || o.Rate != d.Rate || o.Conns != d.Conns
}

// Run starts every topology, measures them in interleaved rounds, stops
// them and writes the result files. A topology that cannot start (a peer
// not installed) is reported as such; the run fails only when direct
// cannot run or the results cannot be written.
func Run(ctx context.Context, o Options) (*Result, error) {
	o.defaults()
	if o.WorkDir == "" || o.OutDir == "" {
		return nil, errors.New("dataplane: WorkDir and OutDir are required")
	}
	res := &Result{Run: report.Run{Harness: "dataplane", Command: o.Command, Started: time.Now(),
		Machine: report.Describe(), Preliminary: o.Preliminary}}
	res.Settings = settingsOf(o)
	res.Versions = map[string]string{"nginx": peers.Version("nginx"), "haproxy": peers.Version("haproxy")}

	states, err := startAll(ctx, o)
	defer func() {
		for _, s := range states {
			if s.run != nil {
				s.run.stop()
			}
		}
	}()
	if err != nil {
		return nil, err
	}
	if err := measureAll(ctx, o, states); err != nil {
		return nil, err
	}
	res.Finished = time.Now()
	res.Topologies = results(o, states)
	if err := writeResults(o.OutDir, res); err != nil {
		return nil, err
	}
	return res, nil
}

// startAll starts the selected topologies; direct must start.
func startAll(ctx context.Context, o Options) ([]*state, error) {
	certDir := filepath.Join(o.WorkDir, "certs")
	if err := os.MkdirAll(certDir, 0o755); err != nil {
		return nil, fmt.Errorf("dataplane: %w", err)
	}
	certs, err := peers.WriteCerts(certDir)
	if err != nil {
		return nil, err
	}
	env := &env{bin: o.Binaries, dir: o.WorkDir, certs: certs, proxyArgs: o.ProxyArgs}
	var blocks launch.Blocks
	var states []*state
	for _, t := range Topologies() {
		if t.Name != "direct" && len(o.Only) > 0 && !slices.Contains(o.Only, t.Name) {
			continue
		}
		s := &state{topo: t}
		states = append(states, s)
		if s.status, s.reason = "pending", t.Pending; t.Pending != "" {
			continue
		}
		if err := missing(t.Needs); err != nil {
			s.status, s.reason = "skipped", err.Error()
			o.Logger.Warn("topology skipped", "component", "dataplane", "topology", t.Name, "reason", err)
			continue
		}
		block, err := blocks.Next()
		var r *running
		if err == nil {
			r, err = t.start(ctx, env, t.Name, block)
		}
		if err != nil {
			s.status, s.reason = "failed", err.Error()
			o.Logger.Error("topology failed to start", "component", "dataplane", "topology", t.Name, "error", err)
			if t.Name == "direct" {
				return states, fmt.Errorf("dataplane: direct: %w", err)
			}
			continue
		}
		s.run, s.status, s.reason = r, "ran", ""
		o.Logger.Info("topology ready", "component", "dataplane", "topology", t.Name, "addresses", block+"0/24")
	}
	return states, nil
}

func missing(programs []string) error {
	for _, p := range programs {
		if err := peers.Installed(p); err != nil {
			return err
		}
	}
	return nil
}

// measureAll runs the phases, each in rounds; in every round each running
// topology gets one window, in an order rotated per round.
func measureAll(ctx context.Context, o Options, states []*state) error {
	var live []*state
	for _, s := range states {
		if s.run != nil {
			live = append(live, s)
		}
	}
	phases := []struct {
		phase  phase
		rounds int
		opts   load.Options
	}{
		{phaseHTTP, o.Rounds, load.Options{Conns: o.Conns, Rate: o.Rate, Warmup: o.Warmup, Duration: o.Window}},
		{phaseSaturation, o.SatRounds, load.Options{Conns: o.Conns, Warmup: o.Warmup, Duration: o.SatWindow}},
		{phaseGRPC, o.GRPCRounds, load.Options{Conns: o.Conns, Rate: o.Rate, Warmup: o.Warmup, Duration: o.GRPCWindow}},
	}
	for _, ph := range phases {
		for round := range ph.rounds {
			for i := range live {
				s := live[(i+round)%len(live)]
				if err := s.measure(ctx, ph.phase, ph.opts); err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					s.fail(ph.phase, err)
					o.Logger.Error("window failed", "component", "dataplane", "topology", s.topo.Name, "phase", ph.phase, "error", err)
					continue
				}
				m := s.phases[ph.phase]
				o.Logger.Info("window", "component", "dataplane", "topology", s.topo.Name, "phase", ph.phase,
					"round", round+1, "rps", int(m.load.RPS()), "errors", m.load.Errors)
			}
		}
	}
	return nil
}
