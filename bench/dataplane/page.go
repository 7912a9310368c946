package dataplane

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/lateenmesh/lateen/bench/load"
	"github.com/lateenmesh/lateen/bench/report"
)

// Result file names in OutDir.
const (
	PageFile     = "dataplane.md"
	JSONFile     = "dataplane.json"
	LatencyChart = "dataplane-latency.png"
	GRPCChart    = "dataplane-latency-grpc.png"
	CPUChart     = "dataplane-cpu.png"
	MemoryChart  = "dataplane-memory.png"
	subjectName  = "lateen"
	subjectMTLS  = "lateen-mtls"
)

func writeResults(dir string, res *Result) error {
	if err := report.WriteJSON(filepath.Join(dir, JSONFile), res); err != nil {
		return err
	}
	if err := writeCharts(dir, res); err != nil {
		return err
	}
	return report.WriteFile(filepath.Join(dir, PageFile), []byte(page(res)))
}

func ran(res *Result) []TopologyResult {
	var out []TopologyResult
	for _, t := range res.Topologies {
		if t.Status == "ran" {
			out = append(out, t)
		}
	}
	return out
}

func find(res *Result, name string) *TopologyResult {
	for i := range res.Topologies {
		if res.Topologies[i].Name == name && res.Topologies[i].Status == "ran" {
			return &res.Topologies[i]
		}
	}
	return nil
}

func page(res *Result) string {
	var b strings.Builder
	b.WriteString(res.Header("Data plane benchmark"))
	s := res.Settings
	fmt.Fprintf(&b, "Load: HTTP/1.1 keep-alive over %d connections at %.0f requests/s, %d rounds of %s "+
		"(plus %s warm-up each); saturation (as fast as the connections go) %d rounds of %s; gRPC unary at %.0f/s "+
		"(one HTTP/2 connection, %d concurrent callers) %d rounds of %s. Every response is %d bytes. Each round runs "+
		"every topology once, in an order rotated per round, so that what else the machine does hits all alike.\n\n",
		s.Conns, s.Rate, s.Rounds, s.Window, s.Warmup, s.SatRounds, s.SatWindow, s.Rate, s.Conns, s.GRPCRounds, s.GRPCWindow, s.PayloadBytes)
	b.WriteString("Latency is measured from when each request was due, so a stalled connection's queued requests count " +
		"their wait (coordinated omission corrected, as wrk2). Added latency is the topology's percentile minus " +
		"direct's. CPU is user + system time of each proxy process and its children from /proc over the measured " +
		"windows; memory is VmRSS summed over the proxy's processes (steady: median of samples every " + s.SampleEvery +
		" during the fixed-rate windows; peak: VmHWM).\n\n")
	b.WriteString(topologyList(res))
	b.WriteString("## HTTP/1.1 at a fixed rate\n\n" + latencyTable(res, func(t TopologyResult) *Phase { return t.HTTP }) + "\n")
	b.WriteString("![added latency](" + LatencyChart + ")\n\n")
	b.WriteString("## Throughput at saturation\n\n" + saturationTable(res) + "\n")
	b.WriteString("## gRPC at a fixed rate\n\n" + latencyTable(res, func(t TopologyResult) *Phase { return t.GRPC }) + "\n")
	b.WriteString("![added gRPC latency](" + GRPCChart + ")\n\n")
	b.WriteString("## CPU and memory per proxy\n\n" + proxyTable(res) + "\n")
	b.WriteString("![CPU per 1000 requests](" + CPUChart + ")\n\n![memory](" + MemoryChart + ")\n\n")
	b.WriteString("## Lateen against each peer (ratios)\n\n" + ratioTable(res) + "\n")
	b.WriteString("## Targets\n\n" + targetTable(res) + "\n")
	b.WriteString(reproduce(res))
	return b.String()
}

