package lb

import (
	"fmt"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

func host(addr string, weight uint32, health resource.HealthStatus, prio uint32) *Host {
	return &Host{Endpoint: resource.Endpoint{Address: addr, Weight: weight, Health: health, Priority: prio}}
}

func mustNew(t testing.TB, hosts []*Host, opts Options) Picker {
	t.Helper()
	p, err := New(hosts, opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func picks(t testing.TB, p Picker, n int, req func(i int) *Request) map[string]int {
	t.Helper()
	out := map[string]int{}
	for i := range n {
		var r *Request
		if req != nil {
			r = req(i)
		}
		e, ok := p.Pick(r)
		if !ok {
			t.Fatal("no endpoint")
		}
		out[e.Address]++
	}
	return out
}

// near checks a share against its expected value with an absolute
// tolerance (statistical tests use bounded counts and loose bounds).
func near(t *testing.T, what string, got, total int, want, tol float64) {
	t.Helper()
	if share := float64(got) / float64(total); math.Abs(share-want) > tol {
		t.Errorf("%s: share %.3f, want %.3f ± %.3f", what, share, want, tol)
	}
}

func TestRoundRobinWeightsExactly(t *testing.T) {
	p := mustNew(t, []*Host{host("a", 1, 0, 0), host("b", 2, 0, 0), host("c", 5, 0, 0)}, Options{Policy: "ROUND_ROBIN", PanicThreshold: 50})
	if diff := cmp.Diff(map[string]int{"a": 2, "b": 4, "c": 10}, picks(t, p, 16, nil)); diff != "" {
		t.Errorf("picks (-want +got):\n%s", diff)
	}
}

func TestPriorityLoadsAndPanic(t *testing.T) {
	h, u := resource.HealthHealthy, resource.HealthUnhealthy
	tests := []struct {
		name      string
		hosts     []*Host
		threshold float64
		want      map[string]float64 // expected shares
	}{
		{"all healthy: lowest priority only", []*Host{host("a", 1, h, 0), host("b", 1, h, 0), host("c", 1, h, 1)}, 50,
			map[string]float64{"a": .5, "b": .5}},
		{"overprovisioned: 3 of 4 healthy keeps all load", []*Host{host("a", 1, h, 0), host("b", 1, h, 0), host("c", 1, h, 0),
			host("d", 1, u, 0), host("e", 1, h, 1)}, 50, map[string]float64{"a": 1. / 3, "b": 1. / 3, "c": 1. / 3}},
		{"half healthy: 70% stays, 30% spills", []*Host{host("a", 1, h, 0), host("b", 1, u, 0), host("c", 1, h, 1)}, 50,
			map[string]float64{"a": .7, "c": .3}},
		{"panic within a level", []*Host{host("a", 1, h, 0), host("b", 1, u, 0), host("c", 1, u, 0)}, 50,
			map[string]float64{"a": 1. / 3, "b": 1. / 3, "c": 1. / 3}},
		{"no panic with threshold 0", []*Host{host("a", 1, h, 0), host("b", 1, u, 0), host("c", 1, u, 0)}, 0,
			map[string]float64{"a": 1}},
		{"total panic follows host counts", []*Host{host("a", 1, u, 0), host("b", 1, u, 1), host("c", 1, u, 1), host("d", 1, u, 1)}, 50,
			map[string]float64{"a": .25, "b": .25, "c": .25, "d": .25}},
	}
	const n = 4000
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := picks(t, mustNew(t, tt.hosts, Options{Policy: "RANDOM", PanicThreshold: tt.threshold}), n, nil)
			for addr := range got {
				if _, ok := tt.want[addr]; !ok {
					t.Errorf("unexpected host %s picked %d times", addr, got[addr])
				}
			}
			for addr, share := range tt.want {
				near(t, addr, got[addr], n, share, 0.05)
			}
		})
	}
}

