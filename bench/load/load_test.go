package load

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lateenmesh/lateen/bench/upstream"
	"github.com/lateenmesh/lateen/internal/wait"
)

func startUpstream(t *testing.T) (httpAddr, grpcAddr string) {
	t.Helper()
	s, err := upstream.New(upstream.Options{HTTPAddress: "127.0.0.1:0", GRPCAddress: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	wait.For(t, 10*time.Second, "upstream listening", func() error {
		if s.Addr("http") == "" || s.Addr("grpc") == "" {
			return errors.New("not listening yet")
		}
		return nil
	})
	return s.Addr("http"), s.Addr("grpc")
}

func TestFixedRateAndSaturationHTTP(t *testing.T) {
	addr, _ := startUpstream(t)
	target := HTTPTarget{Addr: addr, URL: "/", Host: "upstream", BodySize: upstream.PayloadSize}
	ctx := context.Background()
	if err := target.Once(ctx); err != nil {
		t.Fatal(err)
	}
	fixed, err := Run(ctx, target.Dial(), Options{Conns: 4, Rate: 200, Warmup: 50 * time.Millisecond, Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// 200 rps over 300 ms is due 60 requests; the schedule decides the count.
	if fixed.Requests != 60 || fixed.Errors != 0 || len(fixed.Latency) != 60 {
		t.Fatalf("fixed rate: %d requests, %d errors, %d samples; want 60, 0, 60", fixed.Requests, fixed.Errors, len(fixed.Latency))
	}
	sat, err := Run(ctx, target.Dial(), Options{Conns: 4, Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if sat.Requests == 0 || sat.Errors != 0 || sat.RPS() <= 0 {
		t.Fatalf("saturation: %d requests, %d errors", sat.Requests, sat.Errors)
	}
}

func TestGRPC(t *testing.T) {
	_, addr := startUpstream(t)
	c, err := NewGRPCClient(GRPCTarget{Addr: addr, Authority: "upstream:9090", BodySize: upstream.PayloadSize})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	res, err := Run(context.Background(), c.Dial(), Options{Conns: 4, Rate: 100, Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 20 || res.Errors != 0 {
		t.Fatalf("grpc: %d requests, %d errors; want 20, 0", res.Requests, res.Errors)
	}
}

// A server that stalls once holds up the one connection's schedule: the
// requests due meanwhile are sent late, and their corrected latency counts
// the wait while their service time does not.
func TestCoordinatedOmissionCorrected(t *testing.T) {
	var calls atomic.Int32
	stall := 200 * time.Millisecond
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) == 3 {
			<-time.After(stall) // a slow response, not a wait for a condition
		}
		_, _ = w.Write([]byte("ok"))
	})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	target := HTTPTarget{Addr: l.Addr().String(), URL: "/", Host: "x"}
	res, err := Run(context.Background(), target.Dial(), Options{Conns: 1, Rate: 100, Duration: 600 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	slow := func(s Samples) (n int) {
		for _, d := range s {
			if d >= stall/2 {
				n++
			}
		}
		return n
	}
	// Loose bounds: a busy machine may add a slow request of its own.
	service, corrected := slow(res.Service), slow(res.Latency)
	if service < 1 || corrected < service+5 {
		t.Errorf("requests >= %s: %d by service time, %d corrected; want 1 and ~10 more corrected", stall/2, service, corrected)
	}
}

func TestPercentile(t *testing.T) {
	var s Samples
	for i := 1; i <= 1000; i++ {
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	sum := s.Summarize()
	want := Summary{Count: 1000, Mean: 500.5, P50: 500, P90: 900, P99: 990, P999: 999, Max: 1000}
	if sum != want {
		t.Fatalf("summary %+v, want %+v", sum, want)
	}
	if (Samples{}).Summarize().Count != 0 {
		t.Fatal("empty samples")
	}
}
