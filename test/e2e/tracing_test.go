//go:build linux

package e2e

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"testing"

	"github.com/lateenmesh/lateen/internal/proxy/telemetry/tracing/tracingtest"
)

// Istio's distributed tracing task with Zipkin: a Zipkin collector (in
// this test) registered as zipkin.istio-system, named in MeshConfig
// extensionProviders and enabled at 100% by a mesh-wide Telemetry. One
// Bookinfo request through the ingress gives one trace with a span from
// the gateway and from every sidecar on the way, linked parent to child.
func TestBookinfoTraceInZipkin(t *testing.T) {
	d := sharedDemo(t)
	col := tracingtest.NewZipkin(t)
	_, port, err := net.SplitHostPort(col.Addr)
	if err != nil {
		t.Fatal(err)
	}
	d.writeConfig(t, "e2e-tracing.yaml", meshConfigMap(`extensionProviders:
- name: zipkin
  zipkin:
    service: zipkin.istio-system.svc.cluster.local
    port: 9411`)+`---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: zipkin, namespace: istio-system}
spec:
  hosts: [zipkin.istio-system.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - {name: http-zipkin, number: 9411, protocol: HTTP}
  endpoints:
  - address: 127.0.0.1
    ports: {http-zipkin: `+port+`}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-default, namespace: istio-system}
spec:
  tracing:
  - providers:
    - name: zipkin
    randomSamplingPercentage: 100
`)
	run := fmt.Sprintf("e2e-trace-%08x", rand.Uint32())
	var sent []string
	var trace []tracingtest.Span
	polls := 0
	eventually(t, propagation, "a trace of /productpage with spans from the gateway to details and reviews", func() error {
		// Spans are exported in batches (every second), so a request is
		// sent every 20 polls and every request sent so far is looked for.
		if polls%20 == 0 {
			id := fmt.Sprintf("%s-%d", run, len(sent))
			if code, err := d.ingressRequest("/productpage", id); err != nil || code != 200 {
				return fmt.Errorf("GET /productpage: %d %v", code, err)
			}
			sent = append(sent, id)
		}
		polls++
		var err error
		for _, id := range sent {
			if trace, err = completeTrace(col, id); err == nil {
				return nil
			}
		}
		return fmt.Errorf("%d requests sent, %d spans received; last: %v", len(sent), len(col.Spans()), err)
	})
	checkTraceTree(t, trace)
}

// completeTrace returns the trace whose gateway span carries the request
// id once it has spans from the gateway (server and client), productpage
// (server and client), details and reviews, and the parent of each.
func completeTrace(col *tracingtest.Collector, requestID string) ([]tracingtest.Span, error) {
	var trace []tracingtest.Span
	for _, s := range col.Spans() {
		if s.Tags["guid:x-request-id"] == requestID && s.ParentID == "" {
			trace = col.Trace(s.TraceID)
		}
	}
	services, ids := map[string]bool{}, map[string]bool{}
	for _, s := range trace {
		services[s.Service+"/"+s.Kind] = true
		ids[s.ID] = true
	}
	for _, s := range trace { // each proxy exports on its own: wait for the parents too
		if s.ParentID != "" && !ids[s.ParentID] {
			return nil, fmt.Errorf("request %s: the parent of %v has not arrived yet", requestID, s)
		}
	}
	for _, want := range []string{"istio-ingressgateway.istio-system/SERVER", "istio-ingressgateway.istio-system/CLIENT",
		"productpage.default/SERVER", "productpage.default/CLIENT", "details.default/SERVER", "reviews.default/SERVER"} {
		if !services[want] {
			return nil, fmt.Errorf("request %s: no %s span yet (%d spans: %v)", requestID, want, len(trace), trace)
		}
	}
	return trace, nil
}

// checkTraceTree checks one trace: a single root (the gateway's server
// span), every other span's parent in the trace, each server span of a
// sidecar the child of a client span of its caller, and Istio's tags.
func checkTraceTree(t *testing.T, trace []tracingtest.Span) {
	t.Helper()
	byID := map[string]tracingtest.Span{}
	for _, s := range trace {
		byID[s.ID] = s
	}
	var roots []tracingtest.Span
	for _, s := range trace {
		if s.ParentID == "" {
			roots = append(roots, s)
			continue
		}
		p, ok := byID[s.ParentID]
		switch {
		case !ok:
			t.Errorf("span %v: parent %s not in the trace", s, s.ParentID)
		case s.Kind == "SERVER" && p.Kind != "CLIENT":
			t.Errorf("server span %v: parent %v is not a client span", s, p)
		case s.Kind == "CLIENT" && s.Service != p.Service:
			t.Errorf("client span %v: parent %v is another workload's", s, p)
		}
	}
	if len(roots) != 1 || roots[0].Service != "istio-ingressgateway.istio-system" || roots[0].Kind != "SERVER" {
		t.Errorf("roots %v, want the gateway's server span", roots)
	}
	for _, s := range trace {
		if s.Kind == "SERVER" && s.Service == "details.default" {
			p := byID[s.ParentID]
			if p.Service != "productpage.default" || !strings.HasPrefix(p.Name, "details.default.svc.cluster.local:9080/") {
				t.Errorf("details server span %v: parent %v, want productpage's call to details", s, p)
			}
			if s.Name != "details.default.svc.cluster.local:9080/*" {
				t.Errorf("details server span name %q", s.Name)
			}
			for k, want := range map[string]string{"istio.canonical_service": "details", "istio.namespace": "default",
				"http.status_code": "200", "response_flags": "-", "component": "proxy"} {
				if s.Tags[k] != want {
					t.Errorf("details span tag %s = %q, want %q (tags %v)", k, s.Tags[k], want, s.Tags)
				}
			}
			if !strings.HasPrefix(s.Tags["node_id"], "sidecar~") || !strings.HasPrefix(s.Tags["upstream_cluster"], "inbound|9080|") {
				t.Errorf("details span tags %v", s.Tags)
			}
		}
	}
}
