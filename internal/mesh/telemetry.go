package mesh

import (
	"sort"
	"strings"
	"time"

	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	telemetry "istio.io/api/telemetry/v1alpha1"

	"github.com/lateenmesh/lateen/internal/config"
)

// MetricsConfig is the Telemetry API's metrics section resolved for one
// proxy, as Istio merges it for the Prometheus provider: mesh, namespace
// and workload Telemetry (the oldest of each scope), each overriding the
// previous.
type MetricsConfig struct {
	// Enabled: a Prometheus provider is in scope and metrics are not all
	// disabled. The proxy then gets Istio's stats filter.
	Enabled bool
	// Client overrides apply to outbound and gateway listeners, Server
	// overrides to inbound ones; both sorted by metric.
	Client, Server []MetricOverride
	// ReportingInterval is the TCP reporting interval (0: the default).
	ReportingInterval time.Duration
}

// MetricOverride is the merged override of one metric (an IstioMetric
// enum name such as REQUEST_COUNT).
type MetricOverride struct {
	Metric   string
	Disabled bool
	Tags     []TagOverride // sorted by name
}

// TagOverride removes a tag or sets it to a CEL expression's value.
type TagOverride struct {
	Name   string
	Remove bool
	Value  string
}

// DefaultMetricsProvider is the provider Istio's default mesh config
// names in defaultProviders.metrics.
const DefaultMetricsProvider = "prometheus"

// Metrics resolves the metrics configuration of the proxy.
func (v *ProxyView) Metrics() *MetricsConfig {
	var metrics []*telemetry.Metrics
	for _, t := range v.telemetries() {
		metrics = append(metrics, t.GetMetrics()...)
	}
	defaults := defaultMetricsProviders(v.Mesh)
	scope := defaults
	for _, m := range metrics {
		if names := providerNames(m.GetProviders()); len(names) > 0 {
			scope = names
		}
	}
	if !v.anyPrometheus(scope) {
		return &MetricsConfig{}
	}
	mg := newMetricsMerge()
	parent := defaults
	for _, m := range metrics {
		names := providerNames(m.GetProviders())
		if len(names) == 0 {
			names = parent
		}
		parent = names
		if !v.anyPrometheus(intersect(names, scope)) {
			continue
		}
		mg.add(m)
	}
	return mg.result()
}

// telemetries returns the Telemetry specs that apply to the proxy: the
// oldest mesh-wide one, the oldest of its namespace and the oldest
// selecting it, in that order (Istio's rule).
func (v *ProxyView) telemetries() []*telemetry.Telemetry {
	var out []*telemetry.Telemetry
	seen := map[PolicyScope]bool{}
	for _, p := range v.Policies(config.Telemetry) {
		if seen[p.Scope] {
			continue
		}
		seen[p.Scope] = true
		out = append(out, p.Object.Spec.(*telemetry.Telemetry))
	}
	return out
}

func defaultMetricsProviders(m *meshv1alpha1.MeshConfig) []string {
	if names := m.GetDefaultProviders().GetMetrics(); len(names) > 0 {
		return names
	}
	return []string{DefaultMetricsProvider}
}

func providerNames(refs []*telemetry.ProviderRef) []string {
	out := make([]string, 0, len(refs))
	for _, r := range refs {
		out = append(out, r.GetName())
	}
	return out
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		for _, y := range b {
			if x == y {
				out = append(out, x)
				break
			}
		}
	}
	return out
}

// anyPrometheus reports whether one of the named providers is a
// Prometheus provider: an extension provider of that type, or the
// built-in "prometheus" when no extension provider takes the name.
func (v *ProxyView) anyPrometheus(names []string) bool {
	for _, n := range names {
		p := findProvider(v.Mesh, n)
		if p != nil && p.GetPrometheus() != nil || p == nil && strings.EqualFold(n, DefaultMetricsProvider) {
			return true
		}
	}
	return false
}

func findProvider(m *meshv1alpha1.MeshConfig, name string) *meshv1alpha1.MeshConfig_ExtensionProvider {
	for _, p := range m.GetExtensionProviders() {
		if strings.EqualFold(p.GetName(), name) {
			return p
		}
	}
	return nil
}

