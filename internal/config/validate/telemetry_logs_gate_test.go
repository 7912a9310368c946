package validate

import (
	"errors"
	"strings"
	"testing"

	"github.com/lateenmesh/lateen/internal/config"
)

// TestAccessLogAndTracingGate: what access logging and tracing implement
// passes the gate, what they do not is rejected with its path.
func TestAccessLogAndTracingGate(t *testing.T) {
	mesh := func(y string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |-\n    " +
			strings.ReplaceAll(y, "\n", "\n    ") + "\n"
	}
	telemetry := func(spec string) string {
		return "apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: t, namespace: istio-system}\nspec:\n" + spec
	}
	for _, tc := range []struct {
		name, yaml, rejected string
	}{
		{"mesh access log JSON", mesh("accessLogFile: /dev/stdout\naccessLogEncoding: JSON\naccessLogFormat: '{\"code\": \"%RESPONSE_CODE%\"}'"), ""},
		{"file provider", mesh("extensionProviders:\n- name: f\n  envoyFileAccessLog: {path: /tmp/x, logFormat: {text: '%RESPONSE_CODE%'}, omitEmptyValues: true}\ndefaultProviders: {accessLogging: [f]}"), ""},
		{"zipkin and otel providers", mesh("extensionProviders:\n- name: z\n  zipkin: {service: zipkin.istio-system.svc.cluster.local, port: 9411, traceContextOption: USE_B3_WITH_W3C_PROPAGATION}\n- name: o\n  opentelemetry: {service: otel.x.svc.cluster.local, port: 4317, grpc: {timeout: 2s}}\ndefaultProviders: {tracing: [z]}"), ""},
		{"legacy tracing", mesh("defaultConfig:\n  tracing: {sampling: 10, zipkin: {address: 'zipkin.istio-system:9411'}, customTags: {a: {literal: {value: b}}}}"), ""},
		{"telemetry access logging and tracing", telemetry("  accessLogging: [{providers: [{name: envoy}], filter: {expression: 'response.code >= 400'}, match: {mode: SERVER}}]\n  tracing: [{providers: [{name: z}], randomSamplingPercentage: 5, customTags: {a: {header: {name: x}}}, disableContextPropagation: true}]"), ""},
		{"otel als", mesh("extensionProviders:\n- name: a\n  envoyOtelAls: {service: otel.x.svc.cluster.local, port: 4317}"), "data.mesh.extensionProviders[0].envoyOtelAls"},
		{"env header", mesh("extensionProviders:\n- name: z\n  zipkin: {service: zipkin.x.svc.cluster.local, port: 9411, headers: [{name: a, envName: B}]}"), "data.mesh.extensionProviders[0].zipkin.headers[0].envName"},
		{"otel resource detectors", mesh("extensionProviders:\n- name: o\n  opentelemetry: {service: o.x.svc.cluster.local, port: 4317, resourceDetectors: {environment: {}}}"), "data.mesh.extensionProviders[0].opentelemetry.resourceDetectors"},
		{"datadog legacy", mesh("defaultConfig:\n  tracing: {datadog: {address: 'd:8126'}}"), "data.mesh.defaultConfig.tracing.datadog"},
		{"environment tag", telemetry("  tracing: [{customTags: {a: {environment: {name: X}}}}]"), "spec.tracing[0].customTags[a].environment"},
		{"request id sampling off", telemetry("  tracing: [{useRequestIdForTraceSampling: false}]"), "spec.tracing[0].useRequestIdForTraceSampling"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Object(decodeOne(t, tc.yaml))
			if tc.rejected == "" {
				if err != nil {
					t.Errorf("rejected: %v", err)
				}
				return
			}
			if !errors.Is(err, config.ErrNotSupported) || !strings.Contains(err.Error(), tc.rejected) {
				t.Errorf("err = %v, want %s not supported", err, tc.rejected)
			}
		})
	}
}

func TestAccessLogFilterIsCEL(t *testing.T) {
	o := decodeOne(t, "apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: t, namespace: istio-system}\nspec:\n  accessLogging: [{filter: {expression: 'response.code >='}}]\n")
	if err := Object(o); err == nil || !strings.Contains(err.Error(), "spec.accessLogging[0].filter.expression") {
		t.Errorf("err = %v, want an invalid CEL expression at the filter", err)
	}
}