func TestNoHealthyHostWithoutPanicIsEmpty(t *testing.T) {
	p := mustNew(t, []*Host{host("a", 1, resource.HealthUnhealthy, 0)}, Options{Policy: "ROUND_ROBIN"})
	if _, ok := p.Pick(nil); ok {
		t.Error("picked a host although none is healthy and panic is disabled")
	}
	if _, ok := mustNew(t, nil, Options{Policy: "ROUND_ROBIN"}).Pick(nil); ok {
		t.Error("empty picker returned an endpoint")
	}
	if _, err := New(nil, Options{Policy: "LOAD_BALANCING_POLICY_CONFIG"}); err == nil || Supported("CLUSTER_PROVIDED") {
		t.Error("unknown policies must be refused")
	}
}

func TestLocalityWeights(t *testing.T) {
	hosts := []*Host{host("a", 1, 0, 0), host("b", 1, 0, 0), host("c", 1, 0, 0)}
	hosts[0].Locality, hosts[0].LocalityWeight = "r/z1/", 1
	hosts[1].Locality, hosts[1].LocalityWeight = "r/z2/", 3
	hosts[2].Locality, hosts[2].LocalityWeight = "r/z2/", 3
	const n = 4000
	got := picks(t, mustNew(t, hosts, Options{Policy: "ROUND_ROBIN", Config: resource.LBConfig{LocalityWeighted: true}}), n, nil)
	near(t, "z1", got["a"], n, .25, 0.04)
	near(t, "z2", got["b"]+got["c"], n, .75, 0.04)
	// Without locality weighting, hosts count alone.
	got = picks(t, mustNew(t, hosts, Options{Policy: "ROUND_ROBIN"}), 3000, nil)
	near(t, "a alone", got["a"], 3000, 1./3, 0.01)
}

func TestLeastRequestPrefersIdleHosts(t *testing.T) {
	busy, idle := host("busy", 1, 0, 0), host("idle", 1, 0, 0)
	busy.Active, idle.Active = new(atomic.Int64), new(atomic.Int64)
	busy.Active.Store(10)
	const n = 2000
	got := picks(t, mustNew(t, []*Host{busy, idle}, Options{Policy: "LEAST_REQUEST"}), n, nil)
	// Power of two choices: "busy" wins only when both samples are "busy".
	near(t, "busy", got["busy"], n, .25, 0.05)
	// Unequal weights: weight / (active + 1).
	busy.Weight, idle.Weight = 4, 1
	got = picks(t, mustNew(t, []*Host{busy, idle}, Options{Policy: "LEAST_REQUEST"}), n, nil)
	near(t, "busy weighted", got["busy"], n, (4./11)/(4./11+1), 0.05)
}

func TestHashPoliciesAreStickyAndSpread(t *testing.T) {
	var hosts []*Host
	for i := range 4 {
		hosts = append(hosts, host(fmt.Sprintf("10.0.0.%d:80", i), 1, 0, 0))
	}
	for _, policy := range []string{"RING_HASH", "MAGLEV"} {
		t.Run(policy, func(t *testing.T) {
			p := mustNew(t, hosts, Options{Policy: policy})
			const keys = 4000
			got := picks(t, p, keys, func(i int) *Request { return &Request{Hash: HashString(fmt.Sprint("user-", i)), HasHash: true} })
			for _, h := range hosts {
				near(t, h.Address, got[h.Address], keys, .25, 0.06)
			}
			for i := range 50 {
				req := &Request{Hash: HashString(fmt.Sprint("user-", i)), HasHash: true}
				first, _ := p.Pick(req)
				again, _ := mustNew(t, hosts, Options{Policy: policy}).Pick(req)
				if first.Address != again.Address {
					t.Fatalf("hash %d: %s then %s on a rebuilt picker", i, first.Address, again.Address)
				}
			}
			// Without a hash, hosts are picked at random.
			if got := picks(t, p, 400, nil); len(got) < 3 {
				t.Errorf("no-hash picks hit only %v", got)
			}
		})
	}
}

