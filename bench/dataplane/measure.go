package dataplane

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/lateenmesh/lateen/bench/load"
	"github.com/lateenmesh/lateen/bench/proc"
)

// phase is one kind of load.
type phase string

const (
	phaseHTTP       phase = "http-fixed-rate"
	phaseSaturation phase = "http-saturation"
	phaseGRPC       phase = "grpc-fixed-rate"
)

// state accumulates one topology's measurements over the rounds.
type state struct {
	topo   Topology
	run    *running
	status string // ran, pending, skipped, failed
	reason string
	phases map[phase]*measured
	// rss holds each proxy's resident memory sampled during the HTTP
	// fixed-rate windows (bytes), for the steady value.
	rss, pss [][]uint64
	peak     []uint64
}

type measured struct {
	load load.Result
	cpu  []time.Duration // per proxy
	err  string
}

func (s *state) phase(p phase) *measured {
	if s.phases == nil {
		s.phases = map[phase]*measured{}
		n := len(s.run.proxies)
		s.rss, s.pss, s.peak = make([][]uint64, n), make([][]uint64, n), make([]uint64, n)
	}
	m := s.phases[p]
	if m == nil {
		m = &measured{cpu: make([]time.Duration, len(s.run.proxies))}
		s.phases[p] = m
	}
	return m
}

func (s *state) fail(p phase, err error) { s.phase(p).err = err.Error() }

// sampleEvery is how often memory is read during fixed-rate windows.
const sampleEvery = 500 * time.Millisecond

// measure runs one window of phase p and adds it to the totals: the load's
// results, each proxy's CPU time over the window, and memory samples.
func (s *state) measure(ctx context.Context, p phase, opts load.Options) error {
	m := s.phase(p)
	dial, closeDial, err := s.dialer(p)
	if err != nil {
		return err
	}
	defer closeDial()
	before, err := s.usage()
	if err != nil {
		return err
	}
	stopSampling := s.sample(p == phaseHTTP)
	res, err := load.Run(ctx, dial, opts)
	stopSampling()
	if err != nil {
		return err
	}
	after, err := s.usage()
	if err != nil {
		return err
	}
	// The load's window excludes warm-up; scale the CPU measured over
	// warm-up + window down to the window.
	scale := float64(opts.Duration) / float64(opts.Duration+opts.Warmup)
	for i := range after {
		m.cpu[i] += time.Duration(float64(after[i].CPU-before[i].CPU) * scale)
		s.peak[i] = max(s.peak[i], after[i].Peak)
	}
	m.load.Merge(res)
	return nil
}

func (s *state) dialer(p phase) (load.Dial, func(), error) {
	if p != phaseGRPC {
		return s.run.http.Dial(), func() {}, nil
	}
	c, err := load.NewGRPCClient(s.run.grpc)
	if err != nil {
		return nil, nil, err
	}
	return c.Dial(), func() { c.Close() }, nil
}

// usage reads every proxy process tree of the topology.
func (s *state) usage() ([]proc.Usage, error) {
	out := make([]proc.Usage, len(s.run.proxies))
	for i, pp := range s.run.proxies {
		u, err := proc.Tree(pp.PID)
		if err != nil {
			return nil, fmt.Errorf("%s proxy (pid %d): %w", pp.Role, pp.PID, err)
		}
		out[i] = u
	}
	return out, nil
}

// sample reads memory every sampleEvery until the returned function is
// called; when record is false it only tracks the peak.
func (s *state) sample(record bool) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(sampleEvery)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			u, err := s.usage()
			if err != nil {
				continue
			}
			for i := range u {
				s.peak[i] = max(s.peak[i], u[i].Peak)
				if record {
					s.rss[i] = append(s.rss[i], u[i].RSS)
					s.pss[i] = append(s.pss[i], u[i].PSS)
				}
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}

// median of samples, 0 for none.
func median(v []uint64) uint64 {
	if len(v) == 0 {
		return 0
	}
	c := slices.Clone(v)
	slices.Sort(c)
	return c[len(c)/2]
}
