package translate

import (
	"fmt"
	"testing"

	"github.com/lateenmesh/lateen/internal/config"
	"github.com/lateenmesh/lateen/internal/mesh"
)

// BenchmarkCachedTranslateSameClass translates the sidecars of one class
// (namespace ns0) of the 1,000-service mesh with a warm cache: the outbound
// part is shared, only each proxy's own listeners are built.
func BenchmarkCachedTranslateSameClass(b *testing.B) {
	snap := benchSnapshot(b, 1000)
	c := NewCache()
	c.Translate(snap.ViewFor(benchProxy()))
	i := 0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		i++
		p := benchProxy()
		p.ID = fmt.Sprintf("sidecar~10.0.%d.%d~sleep.ns0~ns0.svc.cluster.local", i/250, i%250)
		p.IPs = []string{fmt.Sprintf("10.0.%d.%d", i/250, i%250)}
		c.Translate(snap.ViewFor(p))
	}
}

// BenchmarkCachedTranslateNewSnapshot translates one sidecar's view after
// every snapshot rebuild (the same content: as after a change elsewhere):
// class parts are rebuilt from memoized pieces.
func BenchmarkCachedTranslateNewSnapshot(b *testing.B) {
	snap := benchSnapshot(b, 1000)
	c := NewCache()
	c.Translate(snap.ViewFor(benchProxy()))
	objs := snap.Config.All()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s := mesh.Build(config.NewSet(2, objs, nil), mesh.Options{})
		c.NextGeneration(2)
		c.Translate(s.ViewFor(benchProxy()))
	}
}

// BenchmarkBuild1000Services builds the snapshot itself, for comparison.
func BenchmarkBuild1000Services(b *testing.B) {
	objs := benchSnapshot(b, 1000).Config.All()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		mesh.Build(config.NewSet(2, objs, nil), mesh.Options{})
	}
}