func TestHashWeightsAndSizes(t *testing.T) {
	hosts := []*Host{host("a:1", 1, 0, 0), host("b:1", 3, 0, 0)}
	r := newRingHash(hosts, &Options{Config: resource.LBConfig{RingMinSize: 100}}).(*ringHash)
	counts := map[string]int{}
	for _, e := range r.ring {
		counts[e.ep.Address]++
	}
	// min_ring_size is the whole ring's: a quarter of 100 for the lighter host.
	if diff := cmp.Diff(map[string]int{"a:1": 25, "b:1": 75}, counts); diff != "" {
		t.Errorf("ring entries (-want +got):\n%s", diff)
	}
	m := newMaglev(hosts, &Options{Config: resource.LBConfig{MaglevTableSize: 101}}).(*maglev)
	counts = map[string]int{}
	for _, e := range m.table {
		counts[e.Address]++
	}
	if len(m.table) != 101 || counts["a:1"] < 20 || counts["a:1"] > 30 {
		t.Errorf("maglev table of %d: %v, want ~25/76", len(m.table), counts)
	}
}

func TestSlowStartRampsUpNewHosts(t *testing.T) {
	now := time.Unix(1000, 0)
	old, fresh := host("old", 1, 0, 0), host("new", 1, 0, 0)
	old.Since, fresh.Since = now.Add(-time.Hour), now
	window := 10 * time.Second
	opts := Options{Policy: "ROUND_ROBIN", Config: resource.LBConfig{SlowStart: &resource.SlowStart{Window: window}},
		Now: func() time.Time { return now }}
	p := mustNew(t, []*Host{old, fresh}, opts)
	const n = 4000
	share := func() float64 { return float64(picks(t, p, n, nil)["new"]) / n }
	// At 0s: max(10%, 1s/10s) = 0.1 of its weight.
	if s := share(); math.Abs(s-0.1/1.1) > 0.03 {
		t.Errorf("share at 0s = %.3f, want %.3f", s, 0.1/1.1)
	}
	now = now.Add(5 * time.Second)
	if s := share(); math.Abs(s-0.5/1.5) > 0.03 {
		t.Errorf("share at 5s = %.3f, want %.3f", s, 0.5/1.5)
	}
	now = now.Add(5 * time.Second)
	if s := share(); s != 0.5 {
		t.Errorf("share after the window = %.3f, want exactly 0.5 (round robin again)", s)
	}
	aggression, minPct := 2.0, 30.0
	cfg := resource.SlowStart{Window: window, Aggression: &aggression, MinWeightPercent: &minPct}
	if f := SlowStartFactor(cfg, 4*time.Second); math.Abs(f-math.Sqrt(0.4)) > 1e-9 {
		t.Errorf("factor at 4s with aggression 2 = %f", f)
	}
	cfg.Window = 100 * time.Second
	if f := SlowStartFactor(cfg, 0); f != 0.3 {
		t.Errorf("factor at 0s with a 30%% minimum = %f", f)
	}
}

func TestExcludeAvoidsTriedHosts(t *testing.T) {
	p := mustNew(t, []*Host{host("a", 1, 0, 0), host("b", 1, 0, 0)}, Options{Policy: "LEAST_REQUEST"})
	// Each pick re-picks at most maxExcludeTries times, so with two equally
	// loaded hosts an excluded one still wins ~1/32 of the picks (~1.6 of
	// 50); without exclusion it would win half of them.
	if got := picks(t, p, 50, func(int) *Request { return &Request{Exclude: []string{"a"}} }); got["a"] > 10 {
		t.Errorf("excluded host picked %d times of 50", got["a"])
	}
}

func BenchmarkPick(b *testing.B) {
	var hosts []*Host
	for i := range 16 {
		h := host(fmt.Sprintf("10.0.0.%d:8080", i), uint32(1+i%3), 0, 0)
		h.Active = new(atomic.Int64)
		hosts = append(hosts, h)
	}
	for _, policy := range []string{"ROUND_ROBIN", "LEAST_REQUEST", "RANDOM", "RING_HASH", "MAGLEV"} {
		b.Run(policy, func(b *testing.B) {
			p := mustNew(b, hosts, Options{Policy: policy, PanicThreshold: 50})
			req := &Request{Hash: 12345, HasHash: true}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				req.Hash = uint64(i) * 0x9e3779b97f4a7c15
				if _, ok := p.Pick(req); !ok {
					b.Fatal("no host")
				}
			}
		})
	}
}
