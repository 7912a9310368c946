package admin

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// configDump writes envoy.admin.v3.ConfigDump of the active resources, as
// received, with their version_info.
func (s *Server) configDump(w http.ResponseWriter, _ *http.Request) {
	dump := &adminv3.ConfigDump{}
	if g := s.opts.Source.Current(); g != nil {
		for _, m := range append(dumpSections(g.Config), s.secretsDump(g.Config)) {
			a, err := anypb.New(m)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			dump.Configs = append(dump.Configs, a)
		}
	}
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(dump)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

func dumpSections(cfg *resource.Config) []proto.Message {
	clusters := &adminv3.ClustersConfigDump{VersionInfo: cfg.Versions[resource.ClusterType]}
	for _, n := range sortedNames(cfg.Raw[resource.ClusterType]) {
		r := cfg.Raw[resource.ClusterType][n]
		clusters.DynamicActiveClusters = append(clusters.DynamicActiveClusters,
			&adminv3.ClustersConfigDump_DynamicCluster{VersionInfo: r.Version, Cluster: r.Any})
	}
	endpoints := &adminv3.EndpointsConfigDump{}
	for _, n := range sortedNames(cfg.Raw[resource.EndpointType]) {
		r := cfg.Raw[resource.EndpointType][n]
		endpoints.DynamicEndpointConfigs = append(endpoints.DynamicEndpointConfigs,
			&adminv3.EndpointsConfigDump_DynamicEndpointConfig{VersionInfo: r.Version, EndpointConfig: r.Any})
	}
	listeners := &adminv3.ListenersConfigDump{VersionInfo: cfg.Versions[resource.ListenerType]}
	for _, n := range sortedNames(cfg.Raw[resource.ListenerType]) {
		r := cfg.Raw[resource.ListenerType][n]
		listeners.DynamicListeners = append(listeners.DynamicListeners, &adminv3.ListenersConfigDump_DynamicListener{
			Name: n, ActiveState: &adminv3.ListenersConfigDump_DynamicListenerState{VersionInfo: r.Version, Listener: r.Any}})
	}
	routes := &adminv3.RoutesConfigDump{}
	for _, n := range sortedNames(cfg.Raw[resource.RouteType]) {
		r := cfg.Raw[resource.RouteType][n]
		routes.DynamicRouteConfigs = append(routes.DynamicRouteConfigs,
			&adminv3.RoutesConfigDump_DynamicRouteConfig{VersionInfo: r.Version, RouteConfig: r.Any})
	}
	return []proto.Message{clusters, endpoints, listeners, routes}
}

func sortedNames(m map[string]resource.Raw) []string {
	out := make([]string, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

var healthNames = []string{"healthy", "healthy", "/failed_eds_health", "/pending_dynamic_removal", "/failed_eds_health", "/degraded_eds_health"}

// clusters writes Envoy's /clusters text: one line per cluster setting and
// per endpoint attribute.
func (s *Server) clusters(w http.ResponseWriter, _ *http.Request) {
	g := s.opts.Source.Current()
	if g == nil {
		return
	}
	var b strings.Builder
	for _, name := range g.Clusters.Names() {
		cl := g.Clusters.Get(name)
		fmt.Fprintf(&b, "%s::observability_name::%s\n", name, name)
		fmt.Fprintf(&b, "%s::default_priority::max_requests::%d\n", name, cl.Config.Limits.MaxRequests)
		for _, ep := range cl.Endpoints {
			region, rest, _ := strings.Cut(ep.Locality, "/")
			zone, sub, _ := strings.Cut(rest, "/")
			p := name + "::" + ep.Address + "::"
			fmt.Fprintf(&b, "%shealth_flags::%s\n%sweight::%d\n%sregion::%s\n%szone::%s\n%ssub_zone::%s\n%spriority::%d\n",
				p, healthNames[ep.Health], p, ep.Weight, p, region, p, zone, p, sub, p, ep.Priority)
		}
	}
	_, _ = w.Write([]byte(b.String()))
}
