package controlplane

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/lateenmesh/lateen/bench/report"
)

// Result file names in OutDir.
const (
	PageFile   = "controlplane.md"
	JSONFile   = "controlplane.json"
	ChartFile  = "controlplane.png"
	PilotChart = "controlplane-pilot.png"
)

func writeResults(dir string, res *Result) error {
	if err := report.WriteJSON(filepath.Join(dir, JSONFile), res); err != nil {
		return err
	}
	var xs []float64
	var p99 []report.Series
	for _, k := range changeKinds {
		p99 = append(p99, report.Series{Name: k.name + " p99"})
	}
	rss := []report.Series{{Name: "pilot RSS"}, {Name: "pilot peak RSS"}}
	for _, sc := range res.Scales {
		xs = append(xs, float64(sc.Proxies))
		for i, c := range sc.Changes {
			p99[i].Values = append(p99[i].Values, float64(c.P99))
		}
		rss[0].Values = append(rss[0].Values, sc.PilotRSSMB)
		rss[1].Values = append(rss[1].Values, sc.PilotPeakMB)
	}
	if err := report.Lines(filepath.Join(dir, ChartFile), "Time until every affected proxy ACKed a change (p99)",
		"connected proxies", "ms", xs, p99, false); err != nil {
		return err
	}
	if err := report.Lines(filepath.Join(dir, PilotChart), "lateen-pilot memory", "connected proxies", "MB", xs, rss, false); err != nil {
		return err
	}
	return report.WriteFile(filepath.Join(dir, PageFile), []byte(page(res)))
}

func page(res *Result) string {
	var b strings.Builder
	b.WriteString(res.Header("Control plane benchmark"))
	fmt.Fprintf(&b, "One lateen-pilot process watches a directory with %d ServiceEntries (%d endpoints each, one file "+
		"per service) in %d namespaces; the first %d namespaces have a namespace-wide `Sidecar` with egress `./*`, "+
		"the others see the whole mesh. Simulated proxies (lateen-proxy's own ADS client: every resource decoded, "+
		"ACKed or NACKed as the real proxy does; spread evenly over the namespaces) connect over plaintext ADS. "+
		"Every change concerns a service of namespace 0, so the proxies of namespace 0 and of the unscoped "+
		"namespaces should get it, and those of the other scoped namespaces nothing. Each change is made %d times "+
		"per scale.\n\n", res.Services, res.Endpoints, res.Namespaces, res.Scoped, res.Reps)
	if res.Light {
		b.WriteString("**Light clients** (`--light`): the simulated proxies ACK without decoding endpoints or routes " +
			"(they decode clusters and listeners for the names to subscribe to), so this page measures pilot's part; " +
			"lateen-proxy's own client adds its decoding and validation to every latency.\n\n")
	}
	b.WriteString("Latency is from the file write to the proxy's ACK of the response carrying the change (for a new " +
		"service: its cluster, endpoints and route), so it includes pilot's file watching and debounce (about 30 ms) " +
		"and the proxy's own decoding and validation. *Delivered* stops when the last of those responses arrived at the " +
		"proxy, before it decoded them: pilot's part. " +
		"*Unneeded* counts proxies that do not see the change but received a response; *translations* is how many " +
		"proxy configurations pilot computed (`pilot_xds_push_time_count`). The simulated proxies run in one process " +
		"beside pilot on the same cores.\n\n")
	t := report.Table{Header: []string{"proxies", "change", "affected", "p50 ms", "p99 ms", "max ms", "delivered p50 ms",
		"delivered p99 ms", "first ACK ms", "missing", "unneeded", "translations", "pilot CPU s", "MB sent", "KB per receiving proxy"}}
	var notes []string
	for _, sc := range res.Scales {
		if sc.Error != "" {
			notes = append(notes, fmt.Sprintf("- **%d proxies: not completed.** %s\n", sc.Proxies, sc.Error))
		}
		for _, c := range sc.Changes {
			t.Add(fmt.Sprint(sc.Proxies), c.Kind, fmt.Sprint(c.Affected), report.Num(float64(c.P50), 1),
				report.Num(float64(c.P99), 1), report.Num(float64(c.Max), 1), report.Num(float64(c.DeliveredP50), 1),
				report.Num(float64(c.DeliveredP99), 1), report.Num(float64(c.First), 1),
				fmt.Sprint(c.Missing), report.Num(c.Unneeded, 1), report.Num(c.Translations, 0), report.Num(c.PilotCPU, 2),
				report.Num(c.Bytes/(1<<20), 2), report.Num(c.BytesPerProxy/1024, 1))
		}
	}
	b.WriteString(t.String() + "\n" + strings.Join(notes, "") + "\n![p99 by proxies](" + ChartFile + ")\n\n")
	s := report.Table{Header: []string{"proxies", "time to connect the new proxies s", "pilot RSS MB", "pilot peak RSS MB"}}
	for _, sc := range res.Scales {
		s.Add(fmt.Sprint(sc.Proxies), report.Num(sc.ConnectSeconds, 1), report.Num(sc.PilotRSSMB, 1), report.Num(sc.PilotPeakMB, 1))
	}
	b.WriteString("## Pilot\n\n" + s.String() + fmt.Sprintf("\nThe simulated proxies' process peaked at %.0f MB.\n\n", res.HarnessPeakMB) +
		"![pilot memory](" + PilotChart + ")\n\n")
	b.WriteString("## Targets\n\n" + targetTable(res) + "\n")
	b.WriteString("## How this was run\n\n```sh\nmake bench-controlplane\n" + res.Command + "\n```\n\n" +
		"The mesh and the changes are in `bench/controlplane/mesh.go`, the simulated proxy in `bench/controlplane/sim.go`.\n")
	return b.String()
}

