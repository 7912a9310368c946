package translate

import (
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
	networking "istio.io/api/networking/v1alpha3"
)

// Envoy's ring hash default, which Istio writes out when a consistent hash
// names no algorithm.
const defaultMinRingSize = 1024

// Istio's slow start defaults (Envoy's too).
const (
	defaultWarmupAggression = 1.0
	defaultWarmupMinPercent = 10.0
)

// slowStartRuntimeKey names the aggression in Envoy's runtime (Envoy
// requires a key; lateen-proxy has no runtime layer and uses the value).
const slowStartRuntimeKey = "upstream.slow_start.aggression"

// applyLoadBalancer translates loadBalancer as Istio: locality settings
// first (the DestinationRule's, else the mesh's), then the policy:
// LEAST_REQUEST (also for LEAST_CONN and when unspecified: Istio's
// default), ROUND_ROBIN, RANDOM, PASSTHROUGH (an ORIGINAL_DST cluster),
// with warmup as slow start; a consistent hash makes it RING_HASH or
// MAGLEV.
func (b *builder) applyLoadBalancer(c *clusterv3.Cluster, lb *networking.LoadBalancerSettings) {
	applyLocalityWeighting(c, localitySetting(b.view.Mesh, lb))
	switch lb.GetSimple() {
	case networking.LoadBalancerSettings_ROUND_ROBIN:
		c.LbPolicy = clusterv3.Cluster_ROUND_ROBIN
		if ss := slowStart(lb); ss != nil {
			c.LbConfig = &clusterv3.Cluster_RoundRobinLbConfig_{RoundRobinLbConfig: &clusterv3.Cluster_RoundRobinLbConfig{SlowStartConfig: ss}}
		}
	case networking.LoadBalancerSettings_RANDOM:
		c.LbPolicy = clusterv3.Cluster_RANDOM
	case networking.LoadBalancerSettings_PASSTHROUGH:
		b.passthrough(c)
	default: // LEAST_REQUEST, LEAST_CONN, UNSPECIFIED
		c.LbPolicy = clusterv3.Cluster_LEAST_REQUEST
		if ss := slowStart(lb); ss != nil {
			c.LbConfig = &clusterv3.Cluster_LeastRequestLbConfig_{LeastRequestLbConfig: &clusterv3.Cluster_LeastRequestLbConfig{SlowStartConfig: ss}}
		}
	}
	applyConsistentHash(c, lb.GetConsistentHash())
}

// slowStart translates warmup (or the deprecated warmupDurationSecs).
func slowStart(lb *networking.LoadBalancerSettings) *clusterv3.Cluster_SlowStartConfig {
	if w := lb.GetWarmup(); w != nil {
		aggression, minPercent := defaultWarmupAggression, defaultWarmupMinPercent
		if w.Aggression != nil {
			aggression = w.Aggression.GetValue()
		}
		if w.MinimumPercent != nil {
			minPercent = w.MinimumPercent.GetValue()
		}
		return &clusterv3.Cluster_SlowStartConfig{SlowStartWindow: w.Duration,
			Aggression:       &corev3.RuntimeDouble{DefaultValue: aggression, RuntimeKey: slowStartRuntimeKey},
			MinWeightPercent: &typev3.Percent{Value: minPercent}}
	}
	if d := lb.GetWarmupDurationSecs(); d != nil {
		return &clusterv3.Cluster_SlowStartConfig{SlowStartWindow: d}
	}
	return nil
}

// passthrough makes the cluster forward to the original destination
// (PASSTHROUGH): in capture NONE, the request's authority, as the
// PassthroughCluster does.
func (b *builder) passthrough(c *clusterv3.Cluster) {
	c.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: clusterv3.Cluster_ORIGINAL_DST}
	c.LbPolicy = clusterv3.Cluster_CLUSTER_PROVIDED
	c.EdsClusterConfig = nil
	c.LbConfig = &clusterv3.Cluster_OriginalDstLbConfig_{OriginalDstLbConfig: &clusterv3.Cluster_OriginalDstLbConfig{
		UseHttpHeader: b.interceptNone()}}
}

// applyConsistentHash selects MAGLEV (maglev.tableSize) or RING_HASH
// (ringHash.minimumRingSize, else the deprecated minimumRingSize, else
// 1024). Slow start does not apply to them, as in Envoy.
func applyConsistentHash(c *clusterv3.Cluster, ch *networking.LoadBalancerSettings_ConsistentHashLB) {
	if ch == nil || c.GetType() == clusterv3.Cluster_ORIGINAL_DST {
		return
	}
	c.LbConfig = nil
	switch {
	case ch.GetMaglev() != nil:
		c.LbPolicy = clusterv3.Cluster_MAGLEV
		if n := ch.GetMaglev().GetTableSize(); n != 0 {
			c.LbConfig = &clusterv3.Cluster_MaglevLbConfig_{MaglevLbConfig: &clusterv3.Cluster_MaglevLbConfig{TableSize: wrapperspb.UInt64(n)}}
		}
	case ch.GetRingHash() != nil:
		c.LbPolicy = clusterv3.Cluster_RING_HASH
		if n := ch.GetRingHash().GetMinimumRingSize(); n != 0 {
			c.LbConfig = ringHashConfig(n)
		}
	default:
		c.LbPolicy = clusterv3.Cluster_RING_HASH
		n := ch.GetMinimumRingSize() //nolint:staticcheck // the deprecated field still applies
		if n == 0 {
			n = defaultMinRingSize
		}
		c.LbConfig = ringHashConfig(n)
	}
}

func ringHashConfig(minSize uint64) *clusterv3.Cluster_RingHashLbConfig_ {
	return &clusterv3.Cluster_RingHashLbConfig_{RingHashLbConfig: &clusterv3.Cluster_RingHashLbConfig{MinimumRingSize: wrapperspb.UInt64(minSize)}}
}
