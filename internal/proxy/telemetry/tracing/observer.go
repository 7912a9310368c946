package tracing

import (
	"context"
	nethttp "net/http"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	proxyhttp "github.com/lateenmesh/lateen/internal/proxy/http"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// observer traces the requests of one connection manager.
type observer struct {
	t       *Tracer
	cfg     *resource.Tracing
	sampler sampler
	prop    propagator // zero without a provider: nothing is read or written
	exp     *exporter  // nil: no spans are reported
	kind    trace.SpanKind
	spawn   bool // also a client span for the upstream request
	shared  bool // Zipkin shared span context: a server span reuses its caller's span id
	id128   bool
	tags    []customTag
}

// Begin decides whether the request is traced, starts its span(s) and
// writes the trace context the router forwards upstream.
func (o *observer) Begin(r *nethttp.Request, info *proxyhttp.Info) func() {
	dec := o.sampler.decide(r.Header)
	info.RequestID = r.Header.Get("X-Request-Id")
	if o.prop == (propagator{}) {
		return nil
	}
	in := o.prop.extract(r.Header)
	sampled := dec != reasonNone
	if in.sampled != samplingUnknown {
		sampled = in.sampled == samplingYes
	}
	if !sampled {
		o.propagateUnsampled(r.Header, in)
		return nil
	}
	ctx, parent := o.parentContext(in)
	_, span := o.exp.tracer.Start(ctx, o.initialName(info), trace.WithSpanKind(o.kind),
		trace.WithTimestamp(info.Start))
	sc, injectParent := span.SpanContext(), parent
	var up trace.Span
	if o.spawn {
		upCtx := trace.ContextWithSpanContext(context.Background(), sc)
		_, up = o.exp.tracer.Start(upCtx, "router egress", trace.WithSpanKind(trace.SpanKindClient),
			trace.WithTimestamp(info.Start))
		injectParent, sc = sc.SpanID(), up.SpanContext()
	}
	if !o.cfg.NoContextPropagation {
		o.prop.inject(r.Header, sc, injectParent)
	}
	return func() { o.finish(span, up, r, info) }
}

// parentContext returns the context to start the request's span in, and
// the span's parent span id (for x-b3-parentspanid).
func (o *observer) parentContext(in remote) (context.Context, trace.SpanID) {
	ctx := context.Background()
	if !in.sc.IsValid() {
		return ctx, trace.SpanID{}
	}
	if o.shared && o.kind == trace.SpanKindServer {
		// The server span is the caller's client span (same id), a child
		// of the caller's parent.
		ctx = withPreset(ctx, preset{traceID: in.sc.TraceID(), spanID: in.sc.SpanID()})
		if !in.parentID.IsValid() {
			return ctx, trace.SpanID{}
		}
		p := trace.NewSpanContext(trace.SpanContextConfig{TraceID: in.sc.TraceID(), SpanID: in.parentID,
			TraceFlags: trace.FlagsSampled, Remote: true})
		return trace.ContextWithRemoteSpanContext(ctx, p), in.parentID
	}
	return trace.ContextWithRemoteSpanContext(ctx, in.sc), in.sc.SpanID()
}

// propagateUnsampled forwards a not-sampled trace context, as Envoy's
// tracers do, so that the next hops keep the decision.
func (o *observer) propagateUnsampled(h nethttp.Header, in remote) {
	if o.cfg.NoContextPropagation {
		return
	}
	tid := in.sc.TraceID()
	if !tid.IsValid() {
		tid = newTraceID(o.id128)
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: newSpanID(),
		TraceState: in.sc.TraceState()})
	o.prop.inject(h, sc, in.sc.SpanID())
}

// initialName is Envoy's span name before the route is known: "ingress",
// or "egress <host>" on the outbound side.
func (o *observer) initialName(info *proxyhttp.Info) string {
	if o.kind == trace.SpanKindClient {
		return "egress " + info.Authority
	}
	return "ingress"
}

