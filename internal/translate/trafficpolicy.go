package translate

import (
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/lateenmesh/lateen/internal/mesh"
	"github.com/lateenmesh/lateen/internal/registry"
)

// clusterPolicy is Istio's effective traffic policy of one outbound
// cluster (service port, optional subset): the DestinationRule's top-level
// policy, or its port-level settings for the port; then, for a subset, the
// subset's policy overriding it field group by field group
// (connectionPool, loadBalancer, outlierDetection, tls), or the subset's
// port-level settings replacing all four groups. Port-level settings never
// inherit: a group they leave out gets Istio's defaults.
func clusterPolicy(dr *mesh.DestinationRule, subset *networking.Subset, port uint32) *networking.TrafficPolicy {
	if dr == nil {
		return nil
	}
	top, _ := portPolicy(dr.Spec.GetTrafficPolicy(), port)
	if subset.GetTrafficPolicy() == nil {
		return top
	}
	sub, portLevel := portPolicy(subset.GetTrafficPolicy(), port)
	if top == nil {
		return sub
	}
	merged := shallowPolicy(top)
	if sub.ConnectionPool != nil || portLevel {
		merged.ConnectionPool = sub.ConnectionPool
	}
	if sub.OutlierDetection != nil || portLevel {
		merged.OutlierDetection = sub.OutlierDetection
	}
	if sub.LoadBalancer != nil || portLevel {
		merged.LoadBalancer = sub.LoadBalancer
	}
	if sub.Tls != nil || portLevel {
		merged.Tls = sub.Tls
	}
	if sub.Tunnel != nil {
		merged.Tunnel = sub.Tunnel
	}
	if sub.ProxyProtocol != nil {
		merged.ProxyProtocol = sub.ProxyProtocol
	}
	return merged
}

// portPolicy applies a policy's port-level settings for port, reporting
// whether there were any.
func portPolicy(tp *networking.TrafficPolicy, port uint32) (*networking.TrafficPolicy, bool) {
	if tp == nil {
		return nil, false
	}
	for _, pls := range tp.PortLevelSettings {
		if pls.GetPort().GetNumber() == port {
			return &networking.TrafficPolicy{
				ConnectionPool:   pls.ConnectionPool,
				LoadBalancer:     pls.LoadBalancer,
				OutlierDetection: pls.OutlierDetection,
				Tls:              pls.Tls,
				Tunnel:           tp.Tunnel,
				ProxyProtocol:    tp.ProxyProtocol,
			}, true
		}
	}
	return tp, false
}

// shallowPolicy copies a policy's field groups (not its port settings).
func shallowPolicy(tp *networking.TrafficPolicy) *networking.TrafficPolicy {
	return &networking.TrafficPolicy{
		ConnectionPool:   tp.ConnectionPool,
		LoadBalancer:     tp.LoadBalancer,
		OutlierDetection: tp.OutlierDetection,
		Tls:              tp.Tls,
		Tunnel:           tp.Tunnel,
		ProxyProtocol:    tp.ProxyProtocol,
	}
}

// applyTrafficPolicy applies an outbound cluster's effective policy (nil:
// Istio's defaults) in Istio's order: upstream protocol (h2 upgrade,
// useClientProtocol), connection pool, outlier detection, then the load
// balancer, whose locality settings depend on outlier detection.
func (b *builder) applyTrafficPolicy(c *clusterv3.Cluster, tp *networking.TrafficPolicy, port registry.Port) {
	pool := tp.GetConnectionPool()
	opts := upstreamProtocol(port.Protocol, pool.GetHttp(), b.view.Mesh)
	opts = b.applyConnectionPool(c, pool, opts)
	setProtocolOptions(c, opts)
	applyOutlierDetection(c, tp.GetOutlierDetection())
	b.applyLoadBalancer(c, tp.GetLoadBalancer())
}
