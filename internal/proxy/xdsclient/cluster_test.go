package xdsclient

import (
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/lateenmesh/lateen/internal/proxy/proxytest"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

func decodeClusterPB(t *testing.T, c *clusterv3.Cluster) (*resource.Cluster, error) {
	t.Helper()
	a, err := anypb.New(c)
	if err != nil {
		t.Fatal(err)
	}
	_, v, err := decodeCluster(NewDecoders(), a)
	if err != nil {
		return nil, err
	}
	return v.(*resource.Cluster), nil
}

func float(v float64) *float64 { return &v }

// TestDecodeIstioStyleCluster decodes a cluster with every traffic policy
// field the translator emits.
func TestDecodeIstioStyleCluster(t *testing.T) {
	c := proxytest.EDSCluster("c")
	c.LbPolicy = clusterv3.Cluster_LEAST_REQUEST
	c.LbConfig = &clusterv3.Cluster_LeastRequestLbConfig_{LeastRequestLbConfig: &clusterv3.Cluster_LeastRequestLbConfig{
		ChoiceCount: wrapperspb.UInt32(3), SlowStartConfig: &clusterv3.Cluster_SlowStartConfig{
			SlowStartWindow: durationpb.New(30 * time.Second), MinWeightPercent: &typev3.Percent{Value: 20},
			Aggression: &corev3.RuntimeDouble{DefaultValue: 2, RuntimeKey: "k"}}}}
	c.CircuitBreakers = &clusterv3.CircuitBreakers{Thresholds: []*clusterv3.CircuitBreakers_Thresholds{{
		MaxConnections: wrapperspb.UInt32(1), MaxPendingRequests: wrapperspb.UInt32(2), TrackRemaining: true}}}
	c.OutlierDetection = &clusterv3.OutlierDetection{Consecutive_5Xx: wrapperspb.UInt32(3), EnforcingConsecutive_5Xx: wrapperspb.UInt32(100),
		EnforcingSuccessRate: wrapperspb.UInt32(0), Interval: durationpb.New(time.Second), BaseEjectionTime: durationpb.New(10 * time.Minute),
		MaxEjectionPercent: wrapperspb.UInt32(50)}
	c.CommonLbConfig = &clusterv3.Cluster_CommonLbConfig{HealthyPanicThreshold: &typev3.Percent{},
		LocalityConfigSpecifier: &clusterv3.Cluster_CommonLbConfig_LocalityWeightedLbConfig_{
			LocalityWeightedLbConfig: &clusterv3.Cluster_CommonLbConfig_LocalityWeightedLbConfig{}}}
	c.UpstreamConnectionOptions = &clusterv3.UpstreamConnectionOptions{TcpKeepalive: &corev3.TcpKeepalive{KeepaliveTime: wrapperspb.UInt32(60)}}
	c.TypedExtensionProtocolOptions = map[string]*anypb.Any{httpProtocolOptionsKey: proxytest.Any(&httpv3.HttpProtocolOptions{
		CommonHttpProtocolOptions: &corev3.HttpProtocolOptions{IdleTimeout: durationpb.New(time.Minute),
			MaxRequestsPerConnection: wrapperspb.UInt32(10), MaxConnectionDuration: durationpb.New(time.Hour)},
		UpstreamProtocolOptions: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
			ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_Http2ProtocolOptions{
				Http2ProtocolOptions: &corev3.Http2ProtocolOptions{MaxConcurrentStreams: wrapperspb.UInt32(50)}}}}})}
	got, err := decodeClusterPB(t, c)
	if err != nil {
		t.Fatal(err)
	}
	want := &resource.Cluster{Name: "c", Type: resource.ClusterEDS, ConnectTimeout: time.Second, LBPolicy: "LEAST_REQUEST",
		LB: resource.LBConfig{ChoiceCount: 3, LocalityWeighted: true, SlowStart: &resource.SlowStart{Window: 30 * time.Second,
			Aggression: float(2), MinWeightPercent: float(20)}},
		Protocol: resource.UpstreamHTTP2,
		Pool: resource.PoolSettings{IdleTimeout: time.Minute, MaxRequestsPerConnection: 10, MaxConnectionDuration: time.Hour,
			MaxConcurrentStreams: 50, KeepAlive: &resource.TCPKeepalive{Time: time.Minute}},
		Limits:         resource.Thresholds{MaxConnections: 1, MaxPendingRequests: 2, MaxRequests: 1024, MaxRetries: 3},
		TrackRemaining: true,
		Outlier: &resource.OutlierDetection{Consecutive5xx: 3, EnforcingConsecutive5xx: 100, ConsecutiveGatewayFailure: 5,
			ConsecutiveLocalOriginFailure: 5, EnforcingConsecutiveLocalOriginFailure: 100, Interval: time.Second,
			BaseEjectionTime: 10 * time.Minute, MaxEjectionTime: 10 * time.Minute, MaxEjectionPercent: 50},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decoded cluster (-want +got):\n%s", diff)
	}
}

