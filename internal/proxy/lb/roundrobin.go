package lb

import (
	"sync/atomic"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// maxSchedule bounds the precomputed weighted schedule; larger weight sums
// are scaled down proportionally.
const maxSchedule = 4096

// roundRobin is weighted round robin over a precomputed, smoothly
// interleaved schedule, so Pick is one atomic add.
type roundRobin struct {
	hosts    []*Host
	schedule []uint32 // indices into hosts
	next     atomic.Uint64
}

var _ Picker = (*roundRobin)(nil)

func newRoundRobin(hosts []*Host, opts *Options) Picker {
	rr := &roundRobin{hosts: hosts, schedule: schedule(hosts)}
	rr.next.Store(randN(uint64(len(rr.schedule)))) // spread proxies' first picks
	return withSlowStart(rr, hosts, opts, baseWeight)
}

func baseWeight(h *Host) float64 { return float64(max(h.Weight, 1)) }

// schedule builds a smooth weighted round robin sequence (each host
// appears weight times, interleaved).
func schedule(hosts []*Host) []uint32 {
	weights := make([]int, len(hosts))
	total := 0
	for i, h := range hosts {
		weights[i] = int(max(h.Weight, 1))
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
	current := make([]int, len(hosts))
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

// Pick returns the next host of the schedule.
func (rr *roundRobin) Pick(*Request) (resource.Endpoint, bool) {
	n := uint64(len(rr.schedule))
	return rr.hosts[rr.schedule[(rr.next.Add(1)-1)%n]].Endpoint, true
}

// random picks a host uniformly, ignoring weights (Envoy's RANDOM).
type random struct{ hosts []*Host }

func newRandom(hosts []*Host, _ *Options) Picker { return random{hosts: hosts} }

func (r random) Pick(*Request) (resource.Endpoint, bool) {
	return r.hosts[randN(uint64(len(r.hosts)))].Endpoint, true
}
