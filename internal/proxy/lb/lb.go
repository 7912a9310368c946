// Package lb holds the load balancers. A Picker chooses one endpoint per
// request. New builds a cluster's picker the way Envoy does: it splits the
// hosts by priority, computes each level's share of the traffic from its
// health (overprovisioning factor 1.4, panic threshold), optionally splits a
// level by locality weight, and hands each group of hosts to the builder
// registered for the cluster's lb_policy (Envoy's enum name).
package lb

import (
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// Request is what a picker may look at.
type Request struct {
	HTTP *http.Request // nil for TCP connections
	// OriginalDst is the downstream connection's original destination
	// (host:port); ORIGINAL_DST clusters use it.
	OriginalDst string
	// Exclude lists addresses already tried (retry previous_hosts).
	Exclude []string
	// Hash is the request's hash from the route's hash_policy (RING_HASH,
	// MAGLEV); HasHash is false when no policy produced one, and the hash
	// load balancers then pick a random host, as Envoy does.
	Hash    uint64
	HasHash bool
}

// Picker chooses an upstream endpoint.
type Picker interface {
	Pick(req *Request) (resource.Endpoint, bool)
}

// Host is an endpoint with the live state some load balancers read.
type Host struct {
	resource.Endpoint
	// Active counts the host's outstanding requests (LEAST_REQUEST); nil
	// counts as zero.
	Active *atomic.Int64
	// Since is when the host joined the cluster (slow start).
	Since time.Time
}

func (h *Host) active() int64 {
	if h.Active == nil {
		return 0
	}
	return h.Active.Load()
}

// Options configure New.
type Options struct {
	// Policy is the cluster's lb_policy, e.g. "LEAST_REQUEST".
	Policy string
	// PanicThreshold is healthy_panic_threshold in percent (Envoy's
	// default is 50; 0 disables panic mode).
	PanicThreshold float64
	// Config holds the policy's settings (lb_config, locality weighting).
	Config resource.LBConfig
	// Now is the clock (slow start); nil means time.Now.
	Now func() time.Time
}

// Builder builds the picker of one group of hosts (never empty) of one
// priority level (and locality, with locality weighting).
type Builder func(hosts []*Host, opts *Options) Picker

// builders is the registry of load balancers by lb_policy.
var builders = map[string]Builder{
	"ROUND_ROBIN":   newRoundRobin,
	"LEAST_REQUEST": newLeastRequest,
	"RANDOM":        newRandom,
	"RING_HASH":     newRingHash,
	"MAGLEV":        newMaglev,
}

// hashPolicies are the policies that pick by the request hash: they choose
// the priority level by hash too and ignore locality weights, as Envoy's.
var hashPolicies = map[string]bool{"RING_HASH": true, "MAGLEV": true}

// Supported reports whether an lb_policy has a builder.
func Supported(policy string) bool { return builders[policy] != nil }

// New builds the picker of a cluster over hosts (all priorities and health
// states).
func New(hosts []*Host, opts Options) (Picker, error) {
	b := builders[opts.Policy]
	if b == nil {
		return nil, fmt.Errorf("lb_policy %s not supported by lateen-proxy", opts.Policy)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	levels := priorityLevels(hosts, opts.PanicThreshold)
	if len(levels) == 0 {
		return empty{}, nil
	}
	p := &prioritized{hash: hashPolicies[opts.Policy]}
	for _, lv := range levels {
		p.levels = append(p.levels, weightedLevel{load: lv.load, picker: levelPicker(b, lv, &opts, p.hash)})
	}
	return p, nil
}

// maxExcludeTries bounds re-picks that avoid Request.Exclude (Envoy's
// host_selection_retry_max_attempts is usually small too).
const maxExcludeTries = 5

// prioritized picks a priority level by its share of the load, then a host
// in it.
type prioritized struct {
	levels []weightedLevel
	hash   bool
}

type weightedLevel struct {
	load   uint32 // percent
	picker Picker
}

func (p *prioritized) Pick(req *Request) (resource.Endpoint, bool) {
	var ep resource.Endpoint
	ok := false
	for try := 0; try < maxExcludeTries; try++ {
		ep, ok = p.pickOnce(req)
		if !ok || req == nil || !slices.Contains(req.Exclude, ep.Address) {
			return ep, ok
		}
	}
	return ep, ok
}

func (p *prioritized) pickOnce(req *Request) (resource.Endpoint, bool) {
	lv := p.levels[0]
	if len(p.levels) > 1 {
		var r uint64
		if p.hash && req != nil && req.HasHash {
			r = req.Hash % 100
		} else {
			r = randN(100)
		}
		lv = p.levels[len(p.levels)-1]
		for _, l := range p.levels {
			if r < uint64(l.load) {
				lv = l
				break
			}
			r -= uint64(l.load)
		}
	}
	return lv.picker.Pick(req)
}

type empty struct{}

func (empty) Pick(*Request) (resource.Endpoint, bool) { return resource.Endpoint{}, false }
