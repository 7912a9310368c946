package translate

import (
	"cmp"
	"math"
	"slices"
	"strings"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/lateenmesh/lateen/internal/registry"
)

// Topology labels Istio adds to proxy and endpoint labels for
// failoverPriority.
const (
	labelRegion  = "topology.kubernetes.io/region"
	labelZone    = "topology.kubernetes.io/zone"
	labelSubzone = "topology.istio.io/subzone"
	labelCluster = "topology.istio.io/cluster"
	labelNetwork = "topology.istio.io/network"
	// defaultClusterID is the cluster of endpoints (and of proxies that
	// name none), as Istio's default.
	defaultClusterID = "Kubernetes"
)

// localityLB is what locality load balancing needs for one cluster's
// endpoints: the effective setting and whether failover may apply (Istio
// fails over only when the cluster has outlier detection).
type localityLB struct {
	setting  *networking.LocalityLoadBalancerSetting
	failover bool
}

// localitySetting is Istio's effective locality setting: the
// DestinationRule's (nil when it disables it), else the mesh's.
func localitySetting(mc *meshv1alpha1.MeshConfig, lb *networking.LoadBalancerSettings) *networking.LocalityLoadBalancerSetting {
	s := mc.GetLocalityLbSetting()
	if dr := lb.GetLocalityLbSetting(); dr != nil {
		s = dr
	}
	if s.GetEnabled() != nil && !s.GetEnabled().GetValue() {
		return nil
	}
	return s
}

// applyLocalityWeighting turns on locality weighted load balancing when
// the endpoints will carry locality weights (distribute) or failover
// priorities (failover, failoverPriority with outlier detection).
func applyLocalityWeighting(c *clusterv3.Cluster, s *networking.LocalityLoadBalancerSetting) {
	failover := c.OutlierDetection != nil && (len(s.GetFailover()) > 0 || len(s.GetFailoverPriority()) > 0)
	if failover || len(s.GetDistribute()) > 0 {
		commonLB(c).LocalityConfigSpecifier = &clusterv3.Cluster_CommonLbConfig_LocalityWeightedLbConfig_{
			LocalityWeightedLbConfig: &clusterv3.Cluster_CommonLbConfig_LocalityWeightedLbConfig{}}
	}
}

// localityGroup is one locality's endpoints, with the registry endpoints
// behind its lb_endpoints (same order).
type localityGroup struct {
	lle *endpointv3.LocalityLbEndpoints
	eps []registry.Endpoint
}

// applyLocality computes this proxy's locality weights (distribute) or
// priorities (failover, failoverPriority) for one cluster's endpoints.
func (b *builder) applyLocality(groups []*localityGroup, loc localityLB) []*localityGroup {
	s := loc.setting
	switch {
	case s == nil:
	case len(s.Distribute) > 0:
		b.applyDistribute(groups, s.Distribute)
	case !loc.failover:
	case len(s.FailoverPriority) > 0:
		groups = b.applyFailoverPriority(groups, s.FailoverPriority)
		if len(s.Failover) > 0 {
			b.applyFailover(groups, s.Failover)
		}
	default:
		b.applyFailover(groups, s.Failover)
	}
	return groups
}

func (b *builder) proxyLocality() *corev3.Locality {
	if w := b.view.Workload; w != nil {
		if l := parseLocality(w.Locality); l != nil {
			return l
		}
	}
	return &corev3.Locality{}
}

// applyDistribute applies the first distribute rule whose from matches the
// proxy: each locality matching a to entry gets that share, split by the
// localities' own weights (rounded up); other localities get no endpoints.
func (b *builder) applyDistribute(groups []*localityGroup, rules []*networking.LocalityLoadBalancerSetting_Distribute) {
	proxy := b.proxyLocality()
	for _, d := range rules {
		if !localityMatch(proxy, d.From) {
			continue
		}
		matched := make([]bool, len(groups))
		for _, to := range sortedMapKeys(d.To) {
			var idx []int
			var total uint32
			for i, g := range groups {
				if !matched[i] && localityMatch(g.lle.Locality, to) {
					matched[i] = true
					idx = append(idx, i)
					total += g.lle.GetLoadBalancingWeight().GetValue()
				}
			}
			for _, i := range idx {
				w := math.Ceil(float64(groups[i].lle.GetLoadBalancingWeight().GetValue()*d.To[to]) / float64(total))
				if w > 0 {
					groups[i].lle.LoadBalancingWeight = wrapperspb.UInt32(uint32(w))
				}
			}
		}
		for i, g := range groups {
			if !matched[i] {
				g.lle.LbEndpoints = nil
			}
		}
		return
	}
}

