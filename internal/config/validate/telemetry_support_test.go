package validate

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lateenmesh/lateen/internal/config"
)

// TestTelemetryMetricsGate checks the real table: the metrics section is
// enforced, what Lateen does not do yet is reported.
func TestTelemetryMetricsGate(t *testing.T) {
	for _, tc := range []struct {
		name, spec string
		want       []string
	}{
		{"metrics overrides", `
selector: {matchLabels: {app: reviews}}
metrics:
- providers: [{name: prometheus}]
  reportingInterval: 10s
  overrides:
  - match: {metric: ALL_METRICS, mode: CLIENT}
    disabled: true
  - match: {metric: REQUEST_COUNT}
    tagOverrides: {request_host: {value: request.host}, source_cluster: {operation: REMOVE}}
`, nil},
		{"gRPC message counts and custom metrics", `
metrics:
- overrides:
  - match: {metric: GRPC_REQUEST_MESSAGES}
    disabled: true
  - match: {customMetric: my_metric}
    disabled: true
`, []string{"spec.metrics[0].overrides[0].match.metric", "spec.metrics[0].overrides[1].match.customMetric"}},
		{"policy attachment", "targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: gw}]\nmetrics: [{}]",
			[]string{"spec.targetRefs"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, u := range checkUnsupported(decodeOne(t, doc("Telemetry", tc.spec)), unsupported) {
				got = append(got, u.Path)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty(), cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestMeshConfigMetricsProviders(t *testing.T) {
	mc, _, err := config.DecodeMeshConfig("", []byte(`
defaultProviders:
  metrics: [prom]
extensionProviders:
- name: prom
  prometheus: {}
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := MeshConfig("", mc); err != nil {
		t.Errorf("prometheus provider: %v", err)
	}
	mc, _, err = config.DecodeMeshConfig("", []byte(`
extensionProviders:
- name: sd
  stackdriver: {}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := errPaths(MeshConfig("", mc)); !cmp.Equal(got, []string{"extensionProviders[0].stackdriver"}) {
		t.Errorf("stackdriver provider: paths %v", got)
	}
}
