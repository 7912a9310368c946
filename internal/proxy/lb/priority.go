package lb

import (
	"cmp"
	"math/rand/v2"
	"slices"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// overprovisioningFactor is Envoy's default (140%): a priority level or a
// locality counts as fully available until fewer than ~72% of its hosts
// are healthy.
const overprovisioningFactor = 140

func randN(n uint64) uint64 { return rand.Uint64N(n) }

func randFloat() float64 { return rand.Float64() }

// level is one priority level with traffic: its share of the load and the
// hosts to balance over (the healthy ones, or all of them in panic mode).
type level struct {
	load  uint32 // percent
	hosts []*Host
	all   []*Host
	panic bool
}

// priorityLevels computes Envoy's per-priority load: each level's health
// is min(100, 1.4 × healthy%), levels take load in priority order up to
// their health, scaled up when the total is below 100. A level is in panic
// (all its hosts are used) when the total is below 100 and its healthy
// percentage is below the panic threshold; when every level panics, load
// follows host counts. With no healthy host and the threshold at 0 there
// is no host at all.
func priorityLevels(hosts []*Host, panicThreshold float64) []level {
	if len(hosts) == 0 {
		return nil
	}
	groups := byPriority(hosts)
	health := make([]uint32, len(groups))
	var sum uint32
	for i, g := range groups {
		health[i] = min(100, overprovisioningFactor*uint32(len(healthyOf(g)))/uint32(len(g)))
		sum += health[i]
	}
	total := min(100, sum)
	if total == 0 && panicThreshold <= 0 {
		return nil
	}
	panics := make([]bool, len(groups))
	allPanic := true
	for i, g := range groups {
		panics[i] = total == 0 || (total < 100 && healthyPercent(g) < panicThreshold)
		allPanic = allPanic && panics[i]
	}
	loads := distributeLoad(health, total)
	if allPanic {
		loads = loadByHostCount(groups)
	}
	var out []level
	for i, g := range groups {
		hs := healthyOf(g)
		if panics[i] {
			hs = g
		}
		if loads[i] == 0 || len(hs) == 0 {
			continue
		}
		out = append(out, level{load: loads[i], hosts: hs, all: g, panic: panics[i]})
	}
	return out
}

func byPriority(hosts []*Host) [][]*Host {
	sorted := slices.Clone(hosts)
	slices.SortStableFunc(sorted, func(a, b *Host) int { return cmp.Compare(a.Priority, b.Priority) })
	var out [][]*Host
	for i := 0; i < len(sorted); {
		j := i
		for j < len(sorted) && sorted[j].Priority == sorted[i].Priority {
			j++
		}
		out = append(out, sorted[i:j:j])
		i = j
	}
	return out
}

func healthyOf(hosts []*Host) []*Host {
	out := make([]*Host, 0, len(hosts))
	for _, h := range hosts {
		if h.Healthy() {
			out = append(out, h)
		}
	}
	return out
}

func healthyPercent(hosts []*Host) float64 {
	return 100 * float64(len(healthyOf(hosts))) / float64(len(hosts))
}

// distributeLoad gives each level min(remaining, health×100/total) in
// order; rounding leftovers go to the first level with health.
func distributeLoad(health []uint32, total uint32) []uint32 {
	loads := make([]uint32, len(health))
	if total == 0 {
		return loads
	}
	remaining, first := uint32(100), -1
	for i, h := range health {
		if first < 0 && h > 0 {
			first = i
		}
		loads[i] = min(remaining, h*100/total)
		remaining -= loads[i]
	}
	if remaining > 0 && first >= 0 {
		loads[first] += remaining
	}
	return loads
}

// loadByHostCount is the total-panic split: proportional to host counts.
func loadByHostCount(groups [][]*Host) []uint32 {
	n := 0
	for _, g := range groups {
		n += len(g)
	}
	loads := make([]uint32, len(groups))
	var sum uint32
	for i, g := range groups {
		loads[i] = uint32(100 * len(g) / n)
		sum += loads[i]
	}
	loads[0] += 100 - sum
	return loads
}

// levelPicker builds the picker of one level: with locality weighting
// (locality_weighted_lb_config) a locality is chosen first by its weight
// times its availability; hash policies and panic mode ignore localities.
func levelPicker(b Builder, lv level, opts *Options, hash bool) Picker {
	if !opts.Config.LocalityWeighted || hash || lv.panic {
		return b(lv.hosts, opts)
	}
	var lp localityPicker
	for _, g := range byLocality(lv.all) {
		healthy := healthyOf(g)
		w := uint64(g[0].LocalityWeight) * uint64(min(100, overprovisioningFactor*len(healthy)/len(g)))
		if w == 0 || len(healthy) == 0 {
			continue
		}
		lp.total += w
		lp.cumulative = append(lp.cumulative, lp.total)
		lp.pickers = append(lp.pickers, b(healthy, opts))
	}
	if len(lp.pickers) == 0 {
		return b(lv.hosts, opts) // no locality has weight: ignore localities
	}
	if len(lp.pickers) == 1 {
		return lp.pickers[0]
	}
	return &lp
}

func byLocality(hosts []*Host) [][]*Host {
	idx := map[string]int{}
	var out [][]*Host
	for _, h := range hosts {
		i, ok := idx[h.Locality]
		if !ok {
			i = len(out)
			idx[h.Locality] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], h)
	}
	slices.SortFunc(out, func(a, b []*Host) int { return cmp.Compare(a[0].Locality, b[0].Locality) })
	return out
}

// localityPicker chooses a locality by effective weight, then a host in it.
type localityPicker struct {
	cumulative []uint64
	total      uint64
	pickers    []Picker
}

func (l *localityPicker) Pick(req *Request) (resource.Endpoint, bool) {
	r := randN(l.total)
	i, _ := slices.BinarySearch(l.cumulative, r+1)
	return l.pickers[i].Pick(req)
}
