package dataplane

import (
	"math"

	"github.com/lateenmesh/lateen/bench/load"
	"github.com/lateenmesh/lateen/bench/report"
	"github.com/lateenmesh/lateen/bench/upstream"
)

// Result is dataplane.json.
type Result struct {
	report.Run
	Settings   Settings          `json:"settings"`
	Versions   map[string]string `json:"versions"`
	Topologies []TopologyResult  `json:"topologies"`
}

// Settings are the load's parameters.
type Settings struct {
	Rate         float64 `json:"rate_rps"`
	Conns        int     `json:"connections"`
	Warmup       string  `json:"warmup_per_window"`
	Window       string  `json:"http_window"`
	Rounds       int     `json:"http_rounds"`
	SatWindow    string  `json:"saturation_window"`
	SatRounds    int     `json:"saturation_rounds"`
	GRPCWindow   string  `json:"grpc_window"`
	GRPCRounds   int     `json:"grpc_rounds"`
	PayloadBytes int     `json:"response_bytes"`
	SampleEvery  string  `json:"memory_sampled_every"`
}

func settingsOf(o Options) Settings {
	return Settings{
		Rate: o.Rate, Conns: o.Conns, Warmup: o.Warmup.String(),
		Window: o.Window.String(), Rounds: o.Rounds,
		SatWindow: o.SatWindow.String(), SatRounds: o.SatRounds,
		GRPCWindow: o.GRPCWindow.String(), GRPCRounds: o.GRPCRounds,
		PayloadBytes: upstream.PayloadSize, SampleEvery: sampleEvery.String(),
	}
}

// TopologyResult is one topology's line in every table.
type TopologyResult struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Status is ran, pending (listed, not runnable yet), skipped (a peer
	// is not installed) or failed.
	Status     string        `json:"status"`
	Reason     string        `json:"reason,omitempty"`
	HTTP       *Phase        `json:"http_fixed_rate,omitempty"`
	Saturation *Phase        `json:"http_saturation,omitempty"`
	GRPC       *Phase        `json:"grpc_fixed_rate,omitempty"`
	Proxies    []ProxyResult `json:"proxies,omitempty"`
}

// Phase is one kind of load's merged windows.
type Phase struct {
	Requests int          `json:"requests"`
	Errors   int          `json:"errors"`
	Seconds  float64      `json:"seconds"`
	RPS      float64      `json:"rps"`
	Latency  load.Summary `json:"latency"`
	Service  load.Summary `json:"service_time"`
	// Added is the latency over direct's, percentile by percentile.
	Added *load.Summary `json:"added_over_direct,omitempty"`
	Error string        `json:"error,omitempty"`
}

// ProxyResult is one proxy process (tree) of a pair.
type ProxyResult struct {
	Role      string `json:"role"`
	Processes int    `json:"processes"`
	// CPUPer1000 is CPU seconds per 1000 requests at the fixed rate.
	CPUPer1000 report.Float `json:"cpu_seconds_per_1000_requests"`
	// Cores is the CPU used at the fixed rate, in cores.
	Cores          report.Float `json:"cores_at_fixed_rate"`
	CPUPer1000Sat  report.Float `json:"cpu_seconds_per_1000_requests_saturation"`
	CPUPer1000GRPC report.Float `json:"cpu_seconds_per_1000_requests_grpc"`
	RSSSteadyMB    float64      `json:"rss_steady_mb"`
	RSSPeakMB      float64      `json:"rss_peak_mb"`
	PSSSteadyMB    float64      `json:"pss_steady_mb"`
	// RSSSamples is how many samples the steady value is the median of.
	RSSSamples int `json:"rss_samples"`
}

func results(o Options, states []*state) []TopologyResult {
	var direct *state
	for _, s := range states {
		if s.topo.Name == "direct" {
			direct = s
		}
	}
	out := make([]TopologyResult, 0, len(states))
	for _, s := range states {
		tr := TopologyResult{Name: s.topo.Name, Description: s.topo.Description, Status: s.status, Reason: s.reason}
		if s.run != nil {
			tr.HTTP = s.phaseResult(phaseHTTP, direct)
			tr.Saturation = s.phaseResult(phaseSaturation, nil)
			tr.GRPC = s.phaseResult(phaseGRPC, direct)
			tr.Proxies = s.proxyResults()
		}
		out = append(out, tr)
	}
	return out
}

func (s *state) phaseResult(p phase, direct *state) *Phase {
	m := s.phases[p]
	if m == nil {
		return nil
	}
	ph := &Phase{
		Requests: m.load.Requests, Errors: m.load.Errors, Seconds: m.load.Window.Seconds(), RPS: m.load.RPS(),
		Latency: m.load.Latency.Summarize(), Service: m.load.Service.Summarize(), Error: m.err,
	}
	if direct != nil && direct != s && direct.phases[p] != nil && ph.Latency.Count > 0 {
		base := direct.phases[p].load.Latency.Summarize()
		ph.Added = &load.Summary{
			Count: ph.Latency.Count, Mean: ph.Latency.Mean - base.Mean,
			P50: ph.Latency.P50 - base.P50, P90: ph.Latency.P90 - base.P90, P99: ph.Latency.P99 - base.P99,
			P999: ph.Latency.P999 - base.P999, Max: ph.Latency.Max - base.Max,
		}
	}
	return ph
}

func (s *state) proxyResults() []ProxyResult {
	var out []ProxyResult
	per1000 := func(p phase, i int) report.Float {
		m := s.phases[p]
		if m == nil || m.load.Requests == 0 {
			return report.NaN()
		}
		return report.Float(m.cpu[i].Seconds() / (float64(m.load.Requests) / 1000))
	}
	for i, pp := range s.run.proxies {
		r := ProxyResult{
			Role: pp.Role, CPUPer1000: per1000(phaseHTTP, i), CPUPer1000Sat: per1000(phaseSaturation, i),
			CPUPer1000GRPC: per1000(phaseGRPC, i), Cores: report.NaN(),
			RSSSteadyMB: report.MB(median(s.rss[i])), PSSSteadyMB: report.MB(median(s.pss[i])),
			RSSPeakMB: report.MB(s.peak[i]), RSSSamples: len(s.rss[i]),
		}
		if m := s.phases[phaseHTTP]; m != nil && m.load.Window > 0 {
			r.Cores = report.Float(m.cpu[i].Seconds() / m.load.Window.Seconds())
		}
		if u, err := s.usage(); err == nil {
			r.Processes = u[i].Procs
		}
		out = append(out, r)
	}
	return out
}

// cpuPerPair is the CPU seconds per 1000 requests of all the proxies of a
// topology at the fixed rate (NaN when unknown).
func (t TopologyResult) cpuPerPair() float64 {
	if len(t.Proxies) == 0 {
		return math.NaN()
	}
	var sum float64
	for _, p := range t.Proxies {
		sum += float64(p.CPUPer1000)
	}
	return sum
}

// added returns the added latency at a percentile index (0 p50, 1 p90,
// 2 p99, 3 p99.9) of a phase, NaN when not measured.
func added(ph *Phase, i int) float64 {
	if ph == nil || ph.Added == nil {
		return math.NaN()
	}
	return ph.Added.Percentiles()[i]
}
