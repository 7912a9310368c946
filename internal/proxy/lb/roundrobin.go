package lb

import (
	"math/rand/v2"
	"slices"
	"sync/atomic"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// maxSchedule bounds the precomputed weighted schedule; larger weight sums
// are scaled down proportionally.
const maxSchedule = 4096

// roundRobin is weighted round robin over a precomputed, smoothly
// interleaved schedule, so Pick is one atomic add.
type roundRobin struct {
	endpoints []resource.Endpoint
	schedule  []uint32 // indices into endpoints
	next      atomic.Uint64
}

var _ Picker = (*roundRobin)(nil)

func newRoundRobin(eps []resource.Endpoint) Picker {
	rr := &roundRobin{endpoints: eps, schedule: schedule(eps)}
	rr.next.Store(rand.Uint64N(uint64(len(rr.schedule)))) // spread proxies' first picks
	return rr
}

// schedule builds a smooth weighted round robin sequence (each endpoint
// appears weight times, interleaved).
func schedule(eps []resource.Endpoint) []uint32 {
	weights := make([]int, len(eps))
	total := 0
	for i, e := range eps {
		weights[i] = int(max(e.Weight, 1))
		total += weights[i]
	}
	if total > maxSchedule {
		scaled := 0
		for i := range weights {
			weights[i] = max(1, weights[i]*maxSchedule/total)
			scaled += weights[i]
		}
		total = scaled
	}
	current := make([]int, len(eps))
	out := make([]uint32, 0, total)
	for range total {
		best := 0
		for i := range current {
			current[i] += weights[i]
			if current[i] > current[best] {
				best = i
			}
		}
		current[best] -= total
		out = append(out, uint32(best))
	}
	return out
}

// Pick returns the next endpoint not in req.Exclude (when possible).
func (rr *roundRobin) Pick(req *Request) (resource.Endpoint, bool) {
	n := uint64(len(rr.schedule))
	for range min(len(rr.schedule), 2*len(rr.endpoints)+1) {
		ep := rr.endpoints[rr.schedule[(rr.next.Add(1)-1)%n]]
		if req == nil || !slices.Contains(req.Exclude, ep.Address) {
			return ep, true
		}
	}
	return rr.endpoints[rr.schedule[(rr.next.Add(1)-1)%n]], true
}
