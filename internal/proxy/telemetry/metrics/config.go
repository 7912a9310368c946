package metrics

import (
	"fmt"
	"sort"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/telemetry/cel"
)

// defaultTCPReporting is Istio's TCP reporting interval.
const defaultTCPReporting = 5 * time.Second

// The metrics Istio's stats filter emits, by their names in overrides.
const (
	RequestsTotal         = "requests_total"
	RequestDuration       = "request_duration_milliseconds"
	RequestBytes          = "request_bytes"
	ResponseBytes         = "response_bytes"
	TCPConnectionsOpened  = "tcp_connections_opened_total"
	TCPConnectionsClosed  = "tcp_connections_closed_total"
	TCPSentBytes          = "tcp_sent_bytes_total"
	TCPReceivedBytes      = "tcp_received_bytes_total"
	requestMessagesTotal  = "request_messages_total"
	responseMessagesTotal = "response_messages_total"
)

var standardMetrics = []string{RequestsTotal, RequestDuration, RequestBytes, ResponseBytes,
	TCPConnectionsOpened, TCPConnectionsClosed, TCPSentBytes, TCPReceivedBytes,
	requestMessagesTotal, responseMessagesTotal}

// Config is an istio.stats config, compiled.
type Config struct {
	DisableHostHeaderFallback bool
	TCPReporting              time.Duration
	overrides                 *overrides
}

// Compile checks a decoded istio.stats config against Istio's standard
// metrics and tags and compiles its tag value expressions.
func Compile(rc *resource.StatsConfig) (*Config, error) {
	cfg := &Config{DisableHostHeaderFallback: rc.DisableHostHeaderFallback, TCPReporting: rc.TCPReportingDuration}
	if cfg.TCPReporting <= 0 {
		cfg.TCPReporting = defaultTCPReporting
	}
	for i, m := range rc.Metrics {
		if m.Name != "" && !isStandard(m.Name) {
			return nil, fmt.Errorf("metrics[%d].name: %q is not one of Istio's standard metrics", i, m.Name)
		}
	}
	var err error
	if cfg.overrides, err = compileOverrides(rc.Metrics); err != nil {
		return nil, err
	}
	return cfg, nil
}

func isStandard(name string) bool {
	for _, m := range standardMetrics {
		if m == name {
			return true
		}
	}
	return false
}

// overrides are the compiled metric overrides, applied as Istio's stats
// filter does: dropped metrics, standard tags removed or given a value
// from an expression, and new tags added after the standard ones.
type overrides struct {
	exprs   []*cel.Expr
	metrics map[string]*metricOverride
}

type metricOverride struct {
	drop bool
	tags map[string]int // standard tag → expression index, or -1: removed
	add  []tagAdd       // tags beyond the standard ones
}

type tagAdd struct {
	name string
	expr int
}

func compileOverrides(cfgs []resource.StatsMetric) (*overrides, error) {
	if len(cfgs) == 0 {
		return nil, nil
	}
	o := &overrides{metrics: map[string]*metricOverride{}}
	ids := map[string]int{}
	for i, m := range cfgs {
		targets := standardMetrics
		if m.Name != "" {
			targets = []string{m.Name}
		}
		if m.Drop {
			if m.Name != "" {
				o.metric(m.Name).drop = true
			}
			continue
		}
		for _, tag := range m.TagsToRemove {
			if !isStandardTag(tag) {
				return nil, fmt.Errorf("metrics[%d].tags_to_remove: %q is not a standard tag", i, tag)
			}
			for _, t := range targets {
				o.metric(t).tags[tag] = -1
			}
		}
		if err := o.addDimensions(m.Dimensions, targets, ids); err != nil {
			return nil, fmt.Errorf("metrics[%d].dimensions%w", i, err)
		}
	}
	return o, nil
}

// addDimensions compiles tag expressions (sorted by tag, as Istio).
func (o *overrides) addDimensions(dims map[string]string, targets []string, ids map[string]int) error {
	tags := make([]string, 0, len(dims))
	for t := range dims {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	for _, tag := range tags {
		src := dims[tag]
		id, ok := ids[src]
		if !ok {
			e, err := cel.Compile(src)
			if err != nil {
				return fmt.Errorf("[%s]: %w", tag, err)
			}
			id = len(o.exprs)
			o.exprs = append(o.exprs, e)
			ids[src] = id
		}
		for _, t := range targets {
			mo := o.metric(t)
			if isStandardTag(tag) {
				mo.tags[tag] = id
				continue
			}
			mo.setAdd(tag, id)
		}
	}
	return nil
}

func (o *overrides) metric(name string) *metricOverride {
	mo := o.metrics[name]
	if mo == nil {
		mo = &metricOverride{tags: map[string]int{}}
		o.metrics[name] = mo
	}
	return mo
}

func (mo *metricOverride) setAdd(tag string, id int) {
	for i := range mo.add {
		if mo.add[i].name == tag {
			mo.add[i].expr = id
			return
		}
	}
	mo.add = append(mo.add, tagAdd{tag, id})
}

// dropped reports whether a metric is not reported at all.
func (o *overrides) dropped(metric string) bool {
	if o == nil {
		return false
	}
	mo := o.metrics[metric]
	return mo != nil && mo.drop
}

// apply returns labels for metric with the overrides applied; values are
// the evaluated expressions ("unknown" where evaluation failed).
func (o *overrides) apply(metric string, labels []Label, values []string) []Label {
	mo := o.metrics[metric]
	if mo == nil {
		return labels
	}
	out := make([]Label, 0, len(labels)+len(mo.add))
	for _, l := range labels {
		id, ok := mo.tags[l.Name]
		switch {
		case !ok:
			out = append(out, l)
		case id >= 0:
			out = append(out, Label{l.Name, values[id]})
		}
	}
	for _, a := range mo.add {
		out = append(out, Label{a.name, values[a.expr]})
	}
	return out
}
