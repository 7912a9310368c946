package translate

import (
	"strconv"
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/lateenmesh/lateen/internal/hostname"
	"github.com/lateenmesh/lateen/internal/mesh"
)

// setHashPolicy adds to a route action the hash policy of each destination
// whose DestinationRule uses a consistent hash (weighted destinations of
// weight 0 are left out, as in the cluster list). (With a single hashed
// destination the retry policy then leaves previous_hosts out, as Istio.)
func (b *builder) setHashPolicy(a *routev3.RouteAction, vs *mesh.VirtualService, dsts []*networking.HTTPRouteDestination) {
	for _, d := range dsts {
		if len(dsts) > 1 && d.Weight == 0 {
			continue
		}
		if hp := hashPolicy(b.destinationHash(vs, d.Destination)); hp != nil {
			a.HashPolicy = append(a.HashPolicy, hp)
		}
	}
}

// destinationHash is the consistent hash for a route destination, as
// Istio picks it: the subset's port-level settings (for an explicit
// destination port), the subset's policy, the top-level port-level
// settings, then the top-level policy.
func (b *builder) destinationHash(vs *mesh.VirtualService, d *networking.Destination) *networking.LoadBalancerSettings_ConsistentHashLB {
	dr := b.view.DestinationRule(hostname.Resolve(d.GetHost(), vs.Namespace, b.view.DomainSuffix))
	if dr == nil {
		return nil
	}
	tp := dr.Spec.GetTrafficPolicy()
	hash := tp.GetLoadBalancer().GetConsistentHash()
	portHash := portLevelHash(d, tp.GetPortLevelSettings())
	var subsetHash, subsetPortHash *networking.LoadBalancerSettings_ConsistentHashLB
	for _, ss := range dr.Spec.Subsets {
		if ss.Name == d.GetSubset() {
			subsetHash = ss.GetTrafficPolicy().GetLoadBalancer().GetConsistentHash()
			subsetPortHash = portLevelHash(d, ss.GetTrafficPolicy().GetPortLevelSettings())
			break
		}
	}
	switch {
	case subsetPortHash != nil:
		return subsetPortHash
	case subsetHash != nil:
		return subsetHash
	case portHash != nil:
		return portHash
	}
	return hash
}

func portLevelHash(d *networking.Destination, pls []*networking.TrafficPolicy_PortTrafficPolicy) *networking.LoadBalancerSettings_ConsistentHashLB {
	if d.GetPort() == nil {
		return nil
	}
	for _, s := range pls {
		if s.GetPort().GetNumber() == d.GetPort().GetNumber() {
			return s.GetLoadBalancer().GetConsistentHash()
		}
	}
	return nil
}

// defaultHashPolicy is the hash policy of the default route to an
// outbound cluster (no VirtualService): the service's top-level consistent
// hash, or its port-level one.
func (b *builder) defaultHashPolicy(cluster string) []*routev3.RouteAction_HashPolicy {
	parts := strings.SplitN(cluster, "|", 4)
	if len(parts) != 4 || parts[0] != "outbound" {
		return nil
	}
	port, err := strconv.ParseUint(parts[1], 10, 32)
	if err != nil {
		return nil
	}
	dr := b.view.DestinationRule(parts[3])
	if dr == nil {
		return nil
	}
	tp := dr.Spec.GetTrafficPolicy()
	hash := tp.GetLoadBalancer().GetConsistentHash()
	for _, s := range tp.GetPortLevelSettings() {
		if s.GetPort().GetNumber() == uint32(port) {
			if h := s.GetLoadBalancer().GetConsistentHash(); h != nil {
				hash = h
			}
			break
		}
	}
	if hp := hashPolicy(hash); hp != nil {
		return []*routev3.RouteAction_HashPolicy{hp}
	}
	return nil
}

// hashPolicy translates a consistent hash key: httpHeaderName → header,
// httpCookie → cookie (name, path, ttl: a cookie is generated when ttl is
// set), useSourceIp → connection_properties.source_ip,
// httpQueryParameterName → query_parameter.
func hashPolicy(ch *networking.LoadBalancerSettings_ConsistentHashLB) *routev3.RouteAction_HashPolicy {
	switch k := ch.GetHashKey().(type) {
	case *networking.LoadBalancerSettings_ConsistentHashLB_HttpHeaderName:
		return &routev3.RouteAction_HashPolicy{PolicySpecifier: &routev3.RouteAction_HashPolicy_Header_{
			Header: &routev3.RouteAction_HashPolicy_Header{HeaderName: k.HttpHeaderName}}}
	case *networking.LoadBalancerSettings_ConsistentHashLB_HttpCookie:
		return &routev3.RouteAction_HashPolicy{PolicySpecifier: &routev3.RouteAction_HashPolicy_Cookie_{
			Cookie: &routev3.RouteAction_HashPolicy_Cookie{Name: k.HttpCookie.GetName(), Path: k.HttpCookie.GetPath(), Ttl: k.HttpCookie.GetTtl()}}}
	case *networking.LoadBalancerSettings_ConsistentHashLB_UseSourceIp:
		return &routev3.RouteAction_HashPolicy{PolicySpecifier: &routev3.RouteAction_HashPolicy_ConnectionProperties_{
			ConnectionProperties: &routev3.RouteAction_HashPolicy_ConnectionProperties{SourceIp: k.UseSourceIp}}}
	case *networking.LoadBalancerSettings_ConsistentHashLB_HttpQueryParameterName:
		return &routev3.RouteAction_HashPolicy{PolicySpecifier: &routev3.RouteAction_HashPolicy_QueryParameter_{
			QueryParameter: &routev3.RouteAction_HashPolicy_QueryParameter{Name: k.HttpQueryParameterName}}}
	}
	return nil
}
