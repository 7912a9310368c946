package dataplane

import (
	"math"
	"path/filepath"

	"github.com/lateenmesh/lateen/bench/load"
	"github.com/lateenmesh/lateen/bench/peers"
	"github.com/lateenmesh/lateen/bench/report"
)

func writeCharts(dir string, res *Result) error {
	var proxied []TopologyResult
	for _, t := range ran(res) {
		if t.Name != "direct" {
			proxied = append(proxied, t)
		}
	}
	if len(proxied) == 0 {
		return nil
	}
	if err := latencyCharts(dir, proxied); err != nil {
		return err
	}
	return proxyCharts(dir, proxied)
}

// latencyCharts draw the added latency per percentile, one bar per
// topology, for HTTP and for gRPC.
func latencyCharts(dir string, proxied []TopologyResult) error {
	for _, c := range []struct {
		file, title string
		get         func(TopologyResult) *Phase
	}{
		{LatencyChart, "HTTP/1.1: latency added over direct", func(t TopologyResult) *Phase { return t.HTTP }},
		{GRPCChart, "gRPC: latency added over direct", func(t TopologyResult) *Phase { return t.GRPC }},
	} {
		var series []report.Series
		for _, t := range proxied {
			s := report.Series{Name: t.Name}
			for i := range load.PercentileNames {
				s.Values = append(s.Values, added(c.get(t), i))
			}
			series = append(series, s)
		}
		if err := report.Bars(filepath.Join(dir, c.file), c.title, "ms", load.PercentileNames, series); err != nil {
			return err
		}
	}
	return nil
}

// proxyCharts draw CPU per request and memory, one group per topology, one
// bar per side of the pair.
func proxyCharts(dir string, proxied []TopologyResult) error {
	names := make([]string, len(proxied))
	for i, t := range proxied {
		names[i] = t.Name
	}
	perSide := func(suffix string, get func(ProxyResult) float64) []report.Series {
		var out []report.Series
		for _, side := range peers.Sides {
			s := report.Series{Name: string(side) + suffix}
			for _, t := range proxied {
				v := math.NaN()
				for _, p := range t.Proxies {
					if p.Role == string(side) {
						v = get(p)
					}
				}
				s.Values = append(s.Values, v)
			}
			out = append(out, s)
		}
		return out
	}
	err := report.Bars(filepath.Join(dir, CPUChart), "CPU per 1000 requests at the fixed rate, per proxy", "CPU seconds",
		names, perSide("", func(p ProxyResult) float64 { return float64(p.CPUPer1000) }))
	if err != nil {
		return err
	}
	mem := append(perSide(" steady", func(p ProxyResult) float64 { return p.RSSSteadyMB }),
		perSide(" peak", func(p ProxyResult) float64 { return p.RSSPeakMB })...)
	return report.Bars(filepath.Join(dir, MemoryChart), "Resident memory per proxy", "MB", names, mem)
}
