package tracing

import (
	nethttp "net/http"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

func header(kv ...string) nethttp.Header {
	h := nethttp.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestExtract(t *testing.T) {
	b3 := propagator{b3: true}
	both := propagator{b3: true, w3c: true}
	w3c := propagator{w3c: true}
	for _, tc := range []struct {
		name        string
		p           propagator
		h           nethttp.Header
		trace, span string
		parent      string
		sampled     sampling
		valid       bool
	}{
		{"b3 multi", b3, header("X-B3-Traceid", "463ac35c9f6413ad", "X-B3-Spanid", "a2fb4a1d1a96d312",
			"X-B3-Parentspanid", "0020000000000001", "X-B3-Sampled", "1"),
			"0000000000000000463ac35c9f6413ad", "a2fb4a1d1a96d312", "0020000000000001", samplingYes, true},
		{"b3 multi debug flag", b3, header("X-B3-Traceid", "463ac35c9f6413ad48485a3953bb6124", "X-B3-Spanid", "a2fb4a1d1a96d312",
			"X-B3-Flags", "1"), "463ac35c9f6413ad48485a3953bb6124", "a2fb4a1d1a96d312", "", samplingYes, true},
		{"b3 multi no decision", b3, header("X-B3-Traceid", "463ac35c9f6413ad", "X-B3-Spanid", "a2fb4a1d1a96d312"),
			"0000000000000000463ac35c9f6413ad", "a2fb4a1d1a96d312", "", samplingUnknown, true},
		{"b3 sampled only", b3, header("X-B3-Sampled", "0"), "", "", "", samplingNo, false},
		{"b3 single", b3, header("B3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90"),
			"80f198ee56343ba864fe8b2a57d3eff7", "e457b5a2e4d86bd1", "05e3ac9a4f6e3b90", samplingYes, true},
		{"b3 single wins over multi", b3, header("B3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-d",
			"X-B3-Traceid", "463ac35c9f6413ad", "X-B3-Spanid", "a2fb4a1d1a96d312"),
			"80f198ee56343ba864fe8b2a57d3eff7", "e457b5a2e4d86bd1", "", samplingYes, true},
		{"b3 single deny", b3, header("B3", "0"), "", "", "", samplingNo, false},
		{"w3c", w3c, header("Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
			"0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", "", samplingYes, true},
		{"w3c not sampled", w3c, header("Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"),
			"0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", "", samplingNo, true},
		{"w3c invalid", w3c, header("Traceparent", "00-00000000000000000000000000000000-b7ad6b7169203331-01"),
			"", "", "", samplingUnknown, false},
		{"w3c ignored by b3 only", b3, header("Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
			"", "", "", samplingUnknown, false},
		{"b3 before w3c", both, header("Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
			"X-B3-Traceid", "463ac35c9f6413ad", "X-B3-Spanid", "a2fb4a1d1a96d312", "X-B3-Sampled", "0"),
			"0000000000000000463ac35c9f6413ad", "a2fb4a1d1a96d312", "", samplingNo, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := tc.p.extract(tc.h)
			if rc.sc.IsValid() != tc.valid || rc.sampled != tc.sampled {
				t.Fatalf("valid %v sampled %v, want %v %v", rc.sc.IsValid(), rc.sampled, tc.valid, tc.sampled)
			}
			if !tc.valid {
				return
			}
			if rc.sc.TraceID().String() != tc.trace || rc.sc.SpanID().String() != tc.span {
				t.Errorf("got %s/%s", rc.sc.TraceID(), rc.sc.SpanID())
			}
			if tc.parent != "" && rc.parentID.String() != tc.parent {
				t.Errorf("parent %s, want %s", rc.parentID, tc.parent)
			}
		})
	}
}

func TestInject(t *testing.T) {
	tid, _ := traceID("463ac35c9f6413ad")
	sid, _ := spanID("a2fb4a1d1a96d312")
	pid, _ := spanID("0020000000000001")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled})
	h := header("B3", "stale", "X-B3-Flags", "1")
	propagator{b3: true, w3c: true}.inject(h, sc, pid)
	want := header("X-B3-Traceid", "463ac35c9f6413ad", "X-B3-Spanid", "a2fb4a1d1a96d312", "X-B3-Parentspanid", "0020000000000001",
		"X-B3-Sampled", "1", "Traceparent", "00-0000000000000000463ac35c9f6413ad-a2fb4a1d1a96d312-01")
	for k := range want {
		if h.Get(k) != want.Get(k) {
			t.Errorf("%s = %q, want %q", k, h.Get(k), want.Get(k))
		}
	}
	if h.Get("B3") != "" || h.Get("X-B3-Flags") != "" {
		t.Errorf("stale headers kept: %v", h)
	}
}

func TestSamplingDecision(t *testing.T) {
	const id = "d0c0a7e2-7f2c-4b6c-9a3b-2f0e6e5d4c3b" // first 8 hex: 0xd0c0a7e2 % 10000 = 6818
	all := sampler{client: 100, random: 100, overall: 100}
	none := sampler{client: 100, random: 0, overall: 100}
	for _, tc := range []struct {
		name   string
		s      sampler
		h      nethttp.Header
		want   reason
		wantID string
	}{
		{"random hit", all, header("X-Request-Id", id), reasonSampled, "d0c0a7e2-7f2c-ab6c-9a3b-2f0e6e5d4c3b"},
		{"random miss", none, header("X-Request-Id", id), reasonNone, id},
		{"keyed by request id: 68.19% hits", sampler{random: 68.19, overall: 100}, header("X-Request-Id", id), reasonSampled, ""},
		{"keyed by request id: 68.18% misses", sampler{random: 68.18, overall: 100}, header("X-Request-Id", id), reasonNone, ""},
		{"client trace id", none, header("X-Request-Id", id, "X-Client-Trace-Id", "c"), reasonClient, ""},
		{"force trace", none, header("X-Request-Id", id, "X-Envoy-Force-Trace", "1"), reasonForced, ""},
		{"reason kept", none, header("X-Request-Id", "d0c0a7e2-7f2c-9b6c-9a3b-2f0e6e5d4c3b"), reasonForced, ""},
		{"overall caps", sampler{client: 100, random: 100, overall: 0}, header("X-Request-Id", id), reasonNone, id},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.decide(tc.h); got != tc.want {
				t.Errorf("decision %c, want %c", got, tc.want)
			}
			if tc.wantID != "" && tc.h.Get("X-Request-Id") != tc.wantID {
				t.Errorf("request id %q, want %q", tc.h.Get("X-Request-Id"), tc.wantID)
			}
		})
	}
}
