package controlplane

import (
	"slices"
	"time"

	"github.com/lateenmesh/lateen/bench/load"
	"github.com/lateenmesh/lateen/bench/report"
)

// Result is controlplane.json.
type Result struct {
	report.Run
	Services   int `json:"services"`
	Endpoints  int `json:"endpoints_per_service"`
	Namespaces int `json:"namespaces"`
	Scoped     int `json:"scoped_namespaces"`
	Reps       int `json:"repetitions"`
	// Light: the simulated proxies used the light client (pilot alone).
	Light  bool    `json:"light_clients,omitempty"`
	Scales []Scale `json:"scales"`
	// HarnessPeakMB is the simulated proxies' process at its largest.
	HarnessPeakMB float64 `json:"harness_peak_rss_mb"`
}

// Scale is one number of connected proxies.
type Scale struct {
	Proxies int `json:"proxies"`
	// ConnectSeconds is how long the proxies added for this scale took to
	// all receive a complete configuration.
	ConnectSeconds float64        `json:"connect_seconds"`
	PilotRSSMB     float64        `json:"pilot_rss_mb"`
	PilotPeakMB    float64        `json:"pilot_peak_rss_mb"`
	Changes        []ChangeResult `json:"changes"`
	// Error says why the scale was not completed.
	Error string `json:"error,omitempty"`
}

// ChangeResult is one kind of change at one scale, over its repetitions.
type ChangeResult struct {
	Kind        string `json:"kind"`
	Description string `json:"description"`
	// Affected is how many proxies see the change (each repetition).
	Affected int `json:"affected_proxies"`
	// P50, P99, Max: milliseconds from the file write until an affected
	// proxy ACKed the change, over every affected proxy and repetition.
	P50 report.Float `json:"p50_ms"`
	P99 report.Float `json:"p99_ms"`
	Max report.Float `json:"max_ms"`
	// First is the median over repetitions of the first ACK (pilot's
	// ingestion and debounce plus one translation).
	First report.Float `json:"first_ack_ms"`
	// DeliveredP50, DeliveredP99: milliseconds from the file write until
	// the change's last response arrived at an affected proxy, before the
	// proxy decoded it: pilot's part of the latency (the simulated
	// proxies still share the cores).
	DeliveredP50 report.Float `json:"delivered_p50_ms"`
	DeliveredP99 report.Float `json:"delivered_p99_ms"`
	// Missing affected proxies never ACKed the change (in all
	// repetitions); NACKs rejected it.
	Missing int `json:"missing"`
	NACKs   int `json:"nacks"`
	// Unneeded is the mean number of proxies per change that do not see
	// the change but received a response anyway; Leaked of those received
	// the change itself (a visibility bug).
	Unneeded float64 `json:"unneeded_pushes"`
	Leaked   int     `json:"leaked"`
	// Translations is the mean number of proxy configurations pilot
	// computed per change (pilot_xds_push_time_count).
	Translations float64 `json:"translations"`
	// PilotCPU is pilot's CPU seconds per change.
	PilotCPU float64 `json:"pilot_cpu_seconds"`
	// Bytes is the mean xDS bytes sent per change, and per proxy that
	// received anything.
	Bytes         float64 `json:"bytes_per_change"`
	BytesPerProxy float64 `json:"bytes_per_receiving_proxy"`

	all       load.Samples
	delivered load.Samples
	firsts    []time.Duration
	n         int
	sums      struct{ unneeded, translations, cpu, bytes, receivers float64 }
}

func (c *ChangeResult) add(m measurement) {
	c.n++
	c.Affected = m.affected
	c.all = append(c.all, m.latencies...)
	c.delivered = append(c.delivered, m.delivered...)
	if len(m.latencies) > 0 {
		c.firsts = append(c.firsts, slices.Min(m.latencies))
	}
	c.Missing += m.missing
	c.NACKs += m.nacks
	c.Leaked += m.leaked
	c.sums.unneeded += float64(m.unneeded)
	c.sums.translations += m.translations
	c.sums.cpu += m.pilotCPU.Seconds()
	c.sums.bytes += float64(m.bytes)
	c.sums.receivers += float64(m.receivers)
}

func (c *ChangeResult) finish() {
	s := c.all.Summarize()
	c.P50, c.P99, c.Max = report.Float(s.P50), report.Float(s.P99), report.Float(s.Max)
	if s.Count == 0 {
		c.P50, c.P99, c.Max = report.NaN(), report.NaN(), report.NaN()
	}
	d := c.delivered.Summarize()
	c.DeliveredP50, c.DeliveredP99 = report.Float(d.P50), report.Float(d.P99)
	if d.Count == 0 {
		c.DeliveredP50, c.DeliveredP99 = report.NaN(), report.NaN()
	}
	c.First = report.NaN()
	if len(c.firsts) > 0 {
		f := slices.Clone(c.firsts)
		slices.Sort(f)
		c.First = report.Float(float64(f[len(f)/2]) / float64(time.Millisecond))
	}
	n := float64(max(c.n, 1))
	c.Unneeded = c.sums.unneeded / n
	c.Translations = c.sums.translations / n
	c.PilotCPU = c.sums.cpu / n
	c.Bytes = c.sums.bytes / n
	if c.sums.receivers > 0 {
		c.BytesPerProxy = c.sums.bytes / c.sums.receivers
	}
}