func scaleAt(res *Result, proxies int) *Scale {
	for i := range res.Scales {
		if res.Scales[i].Proxies == proxies {
			return &res.Scales[i]
		}
	}
	return nil
}

func changeAt(res *Result, proxies int, kind string) *ChangeResult {
	for _, sc := range res.Scales {
		if sc.Proxies != proxies {
			continue
		}
		for i := range sc.Changes {
			if sc.Changes[i].Kind == kind {
				return &sc.Changes[i]
			}
		}
	}
	return nil
}

func targetTable(res *Result) string {
	t := report.Table{Header: []string{"target", "measured", "verdict"}}
	for _, tg := range []struct {
		proxies int
		ms      float64
	}{{1000, 1000}, {500, 100}} {
		name := fmt.Sprintf("an endpoint change reaches %d proxies in < %.0f ms p99", tg.proxies, tg.ms)
		if sc := scaleAt(res, tg.proxies); sc != nil && sc.Error != "" && changeAt(res, tg.proxies, "endpoint") == nil {
			t.Add(name, "scale not completed (see above)", string(report.Missed))
			continue
		}
		v := math.NaN()
		if c := changeAt(res, tg.proxies, "endpoint"); c != nil {
			v = float64(c.P99)
			if c.Missing > 0 {
				v = math.Inf(1)
			}
		}
		t.Add(name, report.Num(v, 1)+" ms", string(report.Check(v, v < tg.ms)))
	}
	unneeded, leaked, measured := 0.0, 0, false
	for _, sc := range res.Scales {
		for _, c := range sc.Changes {
			unneeded, leaked, measured = unneeded+c.Unneeded, leaked+c.Leaked, true
		}
	}
	v := math.NaN()
	if measured {
		v = unneeded
	}
	t.Add("an edit concerning one service pushes only to proxies that can see it",
		fmt.Sprintf("%s unneeded pushes per change (summed over kinds and scales), %d leaks", report.Num(v, 1), leaked),
		string(report.Check(v, v == 0 && leaked == 0)))
	rss := math.NaN()
	if sc := scaleAt(res, 500); sc != nil && sc.PilotPeakMB > 0 {
		rss = sc.PilotPeakMB
	} else if sc != nil && sc.Error != "" {
		rss = math.Inf(1)
	}
	name := "pilot RSS < 400 MB with 500 proxies over 500 services"
	verdict := report.Check(rss, rss < 400)
	switch {
	case res.Services > 500:
		name += fmt.Sprintf(" (measured over %d services, which is stricter)", res.Services)
	case res.Services < 500:
		name += fmt.Sprintf(" (measured over %d services: not comparable)", res.Services)
		verdict = report.Pending
	}
	t.Add(name, report.Num(rss, 1)+" MB peak", string(verdict))
	return t.String() + "\nA change that some affected proxy never acknowledged counts as missed. " +
		"Pilot's file watching and debounce take about 30 ms of the budget; see `first ACK ms` for the floor and " +
		"`delivered` for pilot's part.\n"
}
