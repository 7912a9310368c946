package translate

import (
	"cmp"
	"slices"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/lateenmesh/lateen/internal/registry"
)

// loadAssignment builds one cluster's endpoints for this proxy: those whose
// labels carry the subset's labels, grouped by locality in a stable order
// (each locality weighted by the sum of its endpoints' weights, as Istio),
// with Istio's locality load balancing for this proxy applied.
func (b *builder) loadAssignment(cluster string, eps []registry.Endpoint, subset map[string]string, loc localityLB) *endpointv3.ClusterLoadAssignment {
	cla := &endpointv3.ClusterLoadAssignment{ClusterName: cluster}
	for _, g := range b.applyLocality(groupByLocality(eps, subset), loc) {
		cla.Endpoints = append(cla.Endpoints, g.lle)
	}
	return cla
}

func groupByLocality(eps []registry.Endpoint, subset map[string]string) []*localityGroup {
	byLocality := map[string]*localityGroup{}
	for _, ep := range eps {
		w := ep.Workload
		if !registry.SelectorMatches(subset, w.Labels) {
			continue
		}
		g := byLocality[w.Locality]
		if g == nil {
			g = &localityGroup{lle: &endpointv3.LocalityLbEndpoints{Locality: parseLocality(w.Locality)}}
			byLocality[w.Locality] = g
		}
		g.eps = append(g.eps, ep)
	}
	groups := make([]*localityGroup, 0, len(byLocality))
	for _, l := range sortedMapKeys(byLocality) {
		g := byLocality[l]
		slices.SortFunc(g.eps, compareEndpoints)
		for _, ep := range g.eps {
			g.lle.LbEndpoints = append(g.lle.LbEndpoints, lbEndpoint(ep.Workload.Address, ep.Port, ep.Workload.Weight, ep.Workload))
		}
		g.lle.LoadBalancingWeight = wrapperspb.UInt32(endpointWeights(g.lle.LbEndpoints))
		groups = append(groups, g)
	}
	return groups
}

func compareEndpoints(a, b registry.Endpoint) int {
	return cmp.Or(cmp.Compare(a.Workload.Address, b.Workload.Address), cmp.Compare(a.Port, b.Port))
}

func lbEndpoint(address string, port, weight uint32, w *registry.Workload) *endpointv3.LbEndpoint {
	ep := &endpointv3.LbEndpoint{
		HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{Address: socketAddress(address, port)}},
	}
	if weight > 0 {
		ep.LoadBalancingWeight = wrapperspb.UInt32(weight)
	}
	if w != nil {
		ep.Metadata = workloadMetadata(w)
	}
	return ep
}

// workloadMetadata tells the proxy which workload an endpoint is and
// whether it runs a sidecar (tlsMode "istio").
func workloadMetadata(w *registry.Workload) *corev3.Metadata {
	tlsMode := "disabled"
	if w.Sidecar {
		tlsMode = "istio"
	}
	st, err := structpb.NewStruct(map[string]any{
		"workload":       w.Name,
		"namespace":      w.Namespace,
		"serviceAccount": w.ServiceAccount,
		"tlsMode":        tlsMode,
	})
	if err != nil {
		panic(err)
	}
	md := &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{"istio": st}}
	if w.Sidecar { // what auto mTLS's transport_socket_matches select on, as Istio's EDS
		md.FilterMetadata[socketMatchKey] = &structpb.Struct{Fields: map[string]*structpb.Value{
			tlsModeKey: structpb.NewStringValue(tlsModeIstio)}}
	}
	return md
}

func parseLocality(s string) *corev3.Locality {
	if s == "" {
		return nil
	}
	parts := [3]string{}
	i := 0
	start := 0
	for j := 0; j <= len(s) && i < 3; j++ {
		if j == len(s) || s[j] == '/' {
			parts[i] = s[start:j]
			i++
			start = j + 1
		}
	}
	return &corev3.Locality{Region: parts[0], Zone: parts[1], SubZone: parts[2]}
}

func socketAddress(address string, port uint32) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address:       address,
		PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port},
	}}}
}
