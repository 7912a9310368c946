package proxy_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	tracev3 "github.com/envoyproxy/go-control-plane/envoy/config/trace/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tracingv3 "github.com/envoyproxy/go-control-plane/envoy/type/tracing/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/lateenmesh/lateen/internal/proxy/proxytest"
	"github.com/lateenmesh/lateen/internal/proxy/telemetry/tracing/tracingtest"
	"github.com/lateenmesh/lateen/internal/wait"
)

func decorated(r *routev3.Route, op string) *routev3.Route {
	r.Decorator = &routev3.Decorator{Operation: op}
	return r
}

// tracingConfig is the HCM tracing Istio sends: sampling, its literal
// tags and a provider.
func tracingConfig(sampling float64, provider proto.Message, name string) *hcmv3.HttpConnectionManager_Tracing {
	return &hcmv3.HttpConnectionManager_Tracing{
		ClientSampling: &typev3.Percent{Value: 100}, RandomSampling: &typev3.Percent{Value: sampling},
		OverallSampling: &typev3.Percent{Value: 100},
		CustomTags: []*tracingv3.CustomTag{
			{Tag: "istio.canonical_service", Type: &tracingv3.CustomTag_Literal_{Literal: &tracingv3.CustomTag_Literal{Value: "test"}}},
			{Tag: "istio.mesh_id", Type: &tracingv3.CustomTag_Literal_{Literal: &tracingv3.CustomTag_Literal{Value: "cluster.local"}}},
			{Tag: "from_header", Type: &tracingv3.CustomTag_RequestHeader{RequestHeader: &tracingv3.CustomTag_Header{
				Name: "x-tag", DefaultValue: "none"}}},
			{Tag: "route", Type: &tracingv3.CustomTag_Value{Value: "%ROUTE_NAME%"}},
		},
		Provider: &tracev3.Tracing_Http{Name: name, ConfigType: &tracev3.Tracing_Http_TypedConfig{TypedConfig: proxytest.Any(provider)}},
	}
}

func zipkinProvider(collectorCluster string) proto.Message {
	return &tracev3.ZipkinConfig{CollectorEndpointVersion: tracev3.ZipkinConfig_HTTP_JSON, TraceId_128Bit: true,
		SharedSpanContext: wrapperspb.Bool(false),
		CollectorService: &corev3.HttpService{HttpUri: &corev3.HttpUri{
			Uri:              "http://zipkin.istio-system.svc.cluster.local:9411/api/v2/spans",
			HttpUpstreamType: &corev3.HttpUri_Cluster{Cluster: collectorCluster}, Timeout: durationpb.New(5 * time.Second)}}}
}

// traceSeen records the trace headers the backend received.
type traceSeen struct {
	mu  sync.Mutex
	hdr []http.Header
}

func (s *traceSeen) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hdr = append(s.hdr, r.Header.Clone())
		s.mu.Unlock()
		io.WriteString(w, "ok")
	})
}

func (s *traceSeen) last() http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hdr[len(s.hdr)-1]
}

// waitSpans waits until the collector holds n spans of a trace.
func waitSpans(t *testing.T, c *tracingtest.Collector, traceID string, n int) []tracingtest.Span {
	t.Helper()
	var spans []tracingtest.Span
	wait.For(t, 20*time.Second, fmt.Sprintf("%d spans of trace %s", n, traceID), func() error {
		spans = c.Trace(traceID)
		if len(spans) < n {
			return fmt.Errorf("spans: %v (all: %v)", spans, c.Spans())
		}
		return nil
	})
	return spans
}

