package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	nethttp "net/http"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/zipkin"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/lateenmesh/lateen/internal/proxy/cluster"
	"github.com/lateenmesh/lateen/internal/proxy/lb"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/stats"
)

// defaultExportTimeout bounds one export when the configuration sets none
// (Istio's default for Zipkin).
const defaultExportTimeout = 5 * time.Second

// exporter is one tracing provider: an OpenTelemetry SDK tracer provider
// that batches spans and exports them to a collector reached through a
// cluster of the proxy's configuration. Spans are queued without
// blocking (dropped when the queue is full) and sent by the SDK's batch
// goroutine.
type exporter struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
	id128    bool
	closers  []func() error
}

// exporterFor returns the exporter of a provider configuration, creating
// it on first use. Exporters live until the tracer stops.
func (t *Tracer) exporterFor(p *resource.TracingProvider) (*exporter, error) {
	key := providerKey(p)
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.exporters[key]; ok {
		return e, nil
	}
	if t.stopped {
		return nil, errors.New("tracing: stopped")
	}
	e, err := t.newExporter(p)
	if err != nil {
		return nil, err
	}
	t.exporters[key] = e
	return e, nil
}

func (t *Tracer) newExporter(p *resource.TracingProvider) (*exporter, error) {
	var (
		sdkExp  sdktrace.SpanExporter
		service = t.opts.ServiceName
		kind    = "zipkin"
		e       = &exporter{}
		err     error
	)
	switch {
	case p.Zipkin != nil:
		e.id128 = p.Zipkin.TraceID128
		sdkExp, err = t.zipkinExporter(p.Zipkin)
	case p.OpenTelemetry != nil:
		kind, e.id128, service = "opentelemetry", true, p.OpenTelemetry.ServiceName
		sdkExp, e.closers, err = t.otlpExporter(p.OpenTelemetry)
	default:
		return nil, fmt.Errorf("tracing provider %q: no tracer configuration", p.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("tracing provider %q: %w", p.Name, err)
	}
	counted := &countingExporter{SpanExporter: sdkExp, log: t.log.With("provider", p.Name),
		sent: t.opts.Stats.Counter("tracing." + kind + ".spans_sent"), failed: t.opts.Stats.Counter("tracing." + kind + ".reports_failed")}
	res := sdkresource.NewSchemaless(attribute.String("service.name", service))
	e.provider = sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(counted, sdktrace.WithBatchTimeout(t.opts.FlushInterval),
			sdktrace.WithMaxQueueSize(t.opts.QueueSize), sdktrace.WithExportTimeout(2*defaultExportTimeout)),
		sdktrace.WithResource(res), sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithIDGenerator(idGenerator{id128: e.id128}))
	e.tracer = e.provider.Tracer("envoy")
	return e, nil
}

func (t *Tracer) zipkinExporter(z *resource.ZipkinTracer) (sdktrace.SpanExporter, error) {
	c := z.Collector
	client := &nethttp.Client{Transport: t.clusterTransport(c), Timeout: orDefault(c.Timeout)}
	return zipkin.New("http://"+c.Host+c.Path, zipkin.WithClient(client))
}

func (t *Tracer) otlpExporter(o *resource.OpenTelemetryTracer) (sdktrace.SpanExporter, []func() error, error) {
	ctx := context.Background() // the OTLP constructors do no I/O with these options
	if h := o.HTTP; h != nil {
		client := &nethttp.Client{Transport: t.clusterTransport(*h), Timeout: orDefault(h.Timeout)}
		exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL("http://"+h.Host+h.Path),
			otlptracehttp.WithHTTPClient(client), otlptracehttp.WithCompression(otlptracehttp.NoCompression),
			otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}), otlptracehttp.WithTimeout(orDefault(h.Timeout)))
		return exp, nil, err
	}
	g := o.GRPC
	conn, err := grpc.NewClient("passthrough:///"+g.Authority, grpc.WithAuthority(g.Authority),
		grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithContextDialer(t.clusterDialer(g.Cluster)))
	if err != nil {
		return nil, nil, err
	}
	md := map[string]string{}
	for _, h := range g.Metadata {
		md[h.Name] = h.Value
	}
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithGRPCConn(conn), otlptracegrpc.WithHeaders(md),
		otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}), otlptracegrpc.WithTimeout(orDefault(g.Timeout)))
	if err != nil {
		_ = conn.Close()
		return nil, nil, err
	}
	return exp, []func() error{conn.Close}, nil
}

