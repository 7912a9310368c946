package memory

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/lateenmesh/lateen/bench/report"
)

// Result file names in OutDir.
const (
	PageFile  = "memory.md"
	JSONFile  = "memory.json"
	ChartFile = "memory.png"
)

// Result is memory.json.
type Result struct {
	report.Run
	Endpoints    int    `json:"endpoints_per_service"`
	PerNamespace int    `json:"services_per_namespace"`
	Settle       string `json:"sampled_for"`
	Sizes        []Size `json:"sizes"`
}

// Size is one mesh size.
type Size struct {
	Services int `json:"services"`
	// Full sees every service; Narrowed has a Sidecar with egress "./*".
	Full     Proxy   `json:"full_scope"`
	Narrowed Proxy   `json:"narrowed_scope"`
	PilotMB  float64 `json:"pilot_rss_mb"`
	// Error says why this size could not be measured.
	Error string `json:"error,omitempty"`
}

// Proxy is one sidecar's memory.
type Proxy struct {
	InScope     int     `json:"services_in_scope"`
	RSSSteadyMB float64 `json:"rss_steady_mb"`
	RSSPeakMB   float64 `json:"rss_peak_mb"`
	// AnonSteadyMB is the anonymous part of RSS (heap, stacks: what is
	// the sidecar's alone); the rest is the binary's pages, shared with
	// every process running it and with the page cache.
	AnonSteadyMB float64 `json:"anon_steady_mb"`
	Samples      int     `json:"samples"`
	// SyncedSeconds is from the proxies' start until pilot saw both
	// acknowledge their configuration.
	SyncedSeconds float64 `json:"synced_seconds"`
}

// Targets of the Benchmarks issue: full-scope RSS by mesh size.
var targets = []struct {
	services int
	mb       float64
}{{100, 20}, {5000, 60}}

func writeResults(dir string, res *Result) error {
	if err := report.WriteJSON(filepath.Join(dir, JSONFile), res); err != nil {
		return err
	}
	var xs []float64
	series := []report.Series{{Name: "full scope, steady"}, {Name: "full scope, peak"}, {Name: "Sidecar-narrowed, steady"}, {Name: "Sidecar-narrowed, peak"}}
	for _, s := range res.Sizes {
		xs = append(xs, float64(s.Services))
		values := []float64{s.Full.RSSSteadyMB, s.Full.RSSPeakMB, s.Narrowed.RSSSteadyMB, s.Narrowed.RSSPeakMB}
		if s.Error != "" {
			values = []float64{math.NaN(), math.NaN(), math.NaN(), math.NaN()}
		}
		for i, v := range values {
			series[i].Values = append(series[i].Values, v)
		}
	}
	if err := report.Lines(filepath.Join(dir, ChartFile), "lateen-proxy resident memory by mesh size",
		"services in the mesh", "MB", xs, series, true); err != nil {
		return err
	}
	return report.WriteFile(filepath.Join(dir, PageFile), []byte(page(res)))
}

func page(res *Result) string {
	var b strings.Builder
	b.WriteString(res.Header("Sidecar memory by mesh size"))
	fmt.Fprintf(&b, "Each size is a fresh lateen-pilot and two lateen-proxy sidecars in namespace `ns-0000`. The mesh has "+
		"one ServiceEntry per service (HTTP port 8080, %d endpoints inline, labelled v1/v2) and a DestinationRule "+
		"with subsets v1 and v2 (so three clusters per service), %d services per namespace. The *full scope* proxy "+
		"sees every service; the *narrowed* one is selected by a `Sidecar` whose egress hosts are `./*` (its own "+
		"namespace). Memory is VmRSS sampled every 250 ms for %s after pilot saw both proxies acknowledge their "+
		"configuration (steady: the median); peak is VmHWM. *Private* is the anonymous part of the steady RSS "+
		"(RssAnon: heap and stacks, the sidecar's own); the rest is lateen-proxy's binary mapped from the page "+
		"cache, shared by every sidecar of a node that runs the same binary.\n\n", res.Endpoints, res.PerNamespace, res.Settle)
	t := report.Table{Header: []string{"services", "full: RSS steady MB", "full: private MB", "full: peak MB",
		"narrowed: in scope", "narrowed: RSS steady MB", "narrowed: private MB", "narrowed: peak MB", "sync s", "pilot RSS MB"}}
	var failed []string
	for _, s := range res.Sizes {
		if s.Error != "" {
			failed = append(failed, fmt.Sprintf("- **%d services: not measured.** %s\n", s.Services, s.Error))
			t.Add(fmt.Sprint(s.Services), "failed", "", "", "", "", "", "", "", "")
			continue
		}
		t.Add(fmt.Sprint(s.Services), report.Num(s.Full.RSSSteadyMB, 1), report.Num(s.Full.AnonSteadyMB, 1),
			report.Num(s.Full.RSSPeakMB, 1), fmt.Sprint(s.Narrowed.InScope), report.Num(s.Narrowed.RSSSteadyMB, 1),
			report.Num(s.Narrowed.AnonSteadyMB, 1), report.Num(s.Narrowed.RSSPeakMB, 1),
			report.Num(s.Full.SyncedSeconds, 1), report.Num(s.PilotMB, 1))
	}
	b.WriteString(t.String() + "\n" + strings.Join(failed, "") + "\n![memory by mesh size](" + ChartFile + ")\n\n")
	b.WriteString("## Targets\n\n" + targetTable(res) + "\n")
	b.WriteString("## How this was run\n\n```sh\nmake bench-memory\n" + res.Command + "\n```\n\n" +
		"The mesh is written by `bench/memory/mesh.go`.\n")
	return b.String()
}

func targetTable(res *Result) string {
	t := report.Table{Header: []string{"target", "measured (steady / peak)", "verdict"}}
	for _, tg := range targets {
		steady, peak, failed := math.NaN(), math.NaN(), false
		for _, s := range res.Sizes {
			if s.Services == tg.services {
				steady, peak, failed = s.Full.RSSSteadyMB, s.Full.RSSPeakMB, s.Error != ""
			}
		}
		name := fmt.Sprintf("RSS ≤ %.0f MB with %d services (full scope)", tg.mb, tg.services)
		if failed {
			t.Add(name, "the proxy did not get its configuration", string(report.Missed))
			continue
		}
		t.Add(name, report.Num(steady, 1)+" / "+report.Num(peak, 1)+" MB", string(report.Check(steady, steady <= tg.mb)))
	}
	return t.String() + "\nThe verdict is on the steady value; the peak (while decoding the first configuration) is shown beside it.\n"
}
