package tracing

import (
	"encoding/hex"
	nethttp "net/http"
	"strings"

	"go.opentelemetry.io/otel/trace"
)

// Trace context headers.
const (
	headerTraceparent = "Traceparent"
	headerTracestate  = "Tracestate"
	headerB3          = "B3"
	headerB3TraceID   = "X-B3-Traceid"
	headerB3SpanID    = "X-B3-Spanid"
	headerB3Parent    = "X-B3-Parentspanid"
	headerB3Sampled   = "X-B3-Sampled"
	headerB3Flags     = "X-B3-Flags"
)

// sampling is a propagated sampling decision.
type sampling int8

const (
	samplingUnknown sampling = iota
	samplingNo
	samplingYes
)

// remote is the trace context a request arrived with.
type remote struct {
	sc       trace.SpanContext // the caller's span (valid when found)
	sampled  sampling
	parentID trace.SpanID // x-b3-parentspanid: the caller's parent (shared span contexts)
}

// propagator reads and writes one family of trace headers.
type propagator struct {
	b3  bool // B3 multi and single headers
	w3c bool // traceparent and tracestate
}

// extract reads the request's trace context: B3 (single header first)
// before W3C when both are on, as Envoy's Zipkin tracer does.
func (p propagator) extract(h nethttp.Header) remote {
	if p.b3 {
		if rc, ok := extractB3Single(h.Get(headerB3)); ok {
			return rc
		}
		if rc, ok := extractB3Multi(h); ok {
			return rc
		}
	}
	if p.w3c {
		if rc, ok := extractW3C(h); ok {
			return rc
		}
	}
	return remote{}
}

// inject writes sc as the upstream request's trace context (parent is
// sc's parent, for x-b3-parentspanid). A 64-bit trace id stays 64-bit in
// B3 headers.
func (p propagator) inject(h nethttp.Header, sc trace.SpanContext, parent trace.SpanID) {
	if p.b3 {
		h.Del(headerB3)
		tid := sc.TraceID().String()
		tid = strings.TrimPrefix(tid, "0000000000000000")
		h.Set(headerB3TraceID, tid)
		h.Set(headerB3SpanID, sc.SpanID().String())
		if parent.IsValid() {
			h.Set(headerB3Parent, parent.String())
		} else {
			h.Del(headerB3Parent)
		}
		h.Set(headerB3Sampled, sampledFlag(sc.IsSampled()))
		h.Del(headerB3Flags)
	}
	if p.w3c {
		flags := "00"
		if sc.IsSampled() {
			flags = "01"
		}
		h.Set(headerTraceparent, "00-"+sc.TraceID().String()+"-"+sc.SpanID().String()+"-"+flags)
		if ts := sc.TraceState().String(); ts != "" {
			h.Set(headerTracestate, ts)
		}
	}
}

func sampledFlag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// extractW3C reads traceparent ("00-<trace>-<span>-<flags>") and
// tracestate.
func extractW3C(h nethttp.Header) (remote, bool) {
	parts := strings.Split(strings.TrimSpace(h.Get(headerTraceparent)), "-")
	if len(parts) < 4 || len(parts[0]) != 2 || parts[0] == "ff" || (parts[0] == "00" && len(parts) != 4) {
		return remote{}, false
	}
	tid, ok1 := traceID(parts[1])
	sid, ok2 := spanID(parts[2])
	flags, err := hex.DecodeString(parts[3])
	if !ok1 || !ok2 || len(parts[1]) != 32 || err != nil || len(flags) != 1 {
		return remote{}, false
	}
	cfg := trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.TraceFlags(flags[0]) & trace.FlagsSampled,
		Remote: true}
	if ts, err := trace.ParseTraceState(h.Get(headerTracestate)); err == nil {
		cfg.TraceState = ts
	}
	s := samplingNo
	if cfg.TraceFlags.IsSampled() {
		s = samplingYes
	}
	return remote{sc: trace.NewSpanContext(cfg), sampled: s}, true
}

// extractB3Multi reads the x-b3-* headers (a sampling decision alone is
// honoured too).
func extractB3Multi(h nethttp.Header) (remote, bool) {
	s := b3Sampling(h.Get(headerB3Sampled))
	if h.Get(headerB3Flags) == "1" {
		s = samplingYes
	}
	t, sp := h.Get(headerB3TraceID), h.Get(headerB3SpanID)
	if t == "" && sp == "" {
		return remote{sampled: s}, s != samplingUnknown
	}
	tid, ok1 := traceID(t)
	sid, ok2 := spanID(sp)
	if !ok1 || !ok2 {
		return remote{sampled: s}, s != samplingUnknown
	}
	rc := remote{sc: newRemote(tid, sid, s), sampled: s}
	if pid, ok := spanID(h.Get(headerB3Parent)); ok {
		rc.parentID = pid
	}
	return rc, true
}

// extractB3Single reads "b3: {trace}-{span}[-{sampling}[-{parent}]]" or a
// sampling decision alone ("0", "1", "d").
func extractB3Single(v string) (remote, bool) {
	if v == "" {
		return remote{}, false
	}
	parts := strings.Split(v, "-")
	if len(parts) == 1 {
		s := b3Sampling(parts[0])
		return remote{sampled: s}, s != samplingUnknown
	}
	tid, ok1 := traceID(parts[0])
	sid, ok2 := spanID(parts[1])
	if !ok1 || !ok2 || len(parts) > 4 {
		return remote{}, false
	}
	s := samplingUnknown
	if len(parts) > 2 {
		s = b3Sampling(parts[2])
	}
	rc := remote{sc: newRemote(tid, sid, s), sampled: s}
	if len(parts) == 4 {
		if pid, ok := spanID(parts[3]); ok {
			rc.parentID = pid
		}
	}
	return rc, true
}

func b3Sampling(v string) sampling {
	switch strings.ToLower(v) {
	case "1", "true", "d":
		return samplingYes
	case "0", "false":
		return samplingNo
	}
	return samplingUnknown
}

func newRemote(tid trace.TraceID, sid trace.SpanID, s sampling) trace.SpanContext {
	cfg := trace.SpanContextConfig{TraceID: tid, SpanID: sid, Remote: true}
	if s == samplingYes {
		cfg.TraceFlags = trace.FlagsSampled
	}
	return trace.NewSpanContext(cfg)
}

// traceID parses a 64- or 128-bit hex trace id (64-bit ids fill the low
// half).
func traceID(s string) (trace.TraceID, bool) {
	var id trace.TraceID
	if len(s) != 16 && len(s) != 32 {
		return id, false
	}
	b, err := hex.DecodeString(strings.ToLower(s))
	if err != nil {
		return id, false
	}
	copy(id[16-len(b):], b)
	return id, id.IsValid()
}

func spanID(s string) (trace.SpanID, bool) {
	var id trace.SpanID
	if len(s) != 16 {
		return id, false
	}
	b, err := hex.DecodeString(strings.ToLower(s))
	if err != nil {
		return id, false
	}
	copy(id[:], b)
	return id, id.IsValid()
}
