package validate

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"

	"github.com/lateenmesh/lateen/internal/config"
)

func TestMeshConfig(t *testing.T) {
	cases := []struct {
		name, mesh string
		want       []string
	}{
		{"empty", "", nil},
		{"typical", `
rootNamespace: istio-system
trustDomain: cluster.local
trustDomainAliases: [old.example.com.]
connectTimeout: 10s
protocolDetectionTimeout: 0s
accessLogFile: /dev/stdout
accessLogEncoding: JSON
accessLogFormat: '{"code": "%RESPONSE_CODE%"}'
outboundTrafficPolicy: {mode: REGISTRY_ONLY}
defaultConfig:
  discoveryAddress: istiod.istio-system.svc:15012
  drainDuration: 45s
  proxyAdminPort: 15000
  tracing: {sampling: 1.0, zipkin: {address: "$(HOST_IP):9411"}}
extensionProviders:
- {name: otel, opentelemetry: {service: otel-collector.observability.svc.cluster.local, port: 4317}}
- {name: zipkin, zipkin: {service: zipkin.istio-system.svc.cluster.local, port: 9411}}
- {name: ext-authz, envoyExtAuthzHttp: {service: authz/authz.example.com, port: 8000, pathPrefix: /check, statusOnError: "503"}}
- {name: log, envoyFileAccessLog: {path: /dev/stdout}}
defaultProviders: {metrics: [prometheus]}
localityLbSetting: {enabled: true, failover: [{from: us-east, to: us-west}]}
defaultHttpRetryPolicy: {attempts: 2, retryOn: "connect-failure,refused-stream,unavailable,cancelled"}
discoverySelectors: [{matchLabels: {env: prod}}, {matchExpressions: [{key: team, operator: In, values: [a]}]}]
`, nil},
		{"bad names and durations", `
rootNamespace: Istio_System
trustDomain: "a..b"
connectTimeout: 2h
dnsRefreshRate: 0s
proxyListenPort: 70000
defaultServiceExportTo: ["*", "ns"]
`, []string{"rootNamespace", "trustDomain", "connectTimeout", "dnsRefreshRate", "proxyListenPort", "defaultServiceExportTo"}},
		{"bad proxy config", `
defaultConfig:
  discoveryAddress: istiod
  drainDuration: 1.5s
  statusPort: -1
  concurrency: -2
  controlPlaneAuthPolicy: INHERIT
  tracing: {sampling: 150, lightstep: {address: "ls:1"}}
  privateKeyProvider: {cryptomb: {}}
`, []string{"defaultConfig.discoveryAddress", "defaultConfig.drainDuration", "defaultConfig.statusPort",
			"defaultConfig.concurrency", "defaultConfig.controlPlaneAuthPolicy", "defaultConfig.tracing.sampling",
			"defaultConfig.tracing.lightstep.accessToken", "defaultConfig.privateKeyProvider.cryptomb.pollDelay"}},
		{"bad extension providers", `
extensionProviders:
- {name: a, zipkin: {port: 9411}}
- {name: a, opentelemetry: {service: "bad host", port: 0}}
- {envoyExtAuthzGrpc: {service: authz.example.com, port: 9000, statusOnError: "42"}}
- {name: b}
- {name: c, envoyExtAuthzHttp: {service: authz.example.com, port: 80, pathPrefix: check}}
`, []string{"extensionProviders[0].zipkin.service", "extensionProviders[1].name", "extensionProviders[1].opentelemetry.service",
			"extensionProviders[1].opentelemetry.port", "extensionProviders[2].name", "extensionProviders[2].envoyExtAuthzGrpc.statusOnError",
			"extensionProviders[3]", "extensionProviders[4].envoyExtAuthzHttp.pathPrefix"}},
		{"bad traffic settings", `
outboundTrafficPolicy: {mode: ALLOW_ANY, tls: {mode: MUTUAL}}
localityLbSetting: {distribute: [{from: "a/*", to: {b: 50}}]}
defaultHttpRetryPolicy: {attempts: 1, retryOn: "sometimes"}
accessLogEncoding: JSON
accessLogFormat: "[%START_TIME%]"
discoverySelectors: [{matchExpressions: [{key: team, operator: Has}, {key: env, operator: Exists, values: [x]}]}]
meshMTLS: {ecdhCurves: [P-256]}
`, []string{"outboundTrafficPolicy.tls.clientCertificate", "outboundTrafficPolicy.tls.privateKey",
			"localityLbSetting.distribute[0].to", "defaultHttpRetryPolicy.retryOn", "accessLogFormat",
			"discoverySelectors[0].matchExpressions[0].operator", "discoverySelectors[0].matchExpressions[1].values",
			"meshMTLS.ecdhCurves"}},
	}
	md := (&meshv1alpha1.MeshConfig{}).ProtoReflect().Descriptor()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mc, _, err := config.DecodeMeshConfig("", []byte(tc.mesh))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			c := &checker{}
			validateMeshConfig(c, path(""), mc)
			err = c.errs.Err()
			if err != nil {
				t.Log(err)
			}
			got := errPaths(err)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty(), cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("paths (-want +got):\n%s\nerror: %v", diff, err)
			}
			for _, p := range problems(err) {
				assertMessage(t, p)
				if err := resolvePath(md, p.Path); err != nil {
					t.Errorf("path %s: %v", p.Path, err)
				}
			}
		})
	}
}

func TestMeshConfigMapObject(t *testing.T) {
	const cm = `apiVersion: v1
kind: ConfigMap
metadata:
  name: istio
  namespace: istio-system
data:
  mesh: |-
    rootNamespace: istio-system
    defaultConfig:
      tracing:
        sampling: 200
`
	objs, rejs := config.Decode(config.Origin{File: "cm.yaml"}, []byte(cm))
	if len(rejs) > 0 || len(objs) != 1 {
		t.Fatalf("decode: %v", rejs)
	}
	err := rules(objs[0]).Err()
	if got := errPaths(err); len(got) != 1 || got[0] != "data.mesh.defaultConfig.tracing.sampling" {
		t.Errorf("paths %v, want [data.mesh.defaultConfig.tracing.sampling]", got)
	}
	if !strings.Contains(err.Error(), "between 0 and 100") {
		t.Errorf("message: %v", err)
	}
}
