package lb

import (
	"math"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// Envoy's LEAST_REQUEST defaults.
const (
	defaultChoiceCount = 2
	defaultBias        = 1.0
)

// newLeastRequest is Envoy's least request load balancer: with equal
// weights, the host with fewer outstanding requests among choice_count
// random ones (power of two choices by default); with unequal weights,
// weight / (active + 1)^active_request_bias decides.
func newLeastRequest(hosts []*Host, opts *Options) Picker {
	choices := opts.Config.ChoiceCount
	if choices == 0 {
		choices = defaultChoiceCount
	}
	bias := defaultBias
	if opts.Config.ActiveRequestBias != nil {
		bias = *opts.Config.ActiveRequestBias
	}
	weight := func(h *Host) float64 { return baseWeight(h) / math.Pow(float64(h.active()+1), bias) }
	if bias == 1 {
		weight = func(h *Host) float64 { return baseWeight(h) / float64(h.active()+1) }
	}
	var p Picker = &weightedDynamic{hosts: hosts, weight: weight}
	if equalWeights(hosts) {
		p = &choiceOfN{hosts: hosts, n: choices}
	}
	return withSlowStart(p, hosts, opts, weight)
}

func equalWeights(hosts []*Host) bool {
	for _, h := range hosts[1:] {
		if max(h.Weight, 1) != max(hosts[0].Weight, 1) {
			return false
		}
	}
	return true
}

// choiceOfN samples n hosts (with replacement) and keeps the one with the
// fewest outstanding requests.
type choiceOfN struct {
	hosts []*Host
	n     uint32
}

func (c *choiceOfN) Pick(*Request) (resource.Endpoint, bool) {
	best := c.hosts[randN(uint64(len(c.hosts)))]
	for i := uint32(1); i < c.n; i++ {
		h := c.hosts[randN(uint64(len(c.hosts)))]
		if h.active() < best.active() {
			best = h
		}
	}
	return best.Endpoint, true
}

// weightedDynamic picks at random with weights computed at pick time.
type weightedDynamic struct {
	hosts  []*Host
	weight func(*Host) float64
}

func (w *weightedDynamic) Pick(*Request) (resource.Endpoint, bool) {
	return pickWeighted(w.hosts, w.weight).Endpoint, true
}

func pickWeighted(hosts []*Host, weight func(*Host) float64) *Host {
	total := 0.0
	for _, h := range hosts {
		total += weight(h)
	}
	r := randFloat() * total
	for _, h := range hosts {
		w := weight(h)
		if r < w {
			return h
		}
		r -= w
	}
	return hosts[len(hosts)-1]
}

// Slow start (Envoy's slow_start_config) defaults.
const (
	defaultAggression       = 1.0
	defaultMinWeightPercent = 10.0
)

// withSlowStart wraps p so that, while some host joined less than the slow
// start window ago, hosts are picked by weight(h) scaled by Envoy's time
// factor: max(min_weight_percent, (max(age, 1s) / window)^(1/aggression)).
// Once every host is past the window p picks alone.
func withSlowStart(p Picker, hosts []*Host, opts *Options, weight func(*Host) float64) Picker {
	cfg := opts.Config.SlowStart
	if cfg == nil || cfg.Window <= 0 {
		return p
	}
	var until time.Time
	for _, h := range hosts {
		if end := h.Since.Add(cfg.Window); end.After(until) {
			until = end
		}
	}
	if !opts.Now().Before(until) {
		return p
	}
	return &slowStart{after: p, hosts: hosts, cfg: *cfg, now: opts.Now, until: until, weight: weight}
}

type slowStart struct {
	after  Picker
	hosts  []*Host
	cfg    resource.SlowStart
	now    func() time.Time
	until  time.Time
	weight func(*Host) float64
}

func (s *slowStart) Pick(req *Request) (resource.Endpoint, bool) {
	now := s.now()
	if !now.Before(s.until) {
		return s.after.Pick(req)
	}
	h := pickWeighted(s.hosts, func(h *Host) float64 { return s.weight(h) * SlowStartFactor(s.cfg, now.Sub(h.Since)) })
	return h.Endpoint, true
}

// SlowStartFactor is the share of its weight a host gets age after joining.
func SlowStartFactor(cfg resource.SlowStart, age time.Duration) float64 {
	if cfg.Window <= 0 || age >= cfg.Window {
		return 1
	}
	aggression, minPercent := defaultAggression, defaultMinWeightPercent
	if cfg.Aggression != nil && *cfg.Aggression > 0 {
		aggression = *cfg.Aggression
	}
	if cfg.MinWeightPercent != nil {
		minPercent = *cfg.MinWeightPercent
	}
	f := math.Pow(max(age.Seconds(), 1)/cfg.Window.Seconds(), 1/aggression)
	return min(1, max(minPercent/100, f))
}
