package xdsclient

import (
	"maps"
	"slices"

	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// subscribeOrder is Envoy's subscription order; SDS secrets (over ADS)
// are asked for once clusters or listeners name them.
var subscribeOrder = []string{resource.ClusterType, resource.EndpointType, resource.ListenerType, resource.RouteType,
	resource.SecretType}

// wildcard types receive their full state in every response.
func wildcard(typeURL string) bool {
	return typeURL == resource.ClusterType || typeURL == resource.ListenerType
}

type entry struct {
	value   any
	raw     *anypb.Any
	version string
}

// typeState is what the client holds for one resource type.
type typeState struct {
	version   string // last ACKed version_info
	nonce     string // last response nonce
	names     []string
	requested bool // a request was sent on the current stream
	received  bool // at least one response accepted (ever)
	resources map[string]entry
}

// state is the accepted resources of every type. It is owned by Run's
// goroutine; config() derives the immutable resource.Config from it.
type state struct {
	types map[string]*typeState
}

func newState() *state {
	s := &state{types: map[string]*typeState{}}
	for _, t := range subscribeOrder {
		s.types[t] = &typeState{resources: map[string]entry{}}
	}
	return s
}

// with returns a shallow copy of s with typeURL's resources replaced.
func (s *state) with(typeURL string, res map[string]entry) *state {
	out := &state{types: maps.Clone(s.types)}
	ts := *s.types[typeURL]
	ts.resources = res
	out.types[typeURL] = &ts
	return out
}

// snapshot copies the per-type states (their resource maps are never
// mutated in place, so sharing them is safe) so that later commits to the
// client's state do not change the copy.
func (s *state) snapshot() *state {
	out := &state{types: make(map[string]*typeState, len(s.types))}
	for t, ts := range s.types {
		cp := *ts
		out.types[t] = &cp
	}
	return out
}

// config builds the resource.Config of the state.
func (s *state) config() *resource.Config {
	cfg := &resource.Config{
		Listeners: map[string]*resource.Listener{},
		Routes:    map[string]*resource.RouteConfig{},
		Clusters:  map[string]*resource.Cluster{},
		Endpoints: map[string]*resource.LoadAssignment{},
		Secrets:   map[string]*resource.Secret{},
		Raw:       map[string]map[string]resource.Raw{},
		Versions:  map[string]string{},
	}
	for typeURL, ts := range s.types {
		raw := make(map[string]resource.Raw, len(ts.resources))
		for name, e := range ts.resources {
			raw[name] = resource.Raw{Version: e.version, Any: e.raw}
			switch v := e.value.(type) {
			case *resource.Listener:
				cfg.Listeners[name] = v
			case *resource.RouteConfig:
				cfg.Routes[name] = v
			case *resource.Cluster:
				cfg.Clusters[name] = v
			case *resource.LoadAssignment:
				cfg.Endpoints[name] = v
			case *resource.Secret:
				cfg.Secrets[name] = v
			}
		}
		cfg.Raw[typeURL] = raw
		cfg.Versions[typeURL] = ts.version
	}
	return cfg
}

// complete reports whether the types the config depends on have been
// received at least once (CDS and LDS always; EDS/RDS when referenced).
func (s *state) complete(cfg *resource.Config) (bool, string) {
	if !s.types[resource.ClusterType].received {
		return false, "CDS"
	}
	if !s.types[resource.ListenerType].received {
		return false, "LDS"
	}
	if m := cfg.Missing(); m != "" {
		return false, m
	}
	return true, ""
}

// restrict drops resources not in names (non-wildcard types).
func restrict(res map[string]entry, names []string) map[string]entry {
	out := make(map[string]entry, len(names))
	for _, n := range names {
		if e, ok := res[n]; ok {
			out[n] = e
		}
	}
	return out
}

func sameNames(a, b []string) bool { return slices.Equal(a, b) }
