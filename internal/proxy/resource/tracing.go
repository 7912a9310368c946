package resource

import "time"

// Tracing is a decoded HttpConnectionManager.Tracing: how the connection
// manager samples requests, which tags its spans carry and where they go.
type Tracing struct {
	// Sampling percentages (0-100; Envoy's default 100 when unset):
	// x-client-trace-id requests, random sampling of the others, and the
	// cap applied after both.
	ClientSampling  float64
	RandomSampling  float64
	OverallSampling float64
	// MaxPathTagLength truncates the http.url tag (default 256).
	MaxPathTagLength int
	CustomTags       []CustomTag
	// SpawnUpstreamSpan makes the proxy its own hop: a server span for the
	// downstream request and a client span for the upstream one (Istio
	// sets it on gateways).
	SpawnUpstreamSpan bool
	// NoContextPropagation keeps trace headers from being sent upstream.
	NoContextPropagation bool
	// Provider reports the spans (nil: requests are sampled and
	// propagated, but no span is reported).
	Provider *TracingProvider
}

// TracingProvider is Tracing.provider: exactly one of Zipkin and
// OpenTelemetry is set.
type TracingProvider struct {
	Name          string // envoy.tracers.zipkin or envoy.tracers.opentelemetry
	Zipkin        *ZipkinTracer
	OpenTelemetry *OpenTelemetryTracer
}

// ZipkinTracer is a decoded envoy.config.trace.v3.ZipkinConfig: spans are
// sent as Zipkin JSON v2 to a cluster of the configuration.
type ZipkinTracer struct {
	Collector  HTTPService
	TraceID128 bool
	// SharedSpanContext (Envoy's default true) makes a server span reuse
	// its parent's span id; Istio turns it off.
	SharedSpanContext bool
	// W3C also reads and writes traceparent (USE_B3_WITH_W3C_PROPAGATION);
	// otherwise only B3 headers are used.
	W3C bool
}

// OpenTelemetryTracer is a decoded envoy.config.trace.v3.OpenTelemetryConfig:
// spans are exported as OTLP over gRPC (GRPC) or HTTP (HTTP); propagation
// is W3C trace context.
type OpenTelemetryTracer struct {
	ServiceName string
	GRPC        *GRPCService
	HTTP        *HTTPService
}

// HTTPService is a decoded envoy.config.core.v3.HttpService: requests go
// to an endpoint of Cluster with Host as authority.
type HTTPService struct {
	Cluster string
	Host    string
	Path    string
	Timeout time.Duration
	Headers []HeaderValue
}

// GRPCService is a decoded envoy.config.core.v3.GrpcService (envoy_grpc).
type GRPCService struct {
	Cluster   string
	Authority string
	Timeout   time.Duration
	Metadata  []HeaderValue
}

// CustomTagKind is how a custom tag gets its value.
type CustomTagKind int

// Custom tag kinds.
const (
	TagLiteral       CustomTagKind = iota // Value
	TagRequestHeader                      // header Value, else Default
	TagFormat                             // Value is an access log format string
)

// CustomTag is a decoded envoy.type.tracing.v3.CustomTag.
type CustomTag struct {
	Tag     string
	Kind    CustomTagKind
	Value   string
	Default string
}