// finish names the spans (the route's decorator), tags them and ends them
// when the response is complete.
func (o *observer) finish(span, up trace.Span, r *nethttp.Request, info *proxyhttp.Info) {
	if rt := info.Route(); rt != nil && rt.Decorator != "" {
		span.SetName(rt.Decorator)
	}
	end := trace.WithTimestamp(info.Start.Add(info.Duration))
	common := o.commonTags(r, info)
	if up != nil {
		up.SetName("router " + info.Cluster + " egress")
		up.SetAttributes(common...)
		setError(up, info)
		up.End(end)
	}
	span.SetAttributes(common...)
	span.SetAttributes(o.downstreamTags(r, info)...)
	span.SetAttributes(o.customTags(r, info)...)
	setError(span, info)
	span.End(end)
}

// commonTags are Envoy's tags of both the downstream and upstream spans.
func (o *observer) commonTags(r *nethttp.Request, info *proxyhttp.Info) []attribute.KeyValue {
	tags := []attribute.KeyValue{
		attribute.String("component", "proxy"),
		attribute.String("node_id", o.t.opts.NodeID),
		attribute.String("http.url", o.url(r, info)),
		attribute.String("http.method", r.Method),
		attribute.String("http.protocol", protocol(r)),
		attribute.String("http.status_code", strconv.Itoa(info.ResponseCode)),
		attribute.String("response_flags", info.Flags.String()),
		attribute.String("guid:x-request-id", info.RequestID),
	}
	if info.Cluster != "" {
		tags = append(tags, attribute.String("upstream_cluster", info.Cluster),
			attribute.String("upstream_cluster.name", info.Cluster))
	}
	if info.UpstreamHost != "" {
		tags = append(tags, attribute.String("upstream_address", info.UpstreamHost))
	}
	if info.GRPC && info.ResponseHeader != nil {
		if s := grpcHeader(info.ResponseHeader, "Grpc-Status"); s != "" {
			tags = append(tags, attribute.String("grpc.status_code", s))
		}
		if m := grpcHeader(info.ResponseHeader, "Grpc-Message"); m != "" {
			tags = append(tags, attribute.String("grpc.message", m))
		}
	}
	return tags
}

// downstreamTags are Envoy's tags of the downstream request's span.
func (o *observer) downstreamTags(r *nethttp.Request, info *proxyhttp.Info) []attribute.KeyValue {
	tags := []attribute.KeyValue{
		attribute.String("downstream_cluster", orDash(r.Header.Get("X-Envoy-Downstream-Service-Cluster"))),
		attribute.String("user_agent", orDash(r.Header.Get("User-Agent"))),
		attribute.String("peer.address", info.DownstreamPeer),
		attribute.String("request_size", strconv.FormatInt(info.BytesReceived, 10)),
		attribute.String("response_size", strconv.FormatInt(info.BytesSent, 10)),
	}
	if id := r.Header.Get("X-Client-Trace-Id"); id != "" {
		tags = append(tags, attribute.String("guid:x-client-trace-id", id))
	}
	return tags
}

// url is the http.url tag: scheme://host/path, the path cut to the
// configured length.
func (o *observer) url(r *nethttp.Request, info *proxyhttp.Info) string {
	scheme := r.Header.Get("X-Forwarded-Proto")
	if scheme == "" {
		scheme = "http"
	}
	path := r.Header.Get("X-Envoy-Original-Path")
	if path == "" {
		path = r.URL.RequestURI()
	}
	if n := o.cfg.MaxPathTagLength; n > 0 && len(path) > n {
		path = path[:n]
	}
	return scheme + "://" + info.Authority + path
}

// setError marks a span failed as Envoy does: no response, or a 5xx.
func setError(s trace.Span, info *proxyhttp.Info) {
	if info.ResponseCode == 0 || info.ResponseCode >= 500 {
		s.SetAttributes(attribute.String("error", "true"))
		s.SetStatus(codes.Error, "true")
	}
}

func grpcHeader(h nethttp.Header, name string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	return h.Get(nethttp.TrailerPrefix + name)
}

func protocol(r *nethttp.Request) string {
	if r.ProtoMajor == 2 {
		return "HTTP/2"
	}
	return r.Proto
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

var _ proxyhttp.Observer = (*observer)(nil)