// metricsMerge applies Metrics sections in order, later ones on top.
type metricsMerge struct {
	modes       map[telemetry.WorkloadMode]map[string]*mergedMetric
	disabledAll bool
	interval    time.Duration
}

type mergedMetric struct {
	disabled bool
	tags     map[string]*telemetry.MetricsOverrides_TagOverride
}

func newMetricsMerge() *metricsMerge {
	return &metricsMerge{modes: map[telemetry.WorkloadMode]map[string]*mergedMetric{
		telemetry.WorkloadMode_CLIENT: {}, telemetry.WorkloadMode_SERVER: {},
	}}
}

func (mg *metricsMerge) add(m *telemetry.Metrics) {
	if d := m.GetReportingInterval(); d != nil {
		mg.interval = d.AsDuration()
	}
	for _, o := range m.GetOverrides() {
		if isAllMetrics(o.GetMatch()) && o.GetDisabled().GetValue() {
			mg.disabledAll = true
			continue
		}
		mg.disabledAll = false // a narrower scope enables metrics again
		for _, mode := range overrideModes(o.GetMatch().GetMode()) {
			for _, name := range matchedMetrics(o.GetMatch()) {
				mm := mg.modes[mode][name]
				if mm == nil {
					mm = &mergedMetric{tags: map[string]*telemetry.MetricsOverrides_TagOverride{}}
					mg.modes[mode][name] = mm
				}
				if o.GetDisabled() != nil {
					mm.disabled = o.GetDisabled().GetValue()
				}
				for k, t := range o.GetTagOverrides() {
					mm.tags[k] = t
				}
			}
		}
	}
}

func (mg *metricsMerge) result() *MetricsConfig {
	if mg.disabledAll {
		return &MetricsConfig{}
	}
	return &MetricsConfig{Enabled: true, ReportingInterval: mg.interval,
		Client: overridesOf(mg.modes[telemetry.WorkloadMode_CLIENT]),
		Server: overridesOf(mg.modes[telemetry.WorkloadMode_SERVER])}
}

func overridesOf(metrics map[string]*mergedMetric) []MetricOverride {
	out := make([]MetricOverride, 0, len(metrics))
	for name, mm := range metrics {
		o := MetricOverride{Metric: name, Disabled: mm.disabled}
		for tag, t := range mm.tags {
			to := TagOverride{Name: tag}
			if t.GetOperation() == telemetry.MetricsOverrides_TagOverride_REMOVE {
				to.Remove = true
			} else {
				to.Value = t.GetValue()
			}
			o.Tags = append(o.Tags, to)
		}
		sort.Slice(o.Tags, func(i, j int) bool { return o.Tags[i].Name < o.Tags[j].Name })
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Metric < out[j].Metric })
	return out
}

func isAllMetrics(sel *telemetry.MetricSelector) bool {
	m, ok := sel.GetMetricMatch().(*telemetry.MetricSelector_Metric)
	return ok && m.Metric == telemetry.MetricSelector_ALL_METRICS
}

// matchedMetrics lists the standard metrics a selector names (all of
// them without one).
func matchedMetrics(sel *telemetry.MetricSelector) []string {
	if m, ok := sel.GetMetricMatch().(*telemetry.MetricSelector_Metric); ok && m.Metric != telemetry.MetricSelector_ALL_METRICS {
		return []string{m.Metric.String()}
	}
	all := make([]string, 0, len(telemetry.MetricSelector_IstioMetric_name)-1)
	for v, name := range telemetry.MetricSelector_IstioMetric_name {
		if v != int32(telemetry.MetricSelector_ALL_METRICS) {
			all = append(all, name)
		}
	}
	sort.Strings(all)
	return all
}

func overrideModes(mode telemetry.WorkloadMode) []telemetry.WorkloadMode {
	switch mode {
	case telemetry.WorkloadMode_CLIENT, telemetry.WorkloadMode_SERVER:
		return []telemetry.WorkloadMode{mode}
	}
	return []telemetry.WorkloadMode{telemetry.WorkloadMode_CLIENT, telemetry.WorkloadMode_SERVER}
}
