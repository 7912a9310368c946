package http

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// RouteTable is a compiled RouteConfiguration. Virtual host selection by
// authority is a few map lookups whatever the number of virtual hosts:
// exact domains in one map, suffix and prefix wildcards in maps per
// wildcard length (tried longest first), then "*".
type RouteTable struct {
	Name     string
	exact    map[string]*vhost
	suffixes []wildcardSet // by suffix length, descending
	prefixes []wildcardSet // by prefix length, descending
	any      *vhost
}

type wildcardSet struct {
	length int
	hosts  map[string]*vhost
}

type vhost struct {
	cfg    *resource.VirtualHost
	routes []route
}

type route struct {
	cfg   *resource.Route
	vhost *vhost
}

// NewRouteTable compiles rc. The first virtual host wins a duplicate domain.
func NewRouteTable(rc *resource.RouteConfig) (*RouteTable, error) {
	t := &RouteTable{Name: rc.Name, exact: map[string]*vhost{}}
	suffix, prefix := map[int]map[string]*vhost{}, map[int]map[string]*vhost{}
	for i := range rc.VirtualHosts {
		vh := &vhost{cfg: &rc.VirtualHosts[i]}
		for j := range vh.cfg.Routes {
			vh.routes = append(vh.routes, route{cfg: &vh.cfg.Routes[j], vhost: vh})
		}
		for _, d := range vh.cfg.Domains {
			switch {
			case d == "*":
				if t.any != nil {
					return nil, fmt.Errorf("virtual_hosts[%d]: domain \"*\" used twice", i)
				}
				t.any = vh
			case strings.HasPrefix(d, "*"):
				addWildcard(suffix, d[1:], vh)
			case strings.HasSuffix(d, "*"):
				addWildcard(prefix, d[:len(d)-1], vh)
			default:
				if _, dup := t.exact[d]; !dup {
					t.exact[d] = vh
				}
			}
		}
	}
	t.suffixes, t.prefixes = sortedSets(suffix), sortedSets(prefix)
	return t, nil
}

func addWildcard(sets map[int]map[string]*vhost, key string, vh *vhost) {
	m := sets[len(key)]
	if m == nil {
		m = map[string]*vhost{}
		sets[len(key)] = m
	}
	if _, dup := m[key]; !dup {
		m[key] = vh
	}
}

func sortedSets(sets map[int]map[string]*vhost) []wildcardSet {
	out := make([]wildcardSet, 0, len(sets))
	for l, m := range sets {
		out = append(out, wildcardSet{length: l, hosts: m})
	}
	for i := 1; i < len(out); i++ { // insertion sort, descending length
		for j := i; j > 0 && out[j].length > out[j-1].length; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// selectVHost returns the virtual host for an authority (lower case), with
// Envoy's precedence: exact, longest suffix wildcard, longest prefix
// wildcard, "*". A wildcard matches at least one character.
func (t *RouteTable) selectVHost(host string) *vhost {
	if vh := t.exact[host]; vh != nil {
		return vh
	}
	for _, s := range t.suffixes {
		if len(host) > s.length {
			if vh := s.hosts[host[len(host)-s.length:]]; vh != nil {
				return vh
			}
		}
	}
	for _, s := range t.prefixes {
		if len(host) > s.length {
			if vh := s.hosts[host[:s.length]]; vh != nil {
				return vh
			}
		}
	}
	return t.any
}

// pickWeighted chooses a weighted cluster.
func pickWeighted(wcs []resource.WeightedCluster) *resource.WeightedCluster {
	var total uint64
	for _, wc := range wcs {
		total += uint64(wc.Weight)
	}
	n := rand.Uint64N(total)
	for i := range wcs {
		if n < uint64(wcs[i].Weight) {
			return &wcs[i]
		}
		n -= uint64(wcs[i].Weight)
	}
	return &wcs[len(wcs)-1]
}
