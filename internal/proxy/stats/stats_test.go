package stats

import (
	"strings"
	"sync"
	"testing"
)

func TestTextFormatAndCodes(t *testing.T) {
	s := New()
	s.Gauge("server.live").Set(1)
	codes := s.Codes("cluster.c.upstream_rq")
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				s.Counter("cluster.c.upstream_rq_total").Inc()
				codes.Record(200)
			}
		}()
	}
	wg.Wait()
	codes.Record(503)
	var b strings.Builder
	if err := s.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := `cluster.c.upstream_rq_1xx: 0
cluster.c.upstream_rq_200: 800
cluster.c.upstream_rq_2xx: 800
cluster.c.upstream_rq_3xx: 0
cluster.c.upstream_rq_4xx: 0
cluster.c.upstream_rq_503: 1
cluster.c.upstream_rq_5xx: 1
cluster.c.upstream_rq_total: 800
server.live: 1
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func BenchmarkCounterInc(b *testing.B) {
	c := New().Counter("x")
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Inc()
		}
	})
}

func TestBlock(t *testing.T) {
	s := New()
	early := s.Counter("cluster.a.b.rq_total") // exists before the block: adopted
	l := NewLayout([]string{"rq_total", "rq_1xx", "rq_2xx", "rq_3xx", "rq_4xx", "rq_5xx"}, []string{"active"})
	b := s.Block("cluster.a.b.", l)
	if b.Counter("rq_total") != early {
		t.Error("the block did not adopt the existing counter")
	}
	if s.Block("cluster.a.b.", l) != b {
		t.Error("a second Block call made a new block")
	}
	if s.Counter("cluster.a.b.rq_total") != early || s.Gauge("cluster.a.b.active") != b.Gauge("active") {
		t.Error("Counter/Gauge do not find the block's stats")
	}
	b.Counter("rq_total").Add(3)
	b.Gauge("active").Set(-2)
	s.CodesOf("cluster.a.b.rq", b).Record(201)
	if v, ok := s.Value("cluster.a.b.active"); !ok || v != -2 {
		t.Errorf("Value(active) = %d, %v", v, ok)
	}
	var text strings.Builder
	if err := s.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	want := `cluster.a.b.active: -2
cluster.a.b.rq_1xx: 0
cluster.a.b.rq_201: 1
cluster.a.b.rq_2xx: 1
cluster.a.b.rq_3xx: 0
cluster.a.b.rq_4xx: 0
cluster.a.b.rq_5xx: 0
cluster.a.b.rq_total: 3
`
	if text.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", text.String(), want)
	}
	snap := s.Snapshot()
	if len(snap) != 8 || snap[0].Name != "cluster.a.b.active" || !snap[0].Gauge || snap[0].Value != -2 {
		t.Errorf("Snapshot = %+v", snap)
	}
}
