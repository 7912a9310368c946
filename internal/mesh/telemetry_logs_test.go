package mesh

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	"sigs.k8s.io/yaml"
)

func telemetryDoc(ns, name, spec string) string {
	return "apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: " + name + ", namespace: " + ns + "}\nspec:\n" + spec
}

func meshConfig(t *testing.T, y string) *meshv1alpha1.MeshConfig {
	t.Helper()
	js, err := yaml.YAMLToJSON([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	mc := &meshv1alpha1.MeshConfig{}
	if err := protojson.Unmarshal(js, mc); err != nil {
		t.Fatal(err)
	}
	return mc
}

const logProviders = `
extensionProviders:
- {name: a, envoyFileAccessLog: {path: /tmp/a}}
- {name: b, envoyFileAccessLog: {path: /tmp/b}}
- {name: zipkin, zipkin: {service: zipkin.istio-system.svc.cluster.local, port: 9411}}
`

// logs renders AccessLogs as name[:filter] (MeshConfig's log as "mesh").
func logs(v *ProxyView, mode TelemetryMode) []string {
	var out []string
	for _, p := range v.AccessLogs(mode) {
		s := p.Name
		if s == "" {
			s = "mesh:" + p.File.GetPath()
		}
		if p.Filter != "" {
			s += ":" + p.Filter
		}
		out = append(out, s)
	}
	return out
}

func TestAccessLogsMerge(t *testing.T) {
	pp := map[string]string{"app": "productpage"}
	for _, tc := range []struct {
		name           string
		mesh           string
		docs           []string
		client, server []string
	}{
		{name: "nothing", mesh: logProviders},
		{name: "mesh accessLogFile", mesh: "accessLogFile: /dev/stdout", client: []string{"mesh:/dev/stdout"},
			server: []string{"mesh:/dev/stdout"}},
		{name: "default providers", mesh: logProviders + "defaultProviders: {accessLogging: [a]}\naccessLogFile: /x",
			client: []string{"a"}, server: []string{"a"}},
		{name: "telemetry replaces the mesh file", mesh: logProviders + "accessLogFile: /x",
			docs:   []string{telemetryDoc("istio-system", "m", "  accessLogging: [{providers: [{name: b}]}]")},
			client: []string{"b"}, server: []string{"b"}},
		{name: "narrower providers replace, filter per entry", mesh: logProviders,
			docs: []string{telemetryDoc("istio-system", "m", "  accessLogging: [{providers: [{name: a}]}]"),
				telemetryDoc("default", "w", "  selector: {matchLabels: {app: productpage}}\n  accessLogging: [{providers: [{name: b}], filter: {expression: 'response.code >= 400'}}]")},
			client: []string{"b:response.code >= 400"}, server: []string{"b:response.code >= 400"}},
		{name: "inherited providers get the filter", mesh: logProviders,
			docs: []string{telemetryDoc("istio-system", "m", "  accessLogging: [{providers: [{name: a}]}]"),
				telemetryDoc("default", "ns", "  accessLogging: [{filter: {expression: 'response.code >= 500'}}]")},
			client: []string{"a:response.code >= 500"}, server: []string{"a:response.code >= 500"}},
		{name: "disabled for the server side", mesh: logProviders,
			docs: []string{telemetryDoc("istio-system", "m", "  accessLogging: [{providers: [{name: a}]}]"),
				telemetryDoc("default", "ns", "  accessLogging: [{match: {mode: SERVER}, disabled: true}]")},
			client: []string{"a"}},
		{name: "built-in envoy provider", mesh: "accessLogEncoding: JSON",
			docs:   []string{telemetryDoc("istio-system", "m", "  accessLogging: [{providers: [{name: envoy}]}]")},
			client: []string{"envoy"}, server: []string{"envoy"}},
		{name: "unknown provider skipped", mesh: logProviders,
			docs:   []string{telemetryDoc("istio-system", "m", "  accessLogging: [{providers: [{name: nope}, {name: a}]}]")},
			client: []string{"a"}, server: []string{"a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snap := build(t, meshConfig(t, tc.mesh), tc.docs...)
			v := snap.ViewFor(sidecarProxy("default", pp))
			if got := logs(v, ClientMode); !slices.Equal(got, tc.client) {
				t.Errorf("client: %q, want %q", got, tc.client)
			}
			if got := logs(v, ServerMode); !slices.Equal(got, tc.server) {
				t.Errorf("server: %q, want %q", got, tc.server)
			}
		})
	}
}

func TestTracingResolution(t *testing.T) {
	zipkinSE := se("istio-system", "zipkin", "zipkin.istio-system.svc.cluster.local", "", "9411")
	for _, tc := range []struct {
		name     string
		mesh     string
		docs     []string
		mode     TelemetryMode
		want     string // provider name, or "" for none
		sampling float64
	}{
		{name: "legacy default address, no zipkin service", mesh: "enableTracing: true"},
		{name: "legacy default address resolves", mesh: "enableTracing: true", docs: []string{zipkinSE},
			want: "zipkin", sampling: 1},
		{name: "legacy sampling", mesh: "defaultConfig: {tracing: {sampling: 25, zipkin: {address: 'zipkin.istio-system:9411'}}}",
			docs: []string{zipkinSE}, want: "zipkin", sampling: 25},
		{name: "telemetry provider and sampling", mesh: logProviders,
			docs: []string{zipkinSE, telemetryDoc("istio-system", "m", "  tracing: [{providers: [{name: zipkin}], randomSamplingPercentage: 50}]")},
			want: "zipkin", sampling: 50},
		{name: "disabled for the server side", mesh: logProviders, mode: ServerMode,
			docs: []string{zipkinSE, telemetryDoc("istio-system", "m", "  tracing: [{providers: [{name: zipkin}]}, {match: {mode: SERVER}, disableSpanReporting: true}]")}},
		{name: "client side unaffected by a server rule", mesh: logProviders, mode: ClientMode,
			docs: []string{zipkinSE, telemetryDoc("istio-system", "m", "  tracing: [{providers: [{name: zipkin}]}, {match: {mode: SERVER}, disableSpanReporting: true}]")},
			want: "zipkin", sampling: 1},
		{name: "no provider", mesh: logProviders,
			docs: []string{zipkinSE, telemetryDoc("istio-system", "m", "  tracing: [{randomSamplingPercentage: 10}]")}},
		{name: "default provider", mesh: logProviders + "defaultProviders: {tracing: [zipkin]}", docs: []string{zipkinSE},
			want: "zipkin", sampling: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snap := build(t, meshConfig(t, tc.mesh), tc.docs...)
			spec := snap.ViewFor(sidecarProxy("default", nil)).Tracing(tc.mode)
			if spec == nil {
				if tc.want != "" {
					t.Fatalf("no tracing, want %s", tc.want)
				}
				return
			}
			if tc.want == "" {
				t.Fatalf("tracing with %s, want none", spec.Provider.GetName())
			}
			if spec.Provider.GetName() != tc.want || spec.Sampling != tc.sampling ||
				spec.Collector.Cluster != "outbound|9411||zipkin.istio-system.svc.cluster.local" {
				t.Errorf("got %s %v %+v", spec.Provider.GetName(), spec.Sampling, spec.Collector)
			}
		})
	}
}