func TestTracingZipkinServerSpan(t *testing.T) {
	e := startProxy(t)
	col := tracingtest.NewZipkin(t)
	be := &traceSeen{}
	backend := serve(t, be.handler())
	addr := loggedHTTP(t, e, "v1", "INBOUND", nil, tracingConfig(0, zipkinProvider("zipkin"), "envoy.tracers.zipkin"),
		backend, proxytest.StaticCluster("zipkin", col.Addr))
	c := client()

	const traceID, parent = "463ac35c9f6413ad48485a3953bb6124", "a2fb4a1d1a96d312"
	r := get(t, c, addr, "backend", "/x", "X-B3-Traceid", traceID, "X-B3-Spanid", parent, "X-B3-Sampled", "1",
		"X-Tag", "tagged")
	if r.code != 200 {
		t.Fatalf("got %d", r.code)
	}
	up := be.last()
	if up.Get("X-B3-Traceid") != traceID || up.Get("X-B3-Parentspanid") != parent || up.Get("X-B3-Sampled") != "1" {
		t.Errorf("upstream trace headers: %v", up)
	}
	spans := waitSpans(t, col, traceID, 1)
	s := spans[0]
	if s.ID != up.Get("X-B3-Spanid") || s.ParentID != parent || s.Kind != "SERVER" ||
		s.Name != "backend.default.svc.cluster.local:80/*" || s.Service != "test.default" {
		t.Errorf("span %v; upstream span id %s", s, up.Get("X-B3-Spanid"))
	}
	for k, want := range map[string]string{"http.status_code": "200", "http.method": "GET", "http.url": "http://backend/x",
		"node_id": nodeID, "upstream_cluster": "backend", "response_flags": "-", "component": "proxy",
		"guid:x-request-id": up.Get("X-Request-Id"), "istio.canonical_service": "test", "istio.mesh_id": "cluster.local",
		"from_header": "tagged", "route": "-", "upstream_address": backend} {
		if k == "route" {
			continue // the route has no name: a format tag with no value is left out
		}
		if got := s.Tags[k]; got != want {
			t.Errorf("tag %s = %q, want %q (tags %v)", k, got, want, s.Tags)
		}
	}
	if _, ok := s.Tags["route"]; ok {
		t.Errorf("empty format tag set: %v", s.Tags)
	}

	// Not sampled upstream: the decision is kept and nothing is reported.
	get(t, c, addr, "backend", "/y", "X-B3-Traceid", "1111111111111111", "X-B3-Spanid", parent, "X-B3-Sampled", "0")
	if up := be.last(); up.Get("X-B3-Sampled") != "0" || up.Get("X-B3-Traceid") != "1111111111111111" {
		t.Errorf("unsampled upstream headers: %v", up)
	}
	// No decision upstream and 0% random sampling: not traced either;
	// x-client-trace-id forces it (client sampling 100%).
	get(t, c, addr, "backend", "/z")
	if up := be.last(); up.Get("X-B3-Sampled") != "0" || up.Get("X-Request-Id")[14] != '4' {
		t.Errorf("unsampled new trace headers: %v", up)
	}
	get(t, c, addr, "backend", "/forced", "X-Client-Trace-Id", "client-1")
	forced := be.last()
	if forced.Get("X-B3-Sampled") != "1" || forced.Get("X-Request-Id")[14] != 'b' {
		t.Errorf("client-forced trace headers: %v", forced)
	}
	spans = waitSpans(t, col, forced.Get("X-B3-Traceid"), 1)
	if spans[0].ParentID != "" || spans[0].Tags["guid:x-client-trace-id"] != "client-1" {
		t.Errorf("forced span: %v %v", spans[0], spans[0].Tags)
	}
	for _, s := range col.Spans() {
		if s.TraceID == "1111111111111111" || s.TraceID == "00000000000000001111111111111111" {
			t.Errorf("unsampled request reported: %v", s)
		}
	}
}