// applyFailover sets priorities by proximity to the proxy: 0 same
// subzone, 1 same zone, 2 same region, 3 elsewhere, and 4 for regions a
// failover rule for the proxy's region does not name; combined with
// priorities already assigned (failoverPriority), then made contiguous.
func (b *builder) applyFailover(groups []*localityGroup, failover []*networking.LocalityLoadBalancerSetting_Failover) {
	proxy := b.proxyLocality()
	for _, g := range groups {
		p := lbPriority(proxy, g.lle.Locality)
		if p == 3 {
			for _, f := range failover {
				if f.From == proxy.Region {
					if g.lle.Locality.GetRegion() != f.To {
						p = 4
					}
					break
				}
			}
		}
		g.lle.Priority = g.lle.Priority*5 + p
	}
	compactPriorities(groups)
}

func lbPriority(proxy, ep *corev3.Locality) uint32 {
	switch {
	case proxy.GetRegion() != ep.GetRegion():
		return 3
	case proxy.GetZone() != ep.GetZone():
		return 2
	case proxy.GetSubZone() != ep.GetSubZone():
		return 1
	}
	return 0
}

// localityMatch matches a locality against "region/zone/subzone" with "*"
// (or omitted trailing parts) matching anything.
func localityMatch(l *corev3.Locality, rule string) bool {
	parts := strings.SplitN(rule, "/", 3)
	for len(parts) < 3 {
		parts = append(parts, "")
	}
	return (parts[0] == "*" || parts[0] == l.GetRegion()) &&
		(parts[1] == "*" || parts[1] == "" || parts[1] == l.GetZone()) &&
		(parts[2] == "*" || parts[2] == "" || parts[2] == l.GetSubZone())
}

// applyFailoverPriority splits each locality by how many of the ordered
// labels an endpoint shares with the proxy ("key", compared with the
// proxy's value, or "key=value"): all of them priority 0, only the first
// n-1 priority 1, ..., none priority n.
func (b *builder) applyFailoverPriority(groups []*localityGroup, labels []string) []*localityGroup {
	proxyLabels := b.proxyTopologyLabels()
	if len(proxyLabels) == 0 {
		return groups
	}
	var out []*localityGroup
	for _, g := range groups {
		byPrio := map[uint32]*localityGroup{}
		for j, ep := range g.eps {
			p := failoverPriority(labels, proxyLabels, endpointTopologyLabels(ep.Workload))
			ng := byPrio[p]
			if ng == nil {
				ng = &localityGroup{lle: &endpointv3.LocalityLbEndpoints{Locality: g.lle.Locality, Priority: p}}
				byPrio[p] = ng
			}
			ng.lle.LbEndpoints = append(ng.lle.LbEndpoints, g.lle.LbEndpoints[j])
			ng.eps = append(ng.eps, ep)
		}
		for _, p := range sortedMapKeys(byPrio) {
			ng := byPrio[p]
			ng.lle.LoadBalancingWeight = wrapperspb.UInt32(endpointWeights(ng.lle.LbEndpoints))
			out = append(out, ng)
		}
	}
	compactPriorities(out)
	return out
}

func failoverPriority(labels []string, proxy, ep map[string]string) uint32 {
	for i, l := range labels {
		key, want, fixed := strings.Cut(l, "=")
		if !fixed {
			want = proxy[key]
		}
		if ep[key] != want {
			return uint32(len(labels) - i)
		}
	}
	return 0
}

// compactPriorities renumbers priorities 0..n-1 keeping their order.
func compactPriorities(groups []*localityGroup) {
	var prios []uint32
	for _, g := range groups {
		prios = append(prios, g.lle.Priority)
	}
	slices.Sort(prios)
	prios = slices.Compact(prios)
	for _, g := range groups {
		i, _ := slices.BinarySearch(prios, g.lle.Priority)
		g.lle.Priority = uint32(i)
	}
}

// proxyTopologyLabels are the proxy's labels with Istio's topology labels.
func (b *builder) proxyTopologyLabels() map[string]string {
	p := b.view.Proxy
	clusterID := p.ClusterID
	if clusterID == "" {
		clusterID = defaultClusterID
	}
	locality, network := "", ""
	if w := b.view.Workload; w != nil {
		locality, network = w.Locality, w.Network
	}
	return topologyLabels(p.Labels, locality, clusterID, network)
}

func endpointTopologyLabels(w *registry.Workload) map[string]string {
	return topologyLabels(w.Labels, w.Locality, defaultClusterID, w.Network)
}

func topologyLabels(in map[string]string, locality, clusterID, network string) map[string]string {
	out := make(map[string]string, len(in)+5)
	for k, v := range in {
		out[k] = v
	}
	parts := strings.SplitN(locality, "/", 3)
	for i, key := range []string{labelRegion, labelZone, labelSubzone} {
		if i < len(parts) && parts[i] != "" {
			out[key] = parts[i]
		}
	}
	if clusterID != "" {
		out[labelCluster] = clusterID
	}
	if network != "" {
		out[labelNetwork] = network
	}
	return out
}

func endpointWeights(eps []*endpointv3.LbEndpoint) uint32 {
	var w uint32
	for _, e := range eps {
		w += max(e.GetLoadBalancingWeight().GetValue(), 1)
	}
	return w
}

func sortedMapKeys[K cmp.Ordered, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