func orDefault(d time.Duration) time.Duration {
	if d <= 0 {
		return defaultExportTimeout
	}
	return d
}

// providerKey identifies a provider configuration.
func providerKey(p *resource.TracingProvider) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|", p.Name)
	if z := p.Zipkin; z != nil {
		fmt.Fprintf(&b, "zipkin|%+v|%v|%v", z.Collector, z.TraceID128, z.W3C)
	}
	if o := p.OpenTelemetry; o != nil {
		fmt.Fprintf(&b, "otel|%s|", o.ServiceName)
		if o.GRPC != nil {
			fmt.Fprintf(&b, "grpc|%+v", *o.GRPC)
		}
		if o.HTTP != nil {
			fmt.Fprintf(&b, "http|%+v", *o.HTTP)
		}
	}
	return b.String()
}

// pick chooses a collector endpoint of a cluster of the current
// configuration.
func (t *Tracer) pick(name string) (*cluster.Cluster, string, error) {
	set := t.opts.Clusters()
	var cl *cluster.Cluster
	if set != nil {
		cl = set.Get(name)
	}
	if cl == nil {
		return nil, "", fmt.Errorf("collector cluster %q not found", name)
	}
	ep, ok := cl.Pick(&lb.Request{})
	if !ok {
		return nil, "", fmt.Errorf("collector cluster %q: no healthy endpoint", name)
	}
	return cl, ep.Address, nil
}

// clusterTransport sends collector requests to an endpoint of the
// service's cluster, through the cluster's connection pool, with the
// service's extra headers.
func (t *Tracer) clusterTransport(s resource.HTTPService) nethttp.RoundTripper {
	return roundTripper(func(req *nethttp.Request) (*nethttp.Response, error) {
		cl, addr, err := t.pick(s.Cluster)
		if err != nil {
			return nil, err
		}
		out := req.Clone(req.Context())
		out.URL.Host = addr
		out.Host = s.Host
		for _, h := range s.Headers {
			out.Header.Set(h.Name, h.Value)
		}
		return cl.Upstream.RoundTrip(out)
	})
}

type roundTripper func(*nethttp.Request) (*nethttp.Response, error)

func (f roundTripper) RoundTrip(r *nethttp.Request) (*nethttp.Response, error) { return f(r) }

// clusterDialer connects a gRPC client to an endpoint of a cluster.
func (t *Tracer) clusterDialer(name string) func(context.Context, string) (net.Conn, error) {
	return func(ctx context.Context, _ string) (net.Conn, error) {
		cl, addr, err := t.pick(name)
		if err != nil {
			return nil, err
		}
		return cl.Upstream.Dial(ctx, addr)
	}
}

// countingExporter counts exported spans and failed reports, and logs
// failures itself (at most one line per provider every minute) instead of
// the SDK's global error handler.
type countingExporter struct {
	sdktrace.SpanExporter
	log          *slog.Logger
	sent, failed *stats.Counter
	mu           sync.Mutex
	lastLog      time.Time
}

func (c *countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if err := c.SpanExporter.ExportSpans(ctx, spans); err != nil {
		c.failed.Inc()
		c.mu.Lock()
		if time.Since(c.lastLog) > time.Minute {
			c.lastLog = time.Now()
			c.log.Warn("span export failed; spans dropped", "spans", len(spans), "err", err)
		}
		c.mu.Unlock()
		return nil
	}
	c.sent.Add(uint64(len(spans)))
	return nil
}

func (e *exporter) shutdown(ctx context.Context) error {
	err := e.provider.Shutdown(ctx)
	for _, c := range e.closers {
		err = errors.Join(err, c())
	}
	return err
}
