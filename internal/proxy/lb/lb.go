// Package lb holds the load balancers. A Picker chooses one endpoint per
// request; pickers are built per configuration from a registry keyed by the
// cluster's lb_policy (Envoy's enum name).
package lb

import (
	"fmt"
	"net/http"
	"slices"

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
}

// Picker chooses an upstream endpoint.
type Picker interface {
	Pick(req *Request) (resource.Endpoint, bool)
}

// Builder builds a picker over a fixed set of endpoints (never empty).
type Builder func(endpoints []resource.Endpoint) Picker

// builders is the registry of load balancers by lb_policy. LEAST_REQUEST,
// RANDOM, RING_HASH and MAGLEV register here in the next issue.
var builders = map[string]Builder{
	"ROUND_ROBIN": newRoundRobin,
}

// Supported reports whether an lb_policy has a builder.
func Supported(policy string) bool { return builders[policy] != nil }

// New builds the picker of a cluster: it keeps the endpoints of the first
// priority level that has healthy ones (all of that level in panic mode,
// when fewer than panicThreshold percent are healthy) and hands them to the
// lb_policy's builder.
func New(policy string, endpoints []resource.Endpoint, panicThreshold float64) (Picker, error) {
	b := builders[policy]
	if b == nil {
		return nil, fmt.Errorf("lb_policy %s not supported by lateen-proxy", policy)
	}
	eps := selectEndpoints(endpoints, panicThreshold)
	if len(eps) == 0 {
		return empty{}, nil
	}
	return b(eps), nil
}

func selectEndpoints(endpoints []resource.Endpoint, panicThreshold float64) []resource.Endpoint {
	levels := map[uint32][]resource.Endpoint{}
	var prios []uint32
	for _, e := range endpoints {
		if _, ok := levels[e.Priority]; !ok {
			prios = append(prios, e.Priority)
		}
		levels[e.Priority] = append(levels[e.Priority], e)
	}
	slices.Sort(prios)
	for _, p := range prios {
		all := levels[p]
		var healthy []resource.Endpoint
		for _, e := range all {
			if e.Healthy() {
				healthy = append(healthy, e)
			}
		}
		if len(healthy) == 0 {
			continue
		}
		if float64(len(healthy))*100 < panicThreshold*float64(len(all)) {
			return all // panic: spread over every host of the level
		}
		return healthy
	}
	if len(prios) > 0 && panicThreshold > 0 {
		return levels[prios[0]] // nothing healthy anywhere: panic mode
	}
	return nil
}

type empty struct{}

func (empty) Pick(*Request) (resource.Endpoint, bool) { return resource.Endpoint{}, false }
