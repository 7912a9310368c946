package stats

import "sort"

// Stat is one stat's value at a point in time.
type Stat struct {
	Name  string
	Gauge bool
	Value float64
}

// Snapshot returns every stat, sorted by name (for exporters such as the
// Prometheus endpoint).
func (s *Store) Snapshot() []Stat {
	s.mu.RLock()
	out := make([]Stat, 0, len(s.counters)+len(s.gauges))
	for n, c := range s.counters {
		out = append(out, Stat{Name: n, Value: float64(c.Value())})
	}
	for n, g := range s.gauges {
		out = append(out, Stat{Name: n, Gauge: true, Value: float64(g.Value())})
	}
	s.eachInBlocks(func(n string, gauge bool, v int64) {
		out = append(out, Stat{Name: n, Gauge: gauge, Value: float64(v)})
	})
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
