// Package tracing is the proxy's distributed tracing, as Envoy's HTTP
// tracers do it for Istio: each connection manager with a tracing
// configuration decides whether a request is traced (x-request-id trace
// reason, x-client-trace-id, x-envoy-force-trace, random sampling, an
// upstream's propagated decision), reads and writes the trace context
// (B3 multi and single headers and, with W3C on, traceparent for the
// Zipkin tracer; traceparent and tracestate for OpenTelemetry), records a
// span per request (client at a sidecar's outbound side, server at its
// inbound side and at gateways, which also get a client span for the
// upstream request) with Envoy's and Istio's tags, and exports spans in
// batches, never blocking requests, with OpenTelemetry's Go SDK: Zipkin
// JSON v2 over HTTP, or OTLP over gRPC or HTTP, to a collector reached
// through a cluster of the proxy's configuration.
package tracing

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/lateenmesh/lateen/internal/proxy/cluster"
	proxyhttp "github.com/lateenmesh/lateen/internal/proxy/http"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/stats"
	"github.com/lateenmesh/lateen/internal/proxy/telemetry/accesslog"
	"github.com/lateenmesh/lateen/internal/proxy/telemetry/peer"
)

// Defaults of Options.
const (
	DefaultFlushInterval = time.Second
	DefaultQueueSize     = 2048
	shutdownTimeout      = 2 * time.Second
)

// Options configure a Tracer.
type Options struct {
	// NodeID is the proxy's xDS node id (the node_id tag).
	NodeID string
	// ServiceName names this proxy's spans for Zipkin (Envoy's local
	// service cluster; Istio's is <canonical service>.<namespace>).
	ServiceName string
	// Node is this proxy's workload (for format custom tags).
	Node *peer.Workload
	// Clusters returns the current configuration's clusters: spans are
	// exported to an endpoint of the collector's cluster.
	Clusters func() *cluster.Set
	Stats    *stats.Store
	Logger   *slog.Logger
	// FlushInterval is how long spans wait to be batched (default 1s);
	// QueueSize bounds the spans waiting (default 2048; beyond, they are
	// dropped).
	FlushInterval time.Duration
	QueueSize     int
	// Env is what format custom tags read besides the request.
	Env accesslog.Env
}

// Tracer builds the tracing observers of connection managers and owns the
// exporters they share.
type Tracer struct {
	opts      Options
	log       *slog.Logger
	mu        sync.Mutex
	exporters map[string]*exporter
	stopped   bool
}

// New returns a tracer. It does no I/O; exporters start when a
// configuration first names their provider, and stop when Run returns.
func New(opts Options) *Tracer {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Stats == nil {
		opts.Stats = stats.New()
	}
	if opts.Clusters == nil {
		opts.Clusters = func() *cluster.Set { return nil }
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = DefaultFlushInterval
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.ServiceName == "" {
		opts.ServiceName = "unknown_service:envoy"
	}
	return &Tracer{opts: opts, log: opts.Logger.With("component", "tracing"), exporters: map[string]*exporter{}}
}

// Run waits for ctx to end, then flushes and stops the exporters.
func (t *Tracer) Run(ctx context.Context) error {
	<-ctx.Done()
	t.mu.Lock()
	t.stopped = true
	exps := t.exporters
	t.exporters = map[string]*exporter{}
	t.mu.Unlock()
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	var err error
	for _, e := range exps {
		err = errors.Join(err, e.shutdown(sctx))
	}
	if err != nil {
		t.log.Warn("flushing spans at shutdown", "err", err)
	}
	return nil
}

// HTTP is the proxyhttp.ObserverFactory: tracing for connection managers
// with a tracing configuration.
func (t *Tracer) HTTP(cfg *resource.HTTPConnectionManager, bc proxyhttp.BuildContext) (proxyhttp.Observer, error) {
	tc := cfg.Tracing
	if tc == nil {
		return nil, nil
	}
	o := &observer{t: t, cfg: tc, sampler: sampler{client: tc.ClientSampling, random: tc.RandomSampling,
		overall: tc.OverallSampling}, kind: trace.SpanKindServer, spawn: tc.SpawnUpstreamSpan}
	if bc.Direction == "OUTBOUND" && !tc.SpawnUpstreamSpan {
		// An outbound listener's span is the client side of the call, unless
		// the proxy is its own hop (gateways), where it is the server side
		// and the upstream request gets the client span.
		o.kind = trace.SpanKindClient
	}
	tags, err := compileTags(tc.CustomTags, t.opts.Env)
	if err != nil {
		return nil, err
	}
	o.tags = tags
	if p := tc.Provider; p != nil {
		if o.exp, err = t.exporterFor(p); err != nil {
			return nil, err
		}
		o.id128 = o.exp.id128
		if z := p.Zipkin; z != nil {
			o.prop, o.shared = propagator{b3: true, w3c: z.W3C}, z.SharedSpanContext
		} else {
			o.prop = propagator{w3c: true}
		}
	}
	return o, nil
}

var _ proxyhttp.ObserverFactory = (*Tracer)(nil).HTTP
