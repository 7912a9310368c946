package dataplane

import (
	"fmt"
	"math"

	"github.com/lateenmesh/lateen/bench/report"
)

// Targets of the Benchmarks issue for the data plane.
const (
	targetCoresPerSidecar = 0.05 // at the fixed rate (1000 rps)
	targetCPUOfGo         = 0.5  // Lateen pair CPU per request ÷ Go pair's
)

// targetTable states where the run stands against each data-plane target.
// The mutual TLS pair is the subject; until it runs, the plaintext pair
// stands in and the rows say so.
func targetTable(res *Result) string {
	subs := subjects(res)
	if len(subs) == 0 {
		return "No Lateen topology ran.\n"
	}
	sub := subs[0]
	note := ""
	if sub.Name != subjectMTLS {
		note = " (plaintext pair standing in: mutual TLS not measured)"
	}
	t := report.Table{Header: []string{"target", "measured", "bound", "verdict"}}

	bestP50, bestP99 := bestPeer(res, 0), bestPeer(res, 2)
	p50, p99 := added(sub.HTTP, 0), added(sub.HTTP, 2)
	t.Add("added latency at p50 ≤ the better of nginx/HAProxy"+note, report.Num(p50, 3)+" ms", report.Num(bestP50, 3)+" ms",
		string(check(p50, bestP50, p50 <= bestP50)))
	t.Add("added latency at p99 ≤ the better of nginx/HAProxy"+note, report.Num(p99, 3)+" ms", report.Num(bestP99, 3)+" ms",
		string(check(p99, bestP99, p99 <= bestP99)))

	goCPU := math.NaN()
	if g := find(res, "go-reverseproxy"); g != nil {
		goCPU = g.cpuPerPair()
	}
	cpu := sub.cpuPerPair()
	t.Add("CPU per request ≤ half the Go ReverseProxy pair's"+note, report.Num(cpu, 4)+" s/1000", report.Num(goCPU*targetCPUOfGo, 4)+" s/1000",
		string(check(cpu, goCPU, cpu <= goCPU*targetCPUOfGo)))

	cores := math.NaN()
	for _, p := range sub.Proxies {
		if c := float64(p.Cores); math.IsNaN(cores) || c > cores {
			cores = c
		}
	}
	t.Add(fmt.Sprintf("CPU per sidecar at %.0f rps ≤ %.2f core%s", res.Settings.Rate, targetCoresPerSidecar, note),
		report.Num(cores, 3)+" core", report.Num(targetCoresPerSidecar, 2)+" core", string(report.Check(cores, cores <= targetCoresPerSidecar)))
	out := t.String()
	if sub.Name != subjectMTLS {
		out += "\nThe targets are stated for Lateen's mutual TLS pair with telemetry; neither has landed, so the " +
			"verdicts above are for the plaintext pair and say nothing yet about the target itself.\n"
	}
	return out
}

// bestPeer is the lower added latency of nginx and HAProxy at a
// percentile index, NaN when neither ran.
func bestPeer(res *Result, i int) float64 {
	best := math.NaN()
	for _, name := range []string{"nginx", "haproxy"} {
		if t := find(res, name); t != nil {
			if v := added(t.HTTP, i); !math.IsNaN(v) && (math.IsNaN(best) || v < best) {
				best = v
			}
		}
	}
	return best
}

// check is Pending when either side is unknown.
func check(value, bound float64, ok bool) report.Verdict {
	if math.IsNaN(bound) {
		return report.Pending
	}
	return report.Check(value, ok)
}
