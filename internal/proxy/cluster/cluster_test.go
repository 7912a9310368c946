package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/lb"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/stats"
	"github.com/lateenmesh/lateen/internal/wait"
)

var unlimited = resource.Thresholds{MaxConnections: 1 << 30, MaxPendingRequests: 1 << 30, MaxRequests: 1 << 30, MaxRetries: 1 << 30}

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func build(t *testing.T, m *Manager, rc *resource.Cluster, addrs ...string) *Cluster {
	t.Helper()
	la := &resource.LoadAssignment{ClusterName: rc.Name}
	for _, a := range addrs {
		la.Endpoints = append(la.Endpoints, resource.Endpoint{Address: a, Weight: 1})
	}
	rc.Type, rc.LoadAssignment = resource.ClusterStatic, la
	set, err := m.Build(&resource.Config{Clusters: map[string]*resource.Cluster{rc.Name: rc}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.Commit(set)
	return set.Get(rc.Name)
}

func outlierCluster(od resource.OutlierDetection) *resource.Cluster {
	return &resource.Cluster{Name: "c", LBPolicy: "ROUND_ROBIN", Limits: unlimited, Outlier: &od}
}

func picked(c *Cluster, n int) map[string]int {
	out := map[string]int{}
	for range n {
		ep, ok := c.Pick(&lb.Request{})
		if !ok {
			out["none"]++
			continue
		}
		out[ep.Address]++
	}
	return out
}

var baseOutlier = resource.OutlierDetection{Consecutive5xx: 2, EnforcingConsecutive5xx: 100, ConsecutiveGatewayFailure: 5,
	ConsecutiveLocalOriginFailure: 5, EnforcingConsecutiveLocalOriginFailure: 100, Interval: 10 * time.Second,
	BaseEjectionTime: 30 * time.Second, MaxEjectionTime: 300 * time.Second, MaxEjectionPercent: 100}

func TestOutlierConsecutive5xxEjectionTimeGrowsAndDecays(t *testing.T) {
	clk := &clock{t: time.Unix(1000, 0)}
	store := stats.New()
	m := NewManager(store)
	m.now = clk.now
	c := build(t, m, outlierCluster(baseOutlier), "a:1", "b:1")
	c.ReportResponse("a:1", 500)
	c.ReportResponse("a:1", 200) // a success resets the count
	c.ReportResponse("a:1", 503)
	if c.Ejected("a:1") {
		t.Fatal("ejected after non-consecutive errors")
	}
	c.ReportResponse("a:1", 500)
	if !c.Ejected("a:1") || picked(c, 10)["a:1"] != 0 {
		t.Fatal("not ejected after 2 consecutive 5xx")
	}
	clk.t = clk.t.Add(29 * time.Second)
	if picked(c, 4)["a:1"] != 0 {
		t.Fatal("back before base_ejection_time")
	}
	clk.t = clk.t.Add(time.Second)
	if picked(c, 4)["a:1"] != 2 {
		t.Fatal("not back after base_ejection_time")
	}
	// Second ejection right away: 2 × 30s.
	c.ReportResponse("a:1", 500)
	c.ReportResponse("a:1", 500)
	clk.t = clk.t.Add(59 * time.Second)
	if !c.Ejected("a:1") {
		t.Fatal("second ejection shorter than 2 × base")
	}
	clk.t = clk.t.Add(time.Second)
	picked(c, 1)
	if c.Ejected("a:1") {
		t.Fatal("second ejection longer than 2 × base")
	}
	// Ten healthy intervals later the multiplier has decayed: 30s again.
	clk.t = clk.t.Add(100 * time.Second)
	c.ReportResponse("a:1", 502)
	c.ReportResponse("a:1", 504)
	clk.t = clk.t.Add(30 * time.Second)
	picked(c, 1)
	if c.Ejected("a:1") {
		t.Error("multiplier did not decay")
	}
	for name, want := range map[string]int64{"ejections_enforced_consecutive_5xx": 3, "ejections_active": 0, "ejections_enforced_total": 3} {
		if got, _ := store.Value("cluster.c.outlier_detection." + name); got != want {
			t.Errorf("%s = %d, want %d", name, got, want)
		}
	}
}

func TestOutlierGatewayAndLocalOriginErrors(t *testing.T) {
	od := baseOutlier
	od.Consecutive5xx, od.ConsecutiveGatewayFailure, od.EnforcingConsecutiveGatewayFailure = 10, 2, 100
	m := NewManager(stats.New())
	c := build(t, m, outlierCluster(od), "a:1", "b:1")
	c.ReportResponse("a:1", 502)
	c.ReportResponse("a:1", 500) // not a gateway error: resets that count
	c.ReportLocal("a:1", ConnectFailed)
	if c.Ejected("a:1") {
		t.Fatal("ejected without 2 consecutive gateway errors")
	}
	c.ReportLocal("a:1", Timeout) // connect failure (503) then timeout (504): two gateway errors
	if !c.Ejected("a:1") {
		t.Fatal("local origin failures did not count as gateway errors")
	}

	od = baseOutlier
	od.SplitExternalLocalOriginErrors, od.ConsecutiveLocalOriginFailure = true, 2
	c = build(t, NewManager(stats.New()), outlierCluster(od), "a:1", "b:1")
	c.ReportLocal("a:1", ConnectFailed)
	c.ReportLocal("a:1", ConnectSuccess)
	c.ReportLocal("a:1", ConnectFailed)
	c.ReportResponse("a:1", 500) // external: counted apart
	if c.Ejected("a:1") {
		t.Fatal("ejected without 2 consecutive local origin failures")
	}
	c.ReportLocal("a:1", Timeout)
	if !c.Ejected("a:1") {
		t.Fatal("not ejected after 2 consecutive local origin failures")
	}
}

func TestOutlierLimitsAndPanic(t *testing.T) {
	od := baseOutlier
	od.Consecutive5xx, od.MaxEjectionPercent = 1, 50
	store := stats.New()
	rc := outlierCluster(od)
	rc.HealthyPanicThreshold = 0
	c := build(t, NewManager(store), rc, "a:1", "b:1")
	c.ReportResponse("a:1", 500)
	c.ReportResponse("b:1", 500)
	if !c.Ejected("a:1") || c.Ejected("b:1") {
		t.Fatal("max_ejection_percent 50 of 2 hosts allows exactly one ejection")
	}
	if got, _ := store.Value("cluster.c.outlier_detection.ejections_overflow"); got != 1 {
		t.Errorf("ejections_overflow = %d", got)
	}
	// Every host ejected, no panic threshold: no host at all.
	od.MaxEjectionPercent = 100
	rc = outlierCluster(od)
	rc.HealthyPanicThreshold = 0
	c = build(t, NewManager(stats.New()), rc, "a:1", "b:1")
	c.ReportResponse("a:1", 500)
	c.ReportResponse("b:1", 500)
	if got := picked(c, 3); got["none"] != 3 {
		t.Errorf("all ejected without panic: picks %v, want none", got)
	}
	// With Envoy's default panic threshold, all hosts are used again.
	rc = outlierCluster(od)
	rc.HealthyPanicThreshold = 50
	c = build(t, NewManager(stats.New()), rc, "a:1", "b:1")
	c.ReportResponse("a:1", 500)
	c.ReportResponse("b:1", 500)
	if got := picked(c, 4); got["a:1"] != 2 || got["b:1"] != 2 {
		t.Errorf("all ejected in panic mode: picks %v, want both", got)
	}
}

func TestHostsLeavingDropTheirEjection(t *testing.T) {
	od := baseOutlier
	od.Consecutive5xx = 1
	store := stats.New()
	m := NewManager(store)
	c := build(t, m, outlierCluster(od), "a:1", "b:1")
	c.ReportResponse("a:1", 500)
	c = build(t, m, outlierCluster(od), "b:1")
	if got, _ := store.Value("cluster.c.outlier_detection.ejections_active"); got != 0 || c.Ejected("a:1") {
		t.Errorf("ejection of a removed host kept (ejections_active %d)", got)
	}
}

func server(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func get(t *testing.T, u Upstream, addr string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
	resp, err := u.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

func TestPoolIdleTimeoutAndMaxConnectionDuration(t *testing.T) {
	addr := server(t)
	store := stats.New()
	rc := &resource.Cluster{Name: "c", LBPolicy: "ROUND_ROBIN", Limits: unlimited,
		Pool: resource.PoolSettings{IdleTimeout: 50 * time.Millisecond}}
	c := build(t, NewManager(store), rc, addr)
	get(t, c.Upstream, addr)
	wait.For(t, 10*time.Second, "the idle connection to close", func() error {
		if n, _ := store.Value("cluster.c.upstream_cx_active"); n != 0 {
			return fmt.Errorf("upstream_cx_active = %d", n)
		}
		return nil
	})
	if n, _ := store.Value("cluster.c.upstream_cx_idle_timeout"); n != 1 {
		t.Errorf("upstream_cx_idle_timeout = %d", n)
	}

	store = stats.New()
	rc = &resource.Cluster{Name: "d", LBPolicy: "ROUND_ROBIN", Limits: unlimited,
		Pool: resource.PoolSettings{MaxConnectionDuration: 50 * time.Millisecond}}
	c = build(t, NewManager(store), rc, addr)
	get(t, c.Upstream, addr)
	wait.For(t, 10*time.Second, "the connection to reach its max duration", func() error {
		if n, _ := store.Value("cluster.d.upstream_cx_max_duration_reached"); n != 1 {
			return fmt.Errorf("upstream_cx_max_duration_reached = %d", n)
		}
		return nil
	})
	get(t, c.Upstream, addr)
	if n, _ := store.Value("cluster.d.upstream_cx_total"); n != 2 {
		t.Errorf("upstream_cx_total = %d, want a new connection after the max duration", n)
	}
}

func TestPoolReusesConnectionsAcrossBuildsWithSameSettings(t *testing.T) {
	addr := server(t)
	store := stats.New()
	m := NewManager(store)
	rc := &resource.Cluster{Name: "c", LBPolicy: "ROUND_ROBIN", Limits: unlimited}
	get(t, build(t, m, rc, addr).Upstream, addr)
	rc2 := *rc
	get(t, build(t, m, &rc2, addr).Upstream, addr)
	if n, _ := store.Value("cluster.c.upstream_cx_total"); n != 1 {
		t.Errorf("upstream_cx_total = %d, want the pool (and its connection) reused", n)
	}
}

func TestTCPDialHonoursMaxConnectionsAndReportsOutcomes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := dead.Addr().String()
	dead.Close()
	store := stats.New()
	od := baseOutlier
	od.Consecutive5xx = 2
	rc := outlierCluster(od)
	rc.Limits.MaxConnections = 1
	c := build(t, NewManager(store), rc, ln.Addr().String(), deadAddr)
	conn, err := c.Upstream.Dial(context.Background(), ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Upstream.Dial(context.Background(), ln.Addr().String()); !errors.Is(err, ErrOverflow) {
		t.Errorf("second connection: %v, want overflow", err)
	}
	if n, _ := store.Value("cluster.c.upstream_cx_overflow"); n != 1 {
		t.Errorf("upstream_cx_overflow = %d", n)
	}
	conn.Close()
	for range 2 {
		if _, err := c.Upstream.Dial(context.Background(), deadAddr); err == nil {
			t.Fatal("dial to a closed port succeeded")
		}
	}
	if !c.Ejected(deadAddr) {
		t.Error("two connect failures did not eject the host")
	}
}
