package validate

import "testing"

func TestTelemetry(t *testing.T) {
	runCases(t, "Telemetry", []vcase{
		{name: "mesh defaults", spec: `
tracing:
- providers: [{name: zipkin}]
  randomSamplingPercentage: 10.5
  customTags:
    env: {environment: {name: ENV, defaultValue: dev}}
    cluster: {literal: {value: east}}
    user: {header: {name: x-user}}
metrics:
- providers: [{name: prometheus}]
  reportingInterval: 15s
  overrides:
  - match: {metric: REQUEST_COUNT, mode: CLIENT_AND_SERVER}
    tagOverrides: {request_host: {operation: REMOVE}, app: {value: "upstream_peer.app"}}
  - match: {customMetric: my_metric}
    disabled: true
accessLogging:
- providers: [{name: envoy}]
  filter: {expression: "response.code >= 400"}
`},
		{name: "bad tracing", spec: "tracing: [{providers: [{}], randomSamplingPercentage: 101, customTags: {a: {}, b: {literal: {}}, c: {header: {}}}}]",
			want: []string{"spec.tracing[0].providers[0].name", "spec.tracing[0].randomSamplingPercentage",
				"spec.tracing[0].customTags[a]", "spec.tracing[0].customTags[b].literal.value", "spec.tracing[0].customTags[c].header.name"}},
		{name: "bad metrics", spec: `
metrics:
- reportingInterval: 0s
  overrides:
  - match: {customMetric: ""}
    tagOverrides: {a: {operation: UPSERT}, b: {operation: REMOVE, value: x}}
`, want: []string{"spec.metrics[0].reportingInterval", "spec.metrics[0].overrides[0].match.customMetric",
			"spec.metrics[0].overrides[0].tagOverrides[a].value", "spec.metrics[0].overrides[0].tagOverrides[b].value"}},
		{name: "tag value not CEL", spec: `
metrics:
- overrides:
  - tagOverrides: {a: {value: "request.host =="}, b: {value: "requst.host"}, c: {value: "request.headers['x']"}}
`, want: []string{"spec.metrics[0].overrides[0].tagOverrides[a].value", "spec.metrics[0].overrides[0].tagOverrides[b].value"}},
		{name: "bad access logging", spec: "accessLogging: [{providers: [{name: ''}], filter: {}}]",
			want: []string{"spec.accessLogging[0].providers[0].name", "spec.accessLogging[0].filter.expression"}},
		{name: "selector and target", spec: "selector: {matchLabels: {app: a}}\ntargetRefs: [{kind: Service, name: a}]\ntracing: [{}]",
			want: []string{"spec.targetRefs"}},
	})
}
