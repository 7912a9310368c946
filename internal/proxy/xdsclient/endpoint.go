package xdsclient

import (
	"fmt"
	"net"
	"strconv"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

func decodeLoadAssignment(_ *Decoders, a *anypb.Any) (string, any, error) {
	var pb endpointv3.ClusterLoadAssignment
	if err := unpack(a, &pb); err != nil {
		return pb.GetClusterName(), nil, err
	}
	if pb.GetClusterName() == "" {
		return "", nil, fieldErr("cluster_name", "empty")
	}
	la, err := loadAssignment(&pb)
	if err != nil {
		return pb.GetClusterName(), nil, err
	}
	return la.ClusterName, la, nil
}

// loadAssignment converts a (field-checked) ClusterLoadAssignment; STATIC
// clusters use it for their inline load_assignment.
func loadAssignment(pb *endpointv3.ClusterLoadAssignment) (*resource.LoadAssignment, error) {
	la := &resource.LoadAssignment{ClusterName: pb.GetClusterName()}
	if pb == nil {
		return la, nil
	}
	for i, loc := range pb.GetEndpoints() {
		locality := loc.GetLocality().GetRegion() + "/" + loc.GetLocality().GetZone() + "/" + loc.GetLocality().GetSubZone()
		for j, lbe := range loc.GetLbEndpoints() {
			ep, err := decodeLbEndpoint(lbe)
			if err != nil {
				return nil, under(fmt.Sprintf("endpoints[%d].lb_endpoints[%d]", i, j), err)
			}
			ep.Priority, ep.Locality = loc.GetPriority(), locality
			ep.LocalityWeight = loc.GetLoadBalancingWeight().GetValue()
			la.Endpoints = append(la.Endpoints, ep)
		}
	}
	return la, nil
}

func decodeLbEndpoint(pb *endpointv3.LbEndpoint) (resource.Endpoint, error) {
	ep := resource.Endpoint{Weight: 1, Health: resource.HealthStatus(pb.GetHealthStatus())}
	sa := pb.GetEndpoint().GetAddress().GetSocketAddress()
	if sa == nil {
		return ep, fieldErr("endpoint.address.socket_address", "required")
	}
	if sa.GetProtocol() != corev3.SocketAddress_TCP {
		return ep, fieldErr("endpoint.address.socket_address.protocol", "only TCP is supported")
	}
	if net.ParseIP(sa.GetAddress()) == nil {
		return ep, fieldErr("endpoint.address.socket_address.address", "%q is not an IP address", sa.GetAddress())
	}
	ep.Address = net.JoinHostPort(sa.GetAddress(), strconv.Itoa(int(sa.GetPortValue())))
	if w := pb.GetLoadBalancingWeight(); w != nil {
		if w.GetValue() == 0 {
			return ep, fieldErr("load_balancing_weight", "must be at least 1")
		}
		ep.Weight = w.GetValue()
	}
	if md := pb.GetMetadata().GetFilterMetadata()["istio"]; md != nil {
		ep.Workload = md.GetFields()["workload"].GetStringValue()
		ep.TLSMode = md.GetFields()["tlsMode"].GetStringValue()
	}
	if md := pb.GetMetadata().GetFilterMetadata()[socketMatchKey]; md != nil {
		ep.SocketMatch = make(map[string]string, len(md.GetFields()))
		for k, v := range md.GetFields() {
			ep.SocketMatch[k] = v.GetStringValue()
		}
	}
	return ep, nil
}
