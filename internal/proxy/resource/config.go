package resource

import (
	"fmt"
	"sort"

	"google.golang.org/protobuf/types/known/anypb"
)

// Type URLs of the xDS resource types the proxy consumes (and SecretType).
const (
	ListenerType = "type.googleapis.com/envoy.config.listener.v3.Listener"
	RouteType    = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
	ClusterType  = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
	EndpointType = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
)

// Raw is a resource as received, kept for /config_dump.
type Raw struct {
	Version string
	Any     *anypb.Any
}

// Config is one complete, reference-closed configuration. It is immutable
// once built: the runtime builds its serving graph from it.
type Config struct {
	Listeners map[string]*Listener
	Routes    map[string]*RouteConfig
	Clusters  map[string]*Cluster
	Endpoints map[string]*LoadAssignment // keyed by EDS service name
	Secrets   map[string]*Secret         // SDS secrets received over ADS
	// Raw holds the received resources per type URL and name.
	Raw map[string]map[string]Raw
	// Versions holds the last accepted version_info per type URL.
	Versions map[string]string
}

// ClusterEndpoints returns the endpoints of a cluster: its inline load
// assignment (STATIC) or its ClusterLoadAssignment (EDS).
func (c *Config) ClusterEndpoints(cl *Cluster) []Endpoint {
	switch cl.Type {
	case ClusterStatic:
		if cl.LoadAssignment != nil {
			return cl.LoadAssignment.Endpoints
		}
	case ClusterEDS:
		if la := c.Endpoints[cl.ServiceName()]; la != nil {
			return la.Endpoints
		}
	}
	return nil
}

// RouteNames returns the RDS names referenced by listeners, sorted.
func (c *Config) RouteNames() []string {
	seen := map[string]bool{}
	for _, l := range c.Listeners {
		for _, fc := range l.Chains() {
			if fc.HTTP != nil && fc.HTTP.RDSName != "" {
				seen[fc.HTTP.RDSName] = true
			}
		}
	}
	return sortedKeys(seen)
}

// EDSNames returns the EDS service names of the EDS clusters, sorted.
func (c *Config) EDSNames() []string {
	seen := map[string]bool{}
	for _, cl := range c.Clusters {
		if cl.Type == ClusterEDS {
			seen[cl.ServiceName()] = true
		}
	}
	return sortedKeys(seen)
}

// Chains returns the filter chains including the default one.
func (l *Listener) Chains() []*FilterChain {
	out := make([]*FilterChain, 0, len(l.FilterChains)+1)
	for i := range l.FilterChains {
		out = append(out, &l.FilterChains[i])
	}
	if l.DefaultChain != nil {
		out = append(out, l.DefaultChain)
	}
	return out
}

// Missing returns a description of the first unresolved reference, or ""
// when the configuration is complete and reference-closed.
func (c *Config) Missing() string {
	for _, name := range c.EDSNames() {
		if c.Endpoints[name] == nil {
			return fmt.Sprintf("ClusterLoadAssignment %q", name)
		}
	}
	for _, name := range c.RouteNames() {
		if c.Routes[name] == nil {
			return fmt.Sprintf("RouteConfiguration %q", name)
		}
	}
	for _, name := range c.SecretNames() {
		if c.Secrets[name] == nil {
			return fmt.Sprintf("Secret %q", name)
		}
	}
	for _, ln := range sortedKeys(c.Listeners) {
		if m := c.missingInListener(c.Listeners[ln]); m != "" {
			return m
		}
	}
	return ""
}

func (c *Config) missingInListener(l *Listener) string {
	for _, fc := range l.Chains() {
		if fc.TCP != nil {
			for _, name := range fc.TCP.Clusters() {
				if c.Clusters[name] == nil {
					return fmt.Sprintf("Cluster %q (tcp_proxy of Listener %q)", name, l.Name)
				}
			}
		}
		if fc.HTTP == nil {
			continue
		}
		rc := fc.HTTP.RouteConfig
		if rc == nil {
			rc = c.Routes[fc.HTTP.RDSName]
		}
		if m := c.missingInRoutes(rc); m != "" {
			return m
		}
	}
	return ""
}

func (c *Config) missingInRoutes(rc *RouteConfig) string {
	if rc == nil {
		return ""
	}
	for _, vh := range rc.VirtualHosts {
		for _, r := range vh.Routes {
			if r.Action == nil {
				continue
			}
			names := r.Action.Clusters()
			for _, m := range r.Action.Mirrors {
				names = append(names, m.Cluster)
			}
			for _, name := range names {
				if c.Clusters[name] == nil {
					return fmt.Sprintf("Cluster %q (route of RouteConfiguration %q)", name, rc.Name)
				}
			}
		}
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