func TestDecodeClusterDefaultsAndHashPolicies(t *testing.T) {
	got, err := decodeClusterPB(t, proxytest.EDSCluster("c"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Limits != defaultThresholds || got.HealthyPanicThreshold != 50 || got.Outlier != nil {
		t.Errorf("defaults: limits %+v panic %v outlier %v", got.Limits, got.HealthyPanicThreshold, got.Outlier)
	}
	ring := proxytest.EDSCluster("c")
	ring.LbPolicy = clusterv3.Cluster_RING_HASH
	ring.LbConfig = &clusterv3.Cluster_RingHashLbConfig_{RingHashLbConfig: &clusterv3.Cluster_RingHashLbConfig{MinimumRingSize: wrapperspb.UInt64(2048)}}
	if got, err := decodeClusterPB(t, ring); err != nil || got.LB.RingMinSize != 2048 {
		t.Errorf("ring hash: %+v, %v", got, err)
	}
	maglev := proxytest.EDSCluster("c")
	maglev.LbPolicy = clusterv3.Cluster_MAGLEV
	maglev.LbConfig = &clusterv3.Cluster_MaglevLbConfig_{MaglevLbConfig: &clusterv3.Cluster_MaglevLbConfig{TableSize: wrapperspb.UInt64(1021)}}
	if got, err := decodeClusterPB(t, maglev); err != nil || got.LB.MaglevTableSize != 1021 {
		t.Errorf("maglev: %+v, %v", got, err)
	}
}

func TestDecodeClusterNACKs(t *testing.T) {
	tests := []struct {
		name   string
		tweak  func(c *clusterv3.Cluster)
		detail string
	}{
		{"success rate ejection", func(c *clusterv3.Cluster) {
			c.OutlierDetection = &clusterv3.OutlierDetection{Consecutive_5Xx: wrapperspb.UInt32(1)}
		}, "outlier_detection.enforcing_success_rate: success rate ejection not supported yet by lateen-proxy: set it to 0"},
		{"failure percentage", func(c *clusterv3.Cluster) {
			c.OutlierDetection = &clusterv3.OutlierDetection{EnforcingSuccessRate: wrapperspb.UInt32(0), FailurePercentageThreshold: wrapperspb.UInt32(5)}
		}, "outlier_detection.failure_percentage_threshold: field not supported by lateen-proxy"},
		{"lb config of another policy", func(c *clusterv3.Cluster) {
			c.LbConfig = &clusterv3.Cluster_MaglevLbConfig_{MaglevLbConfig: &clusterv3.Cluster_MaglevLbConfig{}}
		}, "maglev_lb_config: only allowed with lb_policy MAGLEV"},
		{"maglev table not prime", func(c *clusterv3.Cluster) {
			c.LbPolicy = clusterv3.Cluster_MAGLEV
			c.LbConfig = &clusterv3.Cluster_MaglevLbConfig_{MaglevLbConfig: &clusterv3.Cluster_MaglevLbConfig{TableSize: wrapperspb.UInt64(1000)}}
		}, "maglev_lb_config.table_size: must be a prime below 5000011, got 1000"},
		{"murmur ring hash", func(c *clusterv3.Cluster) {
			c.LbPolicy = clusterv3.Cluster_RING_HASH
			c.LbConfig = &clusterv3.Cluster_RingHashLbConfig_{RingHashLbConfig: &clusterv3.Cluster_RingHashLbConfig{
				HashFunction: clusterv3.Cluster_RingHashLbConfig_MURMUR_HASH_2}}
		}, "ring_hash_lb_config.hash_function: MURMUR_HASH_2 not supported by lateen-proxy"},
		{"retry budget", func(c *clusterv3.Cluster) {
			c.CircuitBreakers = &clusterv3.CircuitBreakers{Thresholds: []*clusterv3.CircuitBreakers_Thresholds{{
				RetryBudget: &clusterv3.CircuitBreakers_Thresholds_RetryBudget{}}}}
		}, "circuit_breakers.thresholds[0].retry_budget: field not supported by lateen-proxy"},
		{"choice count", func(c *clusterv3.Cluster) {
			c.LbPolicy = clusterv3.Cluster_LEAST_REQUEST
			c.LbConfig = &clusterv3.Cluster_LeastRequestLbConfig_{LeastRequestLbConfig: &clusterv3.Cluster_LeastRequestLbConfig{
				ChoiceCount: wrapperspb.UInt32(1)}}
		}, "least_request_lb_config.choice_count: must be at least 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := proxytest.EDSCluster("c")
			tt.tweak(c)
			if _, err := decodeClusterPB(t, c); err == nil || err.Error() != tt.detail {
				t.Errorf("error %v, want %q", err, tt.detail)
			}
		})
	}
}
