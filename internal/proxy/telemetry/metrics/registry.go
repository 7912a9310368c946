// Package metrics is the proxy's side of Istio's standard metrics: the
// istio.stats filter (HTTP and TCP) computing istio_requests_total,
// istio_request_duration_milliseconds, istio_request_bytes,
// istio_response_bytes and the istio_tcp_* counters with Istio's labels,
// the Telemetry API overrides it carries (dropped metrics, removed tags,
// tag values from CEL expressions), and the Prometheus text exposition of
// these and of the proxy's Envoy-style stats (:15090/stats/prometheus,
// merged with the application's metrics on :15020).
package metrics

import (
	"bufio"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Kind is a metric family's Prometheus type.
type Kind int

// Kinds.
const (
	Counter Kind = iota
	Histogram
	Gauge
)

func (k Kind) String() string { return [...]string{"counter", "histogram", "gauge"}[k] }

// Istio's histogram buckets: Envoy's default buckets for durations (ms),
// and powers of ten up to 10 MB for sizes.
var (
	DurationBuckets = []float64{0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000,
		60000, 300000, 600000, 1800000, 3600000}
	SizeBuckets = []float64{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000}
)

// Label is one label of a series.
type Label struct{ Name, Value string }

// Registry holds metric families by name. It is safe for concurrent use.
type Registry struct {
	mu       sync.RWMutex
	families map[string]*Family
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{families: map[string]*Family{}} }

// Family returns the family called name, creating it with kind and
// buckets (histograms).
func (r *Registry) Family(name string, kind Kind, buckets []float64) *Family {
	r.mu.RLock()
	f := r.families[name]
	r.mu.RUnlock()
	if f != nil {
		return f
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if f = r.families[name]; f == nil {
		f = &Family{name: name, kind: kind, buckets: buckets, series: map[string]*Series{}}
		r.families[name] = f
	}
	return f
}

// Family is one metric with its series, keyed by their label values.
type Family struct {
	idx     int // position in the labelSet series cache (Stats' families)
	name    string
	kind    Kind
	buckets []float64
	mu      sync.RWMutex
	series  map[string]*Series
}

// Series is one labelled time series.
type Series struct {
	labels []Label
	value  atomic.Uint64   // counter or gauge value; histogram count
	sum    atomic.Uint64   // histogram sum (float64 bits)
	counts []atomic.Uint64 // histogram bucket counts (not cumulative)
}

// With returns the series for labels (in order), creating it.
func (f *Family) With(labels []Label) *Series { return f.withKey(seriesKey(labels), labels) }

// withKey is With for labels whose seriesKey is known.
func (f *Family) withKey(key string, labels []Label) *Series {
	f.mu.RLock()
	s := f.series[key]
	f.mu.RUnlock()
	if s != nil {
		return s
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if s = f.series[key]; s == nil {
		s = &Series{labels: append([]Label(nil), labels...)}
		if f.kind == Histogram {
			s.counts = make([]atomic.Uint64, len(f.buckets))
		}
		f.series[key] = s
	}
	return s
}

func seriesKey(labels []Label) string {
	n := 0
	for _, l := range labels {
		n += len(l.Name) + len(l.Value) + 2
	}
	var b strings.Builder
	b.Grow(n)
	for _, l := range labels {
		b.WriteString(l.Name)
		b.WriteByte(0)
		b.WriteString(l.Value)
		b.WriteByte(0)
	}
	return b.String()
}

// Add adds n to a counter.
func (s *Series) Add(n uint64) { s.value.Add(n) }

// Set sets a gauge.
func (s *Series) Set(v uint64) { s.value.Store(v) }

// Value returns a counter's or gauge's value, or a histogram's count.
func (s *Series) Value() uint64 { return s.value.Load() }

// Observe records one histogram value.
func (f *Family) Observe(s *Series, v float64) {
	i := sort.SearchFloat64s(f.buckets, v) // first bucket >= v
	if i < len(s.counts) {
		s.counts[i].Add(1)
	}
	s.value.Add(1)
	for {
		old := s.sum.Load()
		if s.sum.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

// WriteText writes every family in the Prometheus text format (0.0.4),
// families and series sorted for stable output.
func (r *Registry) WriteText(w io.Writer) error {
	r.mu.RLock()
	fams := make([]*Family, 0, len(r.families))
	for _, f := range r.families {
		fams = append(fams, f)
	}
	r.mu.RUnlock()
	sort.Slice(fams, func(i, j int) bool { return fams[i].name < fams[j].name })
	bw := bufio.NewWriter(w)
	for _, f := range fams {
		f.writeText(bw)
	}
	return bw.Flush()
}

func (f *Family) writeText(w *bufio.Writer) {
	f.mu.RLock()
	keys := make([]string, 0, len(f.series))
	for k := range f.series {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	series := make([]*Series, len(keys))
	for i, k := range keys {
		series[i] = f.series[k]
	}
	f.mu.RUnlock()
	if len(series) == 0 {
		return
	}
	w.WriteString("# TYPE " + f.name + " " + f.kind.String() + "\n")
	for _, s := range series {
		if f.kind != Histogram {
			writeSample(w, f.name, s.labels, "", strconv.FormatUint(s.Value(), 10))
			continue
		}
		var cum uint64
		for i, b := range f.buckets {
			cum += s.counts[i].Load()
			writeSample(w, f.name+"_bucket", s.labels, FormatFloat(b), strconv.FormatUint(cum, 10))
		}
		writeSample(w, f.name+"_bucket", s.labels, "+Inf", strconv.FormatUint(s.Value(), 10))
		writeSample(w, f.name+"_sum", s.labels, "", FormatFloat(math.Float64frombits(s.sum.Load())))
		writeSample(w, f.name+"_count", s.labels, "", strconv.FormatUint(s.Value(), 10))
	}
}

// FormatFloat prints a number as Envoy's Prometheus output does.
func FormatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func writeSample(w *bufio.Writer, name string, labels []Label, le, value string) {
	w.WriteString(name)
	if len(labels) > 0 || le != "" {
		w.WriteByte('{')
		for i, l := range labels {
			if i > 0 {
				w.WriteByte(',')
			}
			w.WriteString(l.Name)
			w.WriteString(`="`)
			w.WriteString(escape(l.Value))
			w.WriteByte('"')
		}
		if le != "" {
			if len(labels) > 0 {
				w.WriteByte(',')
			}
			w.WriteString(`le="` + le + `"`)
		}
		w.WriteByte('}')
	}
	w.WriteByte(' ')
	w.WriteString(value)
	w.WriteByte('\n')
}

var escaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escape(v string) string {
	if !strings.ContainsAny(v, "\\\"\n") {
		return v
	}
	return escaper.Replace(v)
}
