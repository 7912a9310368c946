package lb

import (
	"cmp"
	"math"
	"slices"
	"strconv"

	"github.com/cespare/xxhash/v2"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// Envoy's consistent hash defaults.
const (
	defaultRingMinSize     = 1024
	defaultRingMaxSize     = 8 * 1024 * 1024
	defaultMaglevTableSize = 65537
)

// HashString is the hash Envoy uses for hash policy inputs and ring
// entries: xxHash64 with seed 0.
func HashString(s string) uint64 { return xxhash.Sum64String(s) }

func requestHash(req *Request) uint64 {
	if req != nil && req.HasHash {
		return req.Hash
	}
	return randN(math.MaxUint64)
}

// ringHash is Envoy's ketama-style ring: each host gets hashes of
// "address_i" in proportion to its weight, the least weighted host at least
// ceil(min_ring_size × its share); a request goes to the first entry at or
// after its hash.
type ringHash struct {
	ring []ringEntry
}

type ringEntry struct {
	hash uint64
	ep   *resource.Endpoint
}

func newRingHash(hosts []*Host, opts *Options) Picker {
	minSize, maxSize := uint64(defaultRingMinSize), uint64(defaultRingMaxSize)
	if opts.Config.RingMinSize > 0 {
		minSize = opts.Config.RingMinSize
	}
	if opts.Config.RingMaxSize > 0 {
		maxSize = opts.Config.RingMaxSize
	}
	total, minWeight := 0.0, math.Inf(1)
	for _, h := range hosts {
		total += baseWeight(h)
		minWeight = min(minWeight, baseWeight(h))
	}
	minNorm := minWeight / total
	scale := min(math.Ceil(minNorm*float64(minSize))/minNorm, float64(maxSize))
	r := &ringHash{ring: make([]ringEntry, 0, int(math.Ceil(scale)))}
	current, target := 0.0, 0.0
	for _, h := range hosts {
		target += scale * baseWeight(h) / total
		key := h.Address + "_"
		for i := 0; current < target; i++ {
			r.ring = append(r.ring, ringEntry{hash: HashString(key + strconv.Itoa(i)), ep: &h.Endpoint})
			current++
		}
	}
	slices.SortFunc(r.ring, func(a, b ringEntry) int { return cmp.Compare(a.hash, b.hash) })
	return r
}

func (r *ringHash) Pick(req *Request) (resource.Endpoint, bool) {
	h := requestHash(req)
	i, _ := slices.BinarySearchFunc(r.ring, h, func(e ringEntry, h uint64) int { return cmp.Compare(e.hash, h) })
	if i == len(r.ring) {
		i = 0
	}
	return *r.ring[i].ep, true
}

// maglev is Envoy's Maglev table: each host fills table slots along its own
// permutation (offset and skip from two hashes of its address), hosts
// taking turns in proportion to their weights; a request goes to slot
// hash mod table size.
type maglev struct {
	table []*resource.Endpoint
}

type maglevEntry struct {
	ep                   *resource.Endpoint
	offset, skip, next   uint64
	weight, targetWeight float64
}

func newMaglev(hosts []*Host, opts *Options) Picker {
	size := uint64(defaultMaglevTableSize)
	if opts.Config.MaglevTableSize > 0 {
		size = opts.Config.MaglevTableSize
	}
	sorted := slices.Clone(hosts)
	slices.SortFunc(sorted, func(a, b *Host) int { return cmp.Compare(a.Address, b.Address) })
	entries := make([]maglevEntry, len(sorted))
	maxWeight := 0.0
	for i, h := range sorted {
		seeded := xxhash.NewWithSeed(1)
		_, _ = seeded.WriteString(h.Address)
		entries[i] = maglevEntry{ep: &h.Endpoint, offset: HashString(h.Address) % size,
			skip: seeded.Sum64()%(size-1) + 1, weight: baseWeight(h)}
		maxWeight = max(maxWeight, entries[i].weight)
	}
	table := make([]*resource.Endpoint, size)
	filled := uint64(0)
	for iteration := 1.0; filled < size; iteration++ {
		for i := range entries {
			e := &entries[i]
			if filled == size || iteration*e.weight < e.targetWeight {
				continue
			}
			e.targetWeight += maxWeight
			c := (e.offset + e.skip*e.next) % size
			for table[c] != nil {
				e.next++
				c = (e.offset + e.skip*e.next) % size
			}
			table[c] = e.ep
			e.next++
			filled++
		}
	}
	return &maglev{table: table}
}

func (m *maglev) Pick(req *Request) (resource.Endpoint, bool) {
	return *m.table[requestHash(req)%uint64(len(m.table))], true
}
