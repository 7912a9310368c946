// Package stats is the proxy's Envoy-style stats store: named counters and
// gauges backed by atomics. Components resolve their counters once (at build
// time) and increment them lock-free on the hot path.
package stats

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
)

// Counter is a monotonically increasing value.
type Counter struct{ v atomic.Uint64 }

// Inc adds one.
func (c *Counter) Inc() { c.v.Add(1) }

// Add adds n.
func (c *Counter) Add(n uint64) { c.v.Add(n) }

// Value returns the current value.
func (c *Counter) Value() uint64 { return c.v.Load() }

// Gauge is a value that goes up and down.
type Gauge struct{ v atomic.Int64 }

// Inc adds one.
func (g *Gauge) Inc() { g.v.Add(1) }

// Dec subtracts one.
func (g *Gauge) Dec() { g.v.Add(-1) }

// Set sets the value.
func (g *Gauge) Set(v int64) { g.v.Store(v) }

// Value returns the current value.
func (g *Gauge) Value() int64 { return g.v.Load() }

// Store holds every stat by its full name. The zero value is not usable; use
// New.
type Store struct {
	mu       sync.RWMutex
	counters map[string]*Counter
	gauges   map[string]*Gauge
	blocks   map[string]*Block // by prefix
}

// New returns an empty store.
func New() *Store {
	return &Store{counters: map[string]*Counter{}, gauges: map[string]*Gauge{}, blocks: map[string]*Block{}}
}

// Counter returns the counter called name, creating it.
func (s *Store) Counter(name string) *Counter {
	s.mu.RLock()
	c := s.counters[name]
	s.mu.RUnlock()
	if c != nil {
		return c
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c = s.counters[name]; c != nil {
		return c
	}
	if c, _ = s.inBlock(name); c == nil {
		c = &Counter{}
		s.counters[name] = c
	}
	return c
}

// Gauge returns the gauge called name, creating it.
func (s *Store) Gauge(name string) *Gauge {
	s.mu.RLock()
	g := s.gauges[name]
	s.mu.RUnlock()
	if g != nil {
		return g
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if g = s.gauges[name]; g != nil {
		return g
	}
	if _, g = s.inBlock(name); g == nil {
		g = &Gauge{}
		s.gauges[name] = g
	}
	return g
}

// Value returns the value of a counter or gauge and whether it exists.
func (s *Store) Value(name string) (int64, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if c, ok := s.counters[name]; ok {
		return int64(c.Value()), true
	}
	if g, ok := s.gauges[name]; ok {
		return g.Value(), true
	}
	switch c, g := s.inBlock(name); {
	case c != nil:
		return int64(c.Value()), true
	case g != nil:
		return g.Value(), true
	}
	return 0, false
}

// WriteText writes every stat as Envoy's admin text format, "name: value",
// sorted by name.
func (s *Store) WriteText(w io.Writer) error {
	s.mu.RLock()
	lines := make([]string, 0, len(s.counters)+len(s.gauges))
	for n, c := range s.counters {
		lines = append(lines, n+": "+strconv.FormatUint(c.Value(), 10))
	}
	for n, g := range s.gauges {
		lines = append(lines, n+": "+strconv.FormatInt(g.Value(), 10))
	}
	s.eachInBlocks(func(n string, _ bool, v int64) { lines = append(lines, n+": "+strconv.FormatInt(v, 10)) })
	s.mu.RUnlock()
	sort.Strings(lines)
	for _, l := range lines {
		if _, err := fmt.Fprintln(w, l); err != nil {
			return err
		}
	}
	return nil
}

// Codes counts response codes under a prefix: <prefix>_<code>,
// <prefix>_<N>xx. Counters are created on first use and then found without
// locking.
type Codes struct {
	store   *Store
	prefix  string
	classes [6]*Counter
	codes   sync.Map // int → *Counter
}

// Codes returns the response code counters for prefix, e.g.
// "cluster.x.upstream_rq".
func (s *Store) Codes(prefix string) *Codes {
	c := &Codes{store: s, prefix: prefix}
	for i := 1; i < 6; i++ {
		c.classes[i] = s.Counter(fmt.Sprintf("%s_%dxx", prefix, i))
	}
	return c
}

// Record counts one response with code.
func (c *Codes) Record(code int) {
	if code < 100 || code > 599 {
		return
	}
	c.classes[code/100].Inc()
	if v, ok := c.codes.Load(code); ok {
		v.(*Counter).Inc()
		return
	}
	ctr := c.store.Counter(c.prefix + "_" + strconv.Itoa(code))
	c.codes.Store(code, ctr)
	ctr.Inc()
}
