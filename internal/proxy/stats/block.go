package stats

import (
	"strconv"
	"strings"
)

// Layout names the stats of a Block: counters and gauges, each a suffix
// of the block's prefix. One Layout serves every block of its kind (every
// cluster's), so a block costs its values and a pointer per stat, not a
// name and a map entry per stat: a proxy with thousands of clusters keeps
// its stats small.
type Layout struct {
	counters, gauges []string
	index            map[string]int // suffix → counter index, or gauge index + len(counters)
}

// NewLayout returns the layout of blocks with these counter and gauge
// suffixes (e.g. "upstream_rq_total").
func NewLayout(counters, gauges []string) *Layout {
	l := &Layout{counters: counters, gauges: gauges, index: make(map[string]int, len(counters)+len(gauges))}
	for i, n := range counters {
		l.index[n] = i
	}
	for i, n := range gauges {
		l.index[n] = len(counters) + i
	}
	return l
}

// Block is a group of stats named prefix + suffix, allocated together.
type Block struct {
	prefix   string
	layout   *Layout
	counters []*Counter
	gauges   []*Gauge
}

// Block returns the block of stats under prefix (e.g. "cluster.x."),
// creating it. A name of the layout that already exists as a single stat
// keeps it. Blocks are found again by prefix; a block keeps its first
// layout.
func (s *Store) Block(prefix string, l *Layout) *Block {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.blocks[prefix]; b != nil {
		return b
	}
	b := &Block{prefix: prefix, layout: l, counters: make([]*Counter, len(l.counters)), gauges: make([]*Gauge, len(l.gauges))}
	cs, gs := make([]Counter, len(l.counters)), make([]Gauge, len(l.gauges))
	for i, n := range l.counters {
		if b.counters[i] = s.counters[prefix+n]; b.counters[i] == nil {
			b.counters[i] = &cs[i]
		}
	}
	for i, n := range l.gauges {
		if b.gauges[i] = s.gauges[prefix+n]; b.gauges[i] == nil {
			b.gauges[i] = &gs[i]
		}
	}
	for _, n := range l.counters {
		delete(s.counters, prefix+n)
	}
	for _, n := range l.gauges {
		delete(s.gauges, prefix+n)
	}
	s.blocks[prefix] = b
	return b
}

// Counter returns the block's counter called suffix (which its layout
// must have).
func (b *Block) Counter(suffix string) *Counter { return b.counters[b.layout.index[suffix]] }

// Gauge returns the block's gauge called suffix (which its layout must
// have).
func (b *Block) Gauge(suffix string) *Gauge {
	return b.gauges[b.layout.index[suffix]-len(b.layout.counters)]
}

// inBlock finds the stat called name in a block: a counter, or a gauge.
// s.mu is held.
func (s *Store) inBlock(name string) (*Counter, *Gauge) {
	if len(s.blocks) == 0 {
		return nil, nil
	}
	for i := strings.IndexByte(name, '.'); i >= 0; {
		if b := s.blocks[name[:i+1]]; b != nil {
			if j, ok := b.layout.index[name[i+1:]]; ok {
				if j < len(b.counters) {
					return b.counters[j], nil
				}
				return nil, b.gauges[j-len(b.counters)]
			}
		}
		next := strings.IndexByte(name[i+1:], '.')
		if next < 0 {
			break
		}
		i += next + 1
	}
	return nil, nil
}

// each calls fn for every stat of the blocks. s.mu is held.
func (s *Store) eachInBlocks(fn func(name string, gauge bool, v int64)) {
	for _, b := range s.blocks {
		for i, n := range b.layout.counters {
			fn(b.prefix+n, false, int64(b.counters[i].Value()))
		}
		for i, n := range b.layout.gauges {
			fn(b.prefix+n, true, b.gauges[i].Value())
		}
	}
}

// CodesOf returns response code counters under prefix whose class
// counters (<prefix>_1xx … _5xx) are in block b: per-code counters are
// made on first use.
func (s *Store) CodesOf(prefix string, b *Block) *Codes {
	c := &Codes{store: s, prefix: prefix}
	suffix := strings.TrimPrefix(prefix, b.prefix)
	for i := 1; i < 6; i++ {
		c.classes[i] = b.Counter(suffix + "_" + strconv.Itoa(i) + "xx")
	}
	return c
}
