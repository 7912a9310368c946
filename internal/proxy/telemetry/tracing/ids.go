package tracing

import (
	"context"
	"encoding/binary"
	"math/rand/v2"

	"go.opentelemetry.io/otel/trace"
)

// idGenerator makes span and trace ids for the SDK: random, 64-bit trace
// ids when the Zipkin tracer asks for them, and the ids an observer
// preset in the context (a Zipkin server span sharing its caller's span
// id, or the ids of a trace the caller started without a span id).
type idGenerator struct{ id128 bool }

type presetKey struct{}

// preset are ids an observer wants the next span to have.
type preset struct {
	traceID trace.TraceID
	spanID  trace.SpanID
}

func withPreset(ctx context.Context, p preset) context.Context {
	return context.WithValue(ctx, presetKey{}, p)
}

func (g idGenerator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	p, _ := ctx.Value(presetKey{}).(preset)
	tid := p.traceID
	if !tid.IsValid() {
		tid = newTraceID(g.id128)
	}
	return tid, g.NewSpanID(ctx, tid)
}

func (g idGenerator) NewSpanID(ctx context.Context, _ trace.TraceID) trace.SpanID {
	if p, ok := ctx.Value(presetKey{}).(preset); ok && p.spanID.IsValid() {
		return p.spanID
	}
	return newSpanID()
}

func newTraceID(id128 bool) trace.TraceID {
	var id trace.TraceID
	for !id.IsValid() {
		if id128 {
			binary.BigEndian.PutUint64(id[:8], rand.Uint64())
		}
		binary.BigEndian.PutUint64(id[8:], rand.Uint64())
	}
	return id
}

func newSpanID() trace.SpanID {
	var id trace.SpanID
	for !id.IsValid() {
		binary.BigEndian.PutUint64(id[:], rand.Uint64())
	}
	return id
}
