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

// loadAssignment groups the endpoints whose labels carry subset's labels by
// locality, in a stable order.
func loadAssignment(cluster string, eps []registry.Endpoint, subset map[string]string) *endpointv3.ClusterLoadAssignment {
	cla := &endpointv3.ClusterLoadAssignment{ClusterName: cluster}
	byLocality := map[string]*endpointv3.LocalityLbEndpoints{}
	var localities []string
	for _, ep := range eps {
		w := ep.Workload
		if !registry.SelectorMatches(subset, w.Labels) {
			continue
		}
		loc, ok := byLocality[w.Locality]
		if !ok {
			loc = &endpointv3.LocalityLbEndpoints{Locality: parseLocality(w.Locality)}
			byLocality[w.Locality] = loc
			localities = append(localities, w.Locality)
		}
		loc.LbEndpoints = append(loc.LbEndpoints, lbEndpoint(w.Address, ep.Port, w.Weight, w))
	}
	slices.Sort(localities)
	for _, l := range localities {
		loc := byLocality[l]
		slices.SortFunc(loc.LbEndpoints, compareEndpoints)
		cla.Endpoints = append(cla.Endpoints, loc)
	}
	return cla
}

func compareEndpoints(a, b *endpointv3.LbEndpoint) int {
	sa, sb := a.GetEndpoint().GetAddress().GetSocketAddress(), b.GetEndpoint().GetAddress().GetSocketAddress()
	return cmp.Or(cmp.Compare(sa.GetAddress(), sb.GetAddress()), cmp.Compare(sa.GetPortValue(), sb.GetPortValue()))
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
	return &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{"istio": st}}
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