func topologyList(res *Result) string {
	var b strings.Builder
	b.WriteString("## Topologies\n\n")
	for _, t := range res.Topologies {
		fmt.Fprintf(&b, "- **%s**: %s", t.Name, t.Description)
		if t.Status != "ran" {
			fmt.Fprintf(&b, " — *%s*: %s", t.Status, t.Reason)
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	return b.String()
}

func latencyTable(res *Result, get func(TopologyResult) *Phase) string {
	t := report.Table{Header: []string{"topology", "added p50", "added p90", "added p99", "added p99.9", "p50", "p99", "p99.9", "max", "requests", "errors"}}
	for _, tr := range ran(res) {
		ph := get(tr)
		if ph == nil {
			continue
		}
		row := []string{tr.Name}
		for i := range load.PercentileNames {
			row = append(row, report.Num(added(ph, i), 3))
		}
		l := ph.Latency
		row = append(row, report.Num(l.P50, 3), report.Num(l.P99, 3), report.Num(l.P999, 3), report.Num(l.Max, 2),
			fmt.Sprint(ph.Requests), errorCell(ph))
		t.Add(row...)
	}
	return "Milliseconds.\n\n" + t.String()
}

func errorCell(ph *Phase) string {
	if ph.Error != "" {
		return fmt.Sprintf("%d (%s)", ph.Errors, ph.Error)
	}
	return fmt.Sprint(ph.Errors)
}

func saturationTable(res *Result) string {
	t := report.Table{Header: []string{"topology", "requests/s", "of direct", "p50 ms", "p99 ms", "errors"}}
	var direct float64
	if d := find(res, "direct"); d != nil && d.Saturation != nil {
		direct = d.Saturation.RPS
	}
	for _, tr := range ran(res) {
		if tr.Saturation == nil {
			continue
		}
		ph := tr.Saturation
		t.Add(tr.Name, report.Num(ph.RPS, 0), report.Ratio(ph.RPS, direct), report.Num(ph.Latency.P50, 3),
			report.Num(ph.Latency.P99, 3), errorCell(ph))
	}
	return "The load client, the upstream and both proxies share the machine's cores: saturation is the " +
		"whole chain's, and the ratio to direct is the number to compare.\n\n" + t.String()
}

func proxyTable(res *Result) string {
	t := report.Table{Header: []string{"topology", "proxy", "processes", "CPU s / 1000 req", "cores at fixed rate",
		"CPU s / 1000 req (saturation)", "CPU s / 1000 req (gRPC)", "RSS steady MB", "RSS peak MB"}}
	for _, tr := range ran(res) {
		for _, p := range tr.Proxies {
			t.Add(tr.Name, p.Role, fmt.Sprint(p.Processes), report.Num(float64(p.CPUPer1000), 4), report.Num(float64(p.Cores), 3),
				report.Num(float64(p.CPUPer1000Sat), 4), report.Num(float64(p.CPUPer1000GRPC), 4), report.Num(p.RSSSteadyMB, 1), report.Num(p.RSSPeakMB, 1))
		}
	}
	return t.String()
}

// subjects are the Lateen topologies that ran, mutual TLS first.
func subjects(res *Result) []*TopologyResult {
	var out []*TopologyResult
	for _, name := range []string{subjectMTLS, subjectName} {
		if t := find(res, name); t != nil {
			out = append(out, t)
		}
	}
	return out
}

func ratioTable(res *Result) string {
	t := report.Table{Header: []string{"Lateen ÷ peer", "added p50", "added p99", "CPU per request (pair)", "saturation rps", "RSS steady (pair)"}}
	for _, sub := range subjects(res) {
		for _, peer := range ran(res) {
			if peer.Name == "direct" || strings.HasPrefix(peer.Name, subjectName) {
				continue
			}
			t.Add(sub.Name+" ÷ "+peer.Name,
				report.Ratio(added(sub.HTTP, 0), added(peer.HTTP, 0)),
				report.Ratio(added(sub.HTTP, 2), added(peer.HTTP, 2)),
				report.Ratio(sub.cpuPerPair(), peer.cpuPerPair()),
				report.Ratio(rps(sub), rps(&peer)),
				report.Ratio(rssPair(*sub), rssPair(peer)))
		}
	}
	if len(t.Rows) == 0 {
		return "No Lateen topology and peer both ran.\n"
	}
	return "Below 1 is better for Lateen, except saturation where above 1 is.\n\n" + t.String()
}

func rps(t *TopologyResult) float64 {
	if t.Saturation == nil {
		return math.NaN()
	}
	return t.Saturation.RPS
}

func rssPair(t TopologyResult) float64 {
	var sum float64
	for _, p := range t.Proxies {
		sum += p.RSSSteadyMB
	}
	return sum
}

func reproduce(res *Result) string {
	var b strings.Builder
	b.WriteString("## How this was run\n\n")
	fmt.Fprintf(&b, "```sh\nmake bench-dataplane    # installs nginx and HAProxy with bench/install-peers.sh, then:\n%s\n```\n\n", res.Command)
	for _, name := range []string{"nginx", "haproxy"} {
		if v := res.Versions[name]; v != "" {
			fmt.Fprintf(&b, "- %s: %s\n", name, v)
		}
	}
	b.WriteString("- Peer configurations: `bench/peers/nginx.go`, `bench/peers/haproxy.go`, `bench/goproxy/`; " +
		"Lateen's mesh: `bench/dataplane/lateen.go`. Every process runs on its own loopback address.\n")
	return b.String()
}
