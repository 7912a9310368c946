package load

import (
	"math"
	"slices"
	"time"
)

// Samples are request latencies. Every sample is kept (a minute at 1000 rps
// is 60,000 of them, 480 KB), so percentiles are exact.
type Samples []time.Duration

// Percentile returns the p-th percentile (0 < p <= 100) by the nearest-rank
// method, or 0 for no samples. s must be sorted.
func (s Samples) Percentile(p float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	rank := int(math.Ceil(p*float64(len(s))/100 - 1e-9))
	rank = min(max(rank, 1), len(s))
	return s[rank-1]
}

// Summary is what a report shows of a set of samples.
type Summary struct {
	Count int     `json:"count"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p99_9_ms"`
	Max   float64 `json:"max_ms"`
}

// Summarize sorts a copy of s and returns its percentiles in milliseconds.
func (s Samples) Summarize() Summary {
	sorted := slices.Clone(s)
	slices.Sort(sorted)
	out := Summary{Count: len(sorted)}
	if len(sorted) == 0 {
		return out
	}
	var total time.Duration
	for _, d := range sorted {
		total += d
	}
	out.Mean = ms(total / time.Duration(len(sorted)))
	out.P50 = ms(sorted.Percentile(50))
	out.P90 = ms(sorted.Percentile(90))
	out.P99 = ms(sorted.Percentile(99))
	out.P999 = ms(sorted.Percentile(99.9))
	out.Max = ms(sorted[len(sorted)-1])
	return out
}

// Percentiles returns p50, p90, p99 and p99.9 of a summary, in that order.
func (s Summary) Percentiles() []float64 { return []float64{s.P50, s.P90, s.P99, s.P999} }

// PercentileNames label Percentiles.
var PercentileNames = []string{"p50", "p90", "p99", "p99.9"}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
