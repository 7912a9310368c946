// Package load generates HTTP/1.1 and gRPC load over a fixed number of
// connections, either at a fixed rate with coordinated omission corrected
// (latency is measured from when a request was due, not from when a
// delayed connection got round to sending it, as wrk2 does) or as fast as
// the connections go (saturation).
package load

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Conn does one request at a time. A Conn whose Do failed is closed and a
// fresh one dialled for the next request.
type Conn interface {
	Do(ctx context.Context) error
	Close() error
}

// Dial opens one connection.
type Dial func(ctx context.Context) (Conn, error)

// Options shape a run.
type Options struct {
	// Conns is the number of connections, each with one request in flight.
	Conns int
	// Rate is requests per second over all connections; 0 runs at maximum
	// throughput.
	Rate float64
	// Warmup runs before the measured window, unrecorded.
	Warmup time.Duration
	// Duration of the measured window.
	Duration time.Duration
}

// Result is what the measured window saw.
type Result struct {
	// Requests completed successfully in the window.
	Requests int
	// Errors are failed requests in the window.
	Errors int
	// Window is the measured duration.
	Window time.Duration
	// Latency: at a fixed rate, from when each request was due to its
	// completion (coordinated omission corrected); at maximum throughput,
	// from send to completion.
	Latency Samples
	// Service is always from send to completion.
	Service Samples
}

// Merge appends another window's results.
func (r *Result) Merge(o Result) {
	r.Requests += o.Requests
	r.Errors += o.Errors
	r.Window += o.Window
	r.Latency = append(r.Latency, o.Latency...)
	r.Service = append(r.Service, o.Service...)
}

// RPS is the completed request rate over the window.
func (r Result) RPS() float64 {
	if r.Window <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Window.Seconds()
}

// maxErrorRatio aborts a run whose connections mostly fail.
const maxErrorRatio = 0.5

// Run drives the load and returns the measured window's results. It fails
// when no request succeeded or more than half failed.
func Run(ctx context.Context, dial Dial, o Options) (Result, error) {
	if o.Conns <= 0 || o.Duration <= 0 {
		return Result{}, errors.New("load: Conns and Duration must be positive")
	}
	start := time.Now().Add(5 * time.Millisecond)
	w := window{from: start.Add(o.Warmup), to: start.Add(o.Warmup + o.Duration)}
	results := make([]Result, o.Conns)
	var wg sync.WaitGroup
	for c := range o.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			(&worker{dial: dial, w: w, res: &results[c]}).run(ctx, o, start, c)
		}()
	}
	wg.Wait()
	total := Result{Window: o.Duration}
	for _, r := range results {
		total.Requests += r.Requests
		total.Errors += r.Errors
		total.Latency = append(total.Latency, r.Latency...)
		total.Service = append(total.Service, r.Service...)
	}
	if err := ctx.Err(); err != nil {
		return total, err
	}
	if total.Requests == 0 || float64(total.Errors) > maxErrorRatio*float64(total.Requests+total.Errors) {
		return total, fmt.Errorf("load: %d requests succeeded, %d failed", total.Requests, total.Errors)
	}
	return total, nil
}

// window is the measured interval: requests due (fixed rate) or sent
// (saturation) inside it are recorded.
type window struct{ from, to time.Time }

func (w window) has(t time.Time) bool { return !t.Before(w.from) && t.Before(w.to) }

type worker struct {
	dial Dial
	w    window
	res  *Result
	conn Conn
}

func (wk *worker) run(ctx context.Context, o Options, start time.Time, index int) {
	defer func() {
		if wk.conn != nil {
			_ = wk.conn.Close()
		}
	}()
	var interval time.Duration
	if o.Rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(o.Conns) / o.Rate)
	}
	due := start.Add(time.Duration(float64(time.Second) * float64(index) / max(o.Rate, 1)))
	if o.Rate <= 0 {
		due = start
	}
	for ctx.Err() == nil {
		if !due.Before(wk.w.to) {
			return
		}
		if wait := time.Until(due); wait > 0 {
			sleep(ctx, wait)
		}
		sent := time.Now()
		if o.Rate <= 0 {
			due = sent
			if !sent.Before(wk.w.to) {
				return
			}
		}
		err := wk.do(ctx)
		done := time.Now()
		if wk.w.has(due) {
			wk.record(err, done.Sub(due), done.Sub(sent))
		}
		due = due.Add(interval)
	}
}

func (wk *worker) do(ctx context.Context) error {
	if wk.conn == nil {
		c, err := wk.dial(ctx)
		if err != nil {
			return err
		}
		wk.conn = c
	}
	err := wk.conn.Do(ctx)
	if err != nil {
		_ = wk.conn.Close()
		wk.conn = nil
	}
	if errors.Is(err, errConnClosed) {
		return nil // the response was good; the next request dials again
	}
	return err
}

func (wk *worker) record(err error, latency, service time.Duration) {
	if err != nil {
		wk.res.Errors++
		return
	}
	wk.res.Requests++
	wk.res.Latency = append(wk.res.Latency, latency)
	wk.res.Service = append(wk.res.Service, service)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
