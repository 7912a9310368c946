package proxy_test

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	faultcommonv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/common/fault/v3"
	faultv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/fault/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
)

func delayFault(d time.Duration, pct uint32) *faultcommonv3.FaultDelay {
	return &faultcommonv3.FaultDelay{FaultDelaySecifier: &faultcommonv3.FaultDelay_FixedDelay{FixedDelay: dur(d)}, Percentage: percent(pct)}
}

func httpAbort(code uint32, pct *typev3.FractionalPercent) *faultv3.FaultAbort {
	return &faultv3.FaultAbort{ErrorType: &faultv3.FaultAbort_HttpStatus{HttpStatus: code}, Percentage: pct}
}

func TestFaultInjection(t *testing.T) {
	e := startProxy(t)
	var hits atomic.Int64
	backend := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte("upstream"))
	}))
	grpcAbort := &faultv3.FaultAbort{ErrorType: &faultv3.FaultAbort_GrpcStatus{GrpcStatus: 14}, Percentage: percent(100)}
	addr := applySetup(t, e, "v1", routeSetup{clusters: map[string][]string{"c": {backend}}, routes: []*routev3.Route{
		perFilter(forwardRoute("/abort", "c", nil), faultFilter, &faultv3.HTTPFault{Abort: httpAbort(500, percent(100))}),
		perFilter(forwardRoute("/delay", "c", nil), faultFilter, &faultv3.HTTPFault{Delay: delayFault(300*time.Millisecond, 100)}),
		perFilter(forwardRoute("/both", "c", nil), faultFilter, &faultv3.HTTPFault{Delay: delayFault(100*time.Millisecond, 100),
			Abort: httpAbort(503, percent(100))}),
		perFilter(forwardRoute("/grpc", "c", nil), faultFilter, &faultv3.HTTPFault{Abort: grpcAbort}),
		perFilter(forwardRoute("/half", "c", nil), faultFilter, &faultv3.HTTPFault{Abort: httpAbort(500,
			&typev3.FractionalPercent{Numerator: 500000, Denominator: typev3.FractionalPercent_MILLION})}),
		perFilter(forwardRoute("/never", "c", nil), faultFilter, &faultv3.HTTPFault{Delay: delayFault(time.Hour, 0),
			Abort: httpAbort(500, nil)}),
		forwardRoute("/", "c", nil),
	}})
	c := client()

	t.Run("abort", func(t *testing.T) {
		before := hits.Load()
		r := get(t, c, addr, "h", "/abort")
		if r.code != 500 || r.body != "fault filter abort" || r.header.Get("Content-Type") != "text/plain" {
			t.Errorf("got %d %q %v", r.code, r.body, r.header)
		}
		if hits.Load() != before {
			t.Error("an aborted request reached the upstream")
		}
	})
	t.Run("delay", func(t *testing.T) {
		start := time.Now()
		r := get(t, c, addr, "h", "/delay")
		if r.code != 200 || r.body != "upstream" {
			t.Errorf("got %d %q", r.code, r.body)
		}
		if took := time.Since(start); took < 300*time.Millisecond {
			t.Errorf("answered after %s, want at least the 300ms delay", took)
		}
	})
	t.Run("delay then abort", func(t *testing.T) {
		start := time.Now()
		if r := get(t, c, addr, "h", "/both"); r.code != 503 || r.body != "fault filter abort" {
			t.Errorf("got %d %q", r.code, r.body)
		}
		if took := time.Since(start); took < 100*time.Millisecond {
			t.Errorf("answered after %s, want the delay first", took)
		}
	})
	t.Run("grpc abort", func(t *testing.T) {
		r := do(t, h2cClient(), grpcRequest(t, addr, "/grpc/pkg.Svc/Method"))
		if r.code != 200 || r.header.Get("Grpc-Status") != "14" || r.header.Get("Grpc-Message") != "fault filter abort" ||
			r.header.Get("Content-Type") != "application/grpc" || r.body != "" {
			t.Errorf("got %d %v %q", r.code, r.header, r.body)
		}
		// The same abort on a plain HTTP request is a 503.
		if r := get(t, c, addr, "h", "/grpc"); r.code != 503 || r.body != "fault filter abort" {
			t.Errorf("plain request: got %d %q", r.code, r.body)
		}
		// An HTTP status abort on a gRPC request maps to a gRPC status.
		if r := do(t, h2cClient(), grpcRequest(t, addr, "/abort")); r.code != 200 || r.header.Get("Grpc-Status") != "2" {
			t.Errorf("gRPC request, HTTP abort: got %d grpc-status %q", r.code, r.header.Get("Grpc-Status"))
		}
	})
	t.Run("percentage", func(t *testing.T) {
		const n = 200
		aborted := 0
		for range n {
			if get(t, c, addr, "h", "/half").code == 500 {
				aborted++
			}
		}
		if aborted < 60 || aborted > 140 {
			t.Errorf("%d of %d requests aborted at 50%%", aborted, n)
		}
	})
	t.Run("zero percent", func(t *testing.T) {
		for range 20 {
			if r := get(t, c, addr, "h", "/never"); r.code != 200 {
				t.Fatalf("got %d: a 0%% fault was injected", r.code)
			}
		}
	})
	t.Run("no fault config", func(t *testing.T) {
		if r := get(t, c, addr, "h", "/other"); r.code != 200 || r.body != "upstream" {
			t.Errorf("got %d %q", r.code, r.body)
		}
	})
	if got := e.stat("http.l.fault.delays_injected"); got != 2 {
		t.Errorf("delays_injected = %d, want 2", got)
	}
	if got := e.stat("http.l.fault.aborts_injected"); got < 5 {
		t.Errorf("aborts_injected = %d", got)
	}
	if v, _ := e.p.Stats().Value("http.l.fault.active_faults"); v != 0 {
		t.Errorf("active_faults = %d after every request ended", v)
	}
}