func TestTracingOutboundClientSpanAndRequestID(t *testing.T) {
	e := startProxy(t)
	col := tracingtest.NewZipkin(t)
	be := &traceSeen{}
	backend := serve(t, be.handler())
	addr := loggedHTTP(t, e, "v1", "OUTBOUND", nil, tracingConfig(100, zipkinProvider("zipkin"), "envoy.tracers.zipkin"),
		backend, proxytest.StaticCluster("zipkin", col.Addr))
	get(t, client(), addr, "backend", "/out", "B3", "0") // a single-header "not sampled" from the app
	if up := be.last(); up.Get("X-B3-Sampled") != "0" {
		t.Errorf("b3: 0 not honoured: %v", up)
	}
	get(t, client(), addr, "backend", "/out")
	up := be.last()
	if up.Get("X-B3-Sampled") != "1" || len(up.Get("X-B3-Traceid")) != 32 || up.Get("X-B3-Parentspanid") != "" {
		t.Fatalf("upstream headers: %v", up)
	}
	if id := up.Get("X-Request-Id"); id[14] != 'a' {
		t.Errorf("x-request-id %q not marked as sampled", id)
	}
	s := waitSpans(t, col, up.Get("X-B3-Traceid"), 1)[0]
	if s.Kind != "CLIENT" || s.ID != up.Get("X-B3-Spanid") || s.ParentID != "" {
		t.Errorf("span %v", s)
	}
	// The request id's mark keeps the decision at the next hop, even
	// without trace headers.
	get(t, client(), addr, "backend", "/again", "X-Request-Id", up.Get("X-Request-Id"), "X-B3-Sampled", "")
	if again := be.last(); again.Get("X-B3-Sampled") != "1" {
		t.Errorf("marked request id not traced: %v", again)
	}
}

func TestTracingOTLPGatewaySpans(t *testing.T) {
	for _, tc := range []struct {
		name      string
		collector func(testing.TB) *tracingtest.Collector
		provider  func(cluster string) proto.Message
	}{
		{"grpc", tracingtest.NewOTLPGRPC, func(cl string) proto.Message {
			return &tracev3.OpenTelemetryConfig{ServiceName: "istio-ingressgateway.istio-system",
				GrpcService: &corev3.GrpcService{TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{
					ClusterName: cl, Authority: "otel-collector.observability.svc.cluster.local"}}}}
		}},
		{"http", tracingtest.NewOTLPHTTP, func(cl string) proto.Message {
			return &tracev3.OpenTelemetryConfig{ServiceName: "istio-ingressgateway.istio-system",
				HttpService: &corev3.HttpService{HttpUri: &corev3.HttpUri{Uri: "otel-collector.observability.svc.cluster.local/v1/traces",
					HttpUpstreamType: &corev3.HttpUri_Cluster{Cluster: cl}, Timeout: durationpb.New(5 * time.Second)}}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startProxy(t)
			col := tc.collector(t)
			be := &traceSeen{}
			backend := serve(t, be.handler())
			tr := tracingConfig(100, tc.provider("otel"), "envoy.tracers.opentelemetry")
			tr.SpawnUpstreamSpan = wrapperspb.Bool(true)
			addr := loggedHTTP(t, e, "v1", "OUTBOUND", nil, tr, backend, proxytest.StaticCluster("otel", col.Addr))
			const traceID, parent = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
			get(t, client(), addr, "backend", "/gw", "Traceparent", "00-"+traceID+"-"+parent+"-01", "Tracestate", "k=v")
			up := be.last()
			tp := strings.Split(up.Get("Traceparent"), "-")
			if len(tp) != 4 || tp[1] != traceID || tp[3] != "01" || up.Get("Tracestate") != "k=v" {
				t.Fatalf("upstream traceparent %q tracestate %q", up.Get("Traceparent"), up.Get("Tracestate"))
			}
			spans := waitSpans(t, col, traceID, 2)
			server, clientSpan := spans[0], spans[1]
			if server.Kind != "SERVER" {
				server, clientSpan = clientSpan, server
			}
			if server.Kind != "SERVER" || server.ParentID != parent || server.Name != "backend.default.svc.cluster.local:80/*" ||
				server.Service != "istio-ingressgateway.istio-system" {
				t.Errorf("server span %v", server)
			}
			if clientSpan.Kind != "CLIENT" || clientSpan.ParentID != server.ID || clientSpan.ID != tp[2] ||
				clientSpan.Name != "router backend egress" || clientSpan.Tags["upstream_address"] != backend {
				t.Errorf("client span %v %v (server %v)", clientSpan, clientSpan.Tags, server)
			}
		})
	}
}
