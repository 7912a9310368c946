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
