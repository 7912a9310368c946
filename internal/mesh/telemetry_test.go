package mesh

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
)

// telemetryDoc (telemetry_logs_test.go) writes a Telemetry object.

func TestMetricsResolution(t *testing.T) {
	reviews := map[string]string{"app": "reviews"}
	for _, tc := range []struct {
		name   string
		mesh   *meshv1alpha1.MeshConfig
		docs   []string
		ns     string
		labels map[string]string
		want   *MetricsConfig
	}{{
		name: "no Telemetry: Istio's default provider, no overrides",
		ns:   "default",
		want: &MetricsConfig{Enabled: true, Client: []MetricOverride{}, Server: []MetricOverride{}},
	}, {
		name: "narrower scopes apply on top, oldest of a scope counts",
		docs: []string{
			telemetryDoc("istio-system", "mesh", `  metrics:
  - overrides:
    - match: {metric: REQUEST_COUNT}
      tagOverrides: {request_host: {value: request.host}, source_cluster: {operation: REMOVE}}`),
			telemetryDoc("istio-system", "mesh-newer", `  metrics:
  - overrides:
    - disabled: true`),
			telemetryDoc("default", "ns", `  metrics:
  - reportingInterval: 3s
    overrides:
    - match: {metric: REQUEST_COUNT, mode: SERVER}
      tagOverrides: {request_host: {value: "'x'"}}`),
			telemetryDoc("default", "workload", `  selector: {matchLabels: {app: reviews}}
  metrics:
  - overrides:
    - match: {metric: REQUEST_COUNT, mode: CLIENT}
      disabled: true`),
		},
		ns: "default", labels: reviews,
		want: &MetricsConfig{Enabled: true, ReportingInterval: 3 * time.Second,
			Client: []MetricOverride{{Metric: "REQUEST_COUNT", Disabled: true, Tags: []TagOverride{
				{Name: "request_host", Value: "request.host"}, {Name: "source_cluster", Remove: true}}}},
			Server: []MetricOverride{{Metric: "REQUEST_COUNT", Tags: []TagOverride{
				{Name: "request_host", Value: "'x'"}, {Name: "source_cluster", Remove: true}}}}},
	}, {
		name: "all metrics disabled mesh-wide",
		docs: []string{telemetryDoc("istio-system", "mesh", `  metrics:
  - overrides:
    - match: {metric: ALL_METRICS}
      disabled: true`)},
		ns:   "default",
		want: &MetricsConfig{},
	}, {
		name: "disabled mesh-wide, enabled again by the namespace",
		docs: []string{
			telemetryDoc("istio-system", "mesh", `  metrics:
  - overrides:
    - match: {metric: ALL_METRICS}
      disabled: true`),
			telemetryDoc("default", "ns", `  metrics:
  - overrides:
    - match: {metric: ALL_METRICS}
      disabled: false`),
		},
		ns:   "default",
		want: &MetricsConfig{Enabled: true, Client: allMetrics(false), Server: allMetrics(false)},
	}, {
		name: "a provider that is not Prometheus: no metrics",
		docs: []string{telemetryDoc("default", "ns", `  metrics:
  - providers: [{name: stackdriver}]`)},
		ns:   "default",
		want: &MetricsConfig{},
	}, {
		name: "default providers from the mesh config",
		mesh: &meshv1alpha1.MeshConfig{DefaultProviders: &meshv1alpha1.MeshConfig_DefaultProviders{Metrics: []string{"prom"}},
			ExtensionProviders: []*meshv1alpha1.MeshConfig_ExtensionProvider{{Name: "prom",
				Provider: &meshv1alpha1.MeshConfig_ExtensionProvider_Prometheus{}}}},
		ns:   "default",
		want: &MetricsConfig{Enabled: true, Client: []MetricOverride{}, Server: []MetricOverride{}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			snap := build(t, tc.mesh, tc.docs...)
			got := snap.ViewFor(sidecarProxy(tc.ns, tc.labels)).Metrics()
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func allMetrics(disabled bool) []MetricOverride {
	var out []MetricOverride
	for _, m := range []string{"GRPC_REQUEST_MESSAGES", "GRPC_RESPONSE_MESSAGES", "REQUEST_COUNT", "REQUEST_DURATION",
		"REQUEST_SIZE", "RESPONSE_SIZE", "TCP_CLOSED_CONNECTIONS", "TCP_OPENED_CONNECTIONS", "TCP_RECEIVED_BYTES", "TCP_SENT_BYTES"} {
		out = append(out, MetricOverride{Metric: m, Disabled: disabled})
	}
	return out
}
