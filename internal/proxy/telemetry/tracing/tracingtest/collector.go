// Package tracingtest has in-process trace collectors for tests: a Zipkin
// (JSON v2 over HTTP) receiver and OTLP receivers over gRPC and HTTP. Each
// records the spans it receives in one shape, whatever the protocol.
package tracingtest

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonv1 "go.opentelemetry.io/proto/otlp/common/v1"
	tracev1 "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// Span is a received span.
type Span struct {
	TraceID  string // hex, as sent (16 or 32 digits)
	ID       string
	ParentID string // "" for a root span
	Name     string
	Kind     string // SERVER, CLIENT, ...
	Service  string // Zipkin localEndpoint.serviceName, OTLP service.name
	Tags     map[string]string
	Start    time.Time
	Duration time.Duration
}

func (s Span) String() string {
	return fmt.Sprintf("%s %s %s/%s<-%s %q", s.Service, s.Kind, s.TraceID, s.ID, s.ParentID, s.Name)
}

// Collector records spans; Addr is where it listens (host:port).
type Collector struct {
	Addr     string
	mu       sync.Mutex
	spans    []Span
	requests int
}

// Spans returns the spans received so far, sorted by start time.
func (c *Collector) Spans() []Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := append([]Span(nil), c.spans...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// Trace returns the spans of one trace, sorted by start time.
func (c *Collector) Trace(traceID string) []Span {
	var out []Span
	for _, s := range c.Spans() {
		if s.TraceID == traceID {
			out = append(out, s)
		}
	}
	return out
}

// Requests returns how many export requests arrived.
func (c *Collector) Requests() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requests
}

func (c *Collector) add(spans []Span) {
	c.mu.Lock()
	c.spans = append(c.spans, spans...)
	c.requests++
	c.mu.Unlock()
}

func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// NewZipkin starts a Zipkin receiver: POST /api/v2/spans with a JSON v2
// list of spans, answered 202.
func NewZipkin(t testing.TB) *Collector {
	ln := listen(t)
	c := &Collector{Addr: ln.Addr().String()}
	srv := &http.Server{Handler: http.HandlerFunc(c.serveZipkin), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return c
}

type zipkinSpan struct {
	TraceID       string                       `json:"traceId"`
	ID            string                       `json:"id"`
	ParentID      string                       `json:"parentId"`
	Name          string                       `json:"name"`
	Kind          string                       `json:"kind"`
	Timestamp     int64                        `json:"timestamp"`
	Duration      int64                        `json:"duration"`
	LocalEndpoint struct{ ServiceName string } `json:"localEndpoint"`
	Tags          map[string]string            `json:"tags"`
}

func (c *Collector) serveZipkin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/v2/spans" {
		http.Error(w, "POST /api/v2/spans only", http.StatusNotFound)
		return
	}
	var in []zipkinSpan
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	spans := make([]Span, 0, len(in))
	for _, z := range in {
		spans = append(spans, Span{TraceID: z.TraceID, ID: z.ID, ParentID: z.ParentID, Name: z.Name, Kind: z.Kind,
			Service: z.LocalEndpoint.ServiceName, Tags: z.Tags, Start: time.UnixMicro(z.Timestamp),
			Duration: time.Duration(z.Duration) * time.Microsecond})
	}
	c.add(spans)
	w.WriteHeader(http.StatusAccepted)
}

// NewOTLPGRPC starts an OTLP/gRPC trace receiver.
func NewOTLPGRPC(t testing.TB) *Collector {
	ln := listen(t)
	c := &Collector{Addr: ln.Addr().String()}
	srv := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(srv, &otlpService{c: c})
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return c
}

// NewOTLPHTTP starts an OTLP/HTTP trace receiver: POST /v1/traces with a
// protobuf ExportTraceServiceRequest.
func NewOTLPHTTP(t testing.TB) *Collector {
	ln := listen(t)
	c := &Collector{Addr: ln.Addr().String()}
	srv := &http.Server{Handler: http.HandlerFunc(c.serveOTLPHTTP), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return c
}

func (c *Collector) serveOTLPHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
		http.Error(w, "POST /v1/traces only", http.StatusNotFound)
		return
	}
	b, err := io.ReadAll(r.Body)
	var req collectortrace.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(b, &req)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.add(fromOTLP(&req))
	out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

type otlpService struct {
	collectortrace.UnimplementedTraceServiceServer
	c *Collector
}

func (s *otlpService) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	s.c.add(fromOTLP(req))
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

func fromOTLP(req *collectortrace.ExportTraceServiceRequest) []Span {
	var out []Span
	for _, rs := range req.GetResourceSpans() {
		service := attrMap(rs.GetResource().GetAttributes())["service.name"]
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				out = append(out, otlpSpan(sp, service))
			}
		}
	}
	return out
}

func otlpSpan(sp *tracev1.Span, service string) Span {
	s := Span{TraceID: hex.EncodeToString(sp.GetTraceId()), ID: hex.EncodeToString(sp.GetSpanId()),
		ParentID: hex.EncodeToString(sp.GetParentSpanId()), Name: sp.GetName(), Service: service,
		Kind:     strings.TrimPrefix(sp.GetKind().String(), "SPAN_KIND_"),
		Tags:     attrMap(sp.GetAttributes()),
		Start:    time.Unix(0, int64(sp.GetStartTimeUnixNano())),
		Duration: time.Duration(sp.GetEndTimeUnixNano() - sp.GetStartTimeUnixNano())}
	return s
}

func attrMap(kvs []*commonv1.KeyValue) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		v := kv.GetValue()
		switch x := v.GetValue().(type) {
		case *commonv1.AnyValue_StringValue:
			m[kv.GetKey()] = x.StringValue
		default:
			m[kv.GetKey()] = fmt.Sprint(v.GetValue())
		}
	}
	return m
}
