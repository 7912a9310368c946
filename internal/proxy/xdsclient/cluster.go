package xdsclient

import (
	"fmt"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/lateenmesh/lateen/internal/proxy/lb"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

const httpProtocolOptionsKey = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"

// Envoy's circuit breaker defaults (priority DEFAULT).
var defaultThresholds = resource.Thresholds{MaxConnections: 1024, MaxPendingRequests: 1024, MaxRequests: 1024, MaxRetries: 3}

func decodeCluster(_ *Decoders, a *anypb.Any) (string, any, error) {
	var pb clusterv3.Cluster
	if err := unpack(a, &pb); err != nil {
		return pb.GetName(), nil, err
	}
	c := &resource.Cluster{Name: pb.GetName(), LBPolicy: pb.GetLbPolicy().String(), HealthyPanicThreshold: 50, Limits: defaultThresholds}
	if c.Name == "" {
		return "", nil, fieldErr("name", "empty")
	}
	var err error
	if c.ConnectTimeout, err = duration(pb.GetConnectTimeout(), "connect_timeout"); err != nil {
		return c.Name, nil, err
	}
	if pb.GetConnectTimeout() == nil {
		c.ConnectTimeout = 5e9 // Envoy's default, 5s
	}
	for _, step := range []func(*clusterv3.Cluster, *resource.Cluster) error{
		decodeDiscovery, decodeCommonLB, decodeLBConfig, decodeCircuitBreakers, decodeProtocolOptions,
		decodeOutlierDetection, decodeConnectionOptions, decodeTransportSockets, decodeClusterService,
		decodeBindConfig,
	} {
		if err := step(&pb, c); err != nil {
			return c.Name, nil, err
		}
	}
	if c.Type != resource.ClusterOriginalDst && !lb.Supported(c.LBPolicy) {
		return c.Name, nil, fieldErr("lb_policy", "%s not supported by lateen-proxy", c.LBPolicy)
	}
	return c.Name, c, nil
}

func decodeDiscovery(pb *clusterv3.Cluster, c *resource.Cluster) error {
	switch pb.GetType() {
	case clusterv3.Cluster_EDS:
		c.Type = resource.ClusterEDS
		if pb.GetEdsClusterConfig().GetEdsConfig().GetAds() == nil {
			return fieldErr("eds_cluster_config.eds_config", "only ads is supported")
		}
		c.EDSServiceName = pb.GetEdsClusterConfig().GetServiceName()
	case clusterv3.Cluster_STATIC:
		c.Type = resource.ClusterStatic
		la, err := loadAssignment(pb.GetLoadAssignment())
		if err != nil {
			return under("load_assignment", err)
		}
		c.LoadAssignment = la
	case clusterv3.Cluster_ORIGINAL_DST:
		c.Type = resource.ClusterOriginalDst
		if pb.GetLbPolicy() != clusterv3.Cluster_CLUSTER_PROVIDED {
			return fieldErr("lb_policy", "ORIGINAL_DST clusters need CLUSTER_PROVIDED, got %s", pb.GetLbPolicy())
		}
		c.OriginalDstUseHeader = pb.GetOriginalDstLbConfig().GetUseHttpHeader()
		return nil
	default:
		return fieldErr("type", "discovery type %s not supported by lateen-proxy", pb.GetType())
	}
	if pb.GetType() != clusterv3.Cluster_STATIC && pb.GetLoadAssignment() != nil {
		return fieldErr("load_assignment", "only allowed for STATIC clusters")
	}
	if pb.GetOriginalDstLbConfig() != nil {
		return fieldErr("original_dst_lb_config", "only allowed for ORIGINAL_DST clusters")
	}
	return nil
}

func decodeCommonLB(pb *clusterv3.Cluster, c *resource.Cluster) error {
	cl := pb.GetCommonLbConfig()
	if cl == nil {
		return nil
	}
	c.LB.LocalityWeighted = cl.GetLocalityWeightedLbConfig() != nil
	if t := cl.GetHealthyPanicThreshold(); t != nil {
		if t.GetValue() < 0 || t.GetValue() > 100 {
			return fieldErr("common_lb_config.healthy_panic_threshold", "must be between 0 and 100")
		}
		c.HealthyPanicThreshold = t.GetValue()
	}
	return nil
}

// Envoy's limits on lb_config values.
const (
	maxRingSize        = 8 * 1024 * 1024
	maxMaglevTableSize = 5000011
)

// decodeLBConfig decodes the lb_config of the cluster's lb_policy.
func decodeLBConfig(pb *clusterv3.Cluster, c *resource.Cluster) error {
	policy := pb.GetLbPolicy()
	switch cfg := pb.GetLbConfig().(type) {
	case nil, *clusterv3.Cluster_OriginalDstLbConfig_:
		return nil
	case *clusterv3.Cluster_RoundRobinLbConfig_:
		if policy != clusterv3.Cluster_ROUND_ROBIN {
			return fieldErr("round_robin_lb_config", "only allowed with lb_policy ROUND_ROBIN")
		}
		ss, err := decodeSlowStart(cfg.RoundRobinLbConfig.GetSlowStartConfig(), "round_robin_lb_config.slow_start_config")
		c.LB.SlowStart = ss
		return err
	case *clusterv3.Cluster_LeastRequestLbConfig_:
		if policy != clusterv3.Cluster_LEAST_REQUEST {
			return fieldErr("least_request_lb_config", "only allowed with lb_policy LEAST_REQUEST")
		}
		return decodeLeastRequest(cfg.LeastRequestLbConfig, c)
	case *clusterv3.Cluster_RingHashLbConfig_:
		if policy != clusterv3.Cluster_RING_HASH {
			return fieldErr("ring_hash_lb_config", "only allowed with lb_policy RING_HASH")
		}
		return decodeRingHash(cfg.RingHashLbConfig, c)
	case *clusterv3.Cluster_MaglevLbConfig_:
		if policy != clusterv3.Cluster_MAGLEV {
			return fieldErr("maglev_lb_config", "only allowed with lb_policy MAGLEV")
		}
		if n := cfg.MaglevLbConfig.GetTableSize(); n != nil {
			if !isPrime(n.GetValue()) || n.GetValue() >= maxMaglevTableSize {
				return fieldErr("maglev_lb_config.table_size", "must be a prime below %d, got %d", maxMaglevTableSize, n.GetValue())
			}
			c.LB.MaglevTableSize = n.GetValue()
		}
		return nil
	default:
		return fieldErr("lb_config", "%T not supported by lateen-proxy", cfg)
	}
}

func decodeLeastRequest(pb *clusterv3.Cluster_LeastRequestLbConfig, c *resource.Cluster) error {
	const path = "least_request_lb_config"
	if n := pb.GetChoiceCount(); n != nil {
		if n.GetValue() < 2 {
			return fieldErr(path+".choice_count", "must be at least 2")
		}
		c.LB.ChoiceCount = n.GetValue()
	}
	if b := pb.GetActiveRequestBias(); b != nil {
		if b.GetDefaultValue() < 0 {
			return fieldErr(path+".active_request_bias", "must not be negative")
		}
		v := b.GetDefaultValue()
		c.LB.ActiveRequestBias = &v
	}
	ss, err := decodeSlowStart(pb.GetSlowStartConfig(), path+".slow_start_config")
	c.LB.SlowStart = ss
	return err
}

func decodeRingHash(pb *clusterv3.Cluster_RingHashLbConfig, c *resource.Cluster) error {
	const path = "ring_hash_lb_config"
	if pb.GetHashFunction() != clusterv3.Cluster_RingHashLbConfig_XX_HASH {
		return fieldErr(path+".hash_function", "%s not supported by lateen-proxy", pb.GetHashFunction())
	}
	c.LB.RingMinSize = pb.GetMinimumRingSize().GetValue()
	c.LB.RingMaxSize = pb.GetMaximumRingSize().GetValue()
	switch {
	case c.LB.RingMinSize > maxRingSize:
		return fieldErr(path+".minimum_ring_size", "must be at most %d", maxRingSize)
	case c.LB.RingMaxSize > maxRingSize:
		return fieldErr(path+".maximum_ring_size", "must be at most %d", maxRingSize)
	case c.LB.RingMaxSize > 0 && c.LB.RingMinSize > c.LB.RingMaxSize:
		return fieldErr(path+".minimum_ring_size", "greater than maximum_ring_size")
	}
	return nil
}

func decodeSlowStart(pb *clusterv3.Cluster_SlowStartConfig, path string) (*resource.SlowStart, error) {
	if pb == nil {
		return nil, nil
	}
	w, err := duration(pb.GetSlowStartWindow(), path+".slow_start_window")
	if err != nil {
		return nil, err
	}
	ss := &resource.SlowStart{Window: w}
	if a := pb.GetAggression(); a != nil {
		if a.GetDefaultValue() <= 0 {
			return nil, fieldErr(path+".aggression", "must be positive")
		}
		v := a.GetDefaultValue()
		ss.Aggression = &v
	}
	if m := pb.GetMinWeightPercent(); m != nil {
		if m.GetValue() < 0 || m.GetValue() > 100 {
			return nil, fieldErr(path+".min_weight_percent", "must be between 0 and 100")
		}
		v := m.GetValue()
		ss.MinWeightPercent = &v
	}
	return ss, nil
}

func isPrime(n uint64) bool {
	if n < 2 {
		return false
	}
	for f := uint64(2); f*f <= n; f++ {
		if n%f == 0 {
			return false
		}
	}
	return true
}

func decodeCircuitBreakers(pb *clusterv3.Cluster, c *resource.Cluster) error {
	for _, t := range pb.GetCircuitBreakers().GetThresholds() {
		if t.GetPriority() != corev3.RoutingPriority_DEFAULT {
			continue // HIGH priority routes are not used by Lateen
		}
		c.Limits = resource.Thresholds{
			MaxConnections:     valueOr(t.GetMaxConnections(), defaultThresholds.MaxConnections),
			MaxPendingRequests: valueOr(t.GetMaxPendingRequests(), defaultThresholds.MaxPendingRequests),
			MaxRequests:        valueOr(t.GetMaxRequests(), defaultThresholds.MaxRequests),
			MaxRetries:         valueOr(t.GetMaxRetries(), defaultThresholds.MaxRetries),
		}
		c.TrackRemaining = t.GetTrackRemaining()
	}
	return nil
}

func valueOr(v *wrapperspb.UInt32Value, def uint32) uint32 {
	if v == nil {
		return def
	}
	return v.GetValue()
}

func decodeProtocolOptions(pb *clusterv3.Cluster, c *resource.Cluster) error {
	for key, a := range pb.GetTypedExtensionProtocolOptions() {
		path := fmt.Sprintf("typed_extension_protocol_options[%s]", key)
		if key != httpProtocolOptionsKey || a.GetTypeUrl() != "type.googleapis.com/"+httpProtocolOptionsKey {
			return fieldErr(path, "protocol options %q (%s) not supported by lateen-proxy", key, a.GetTypeUrl())
		}
		var po httpv3.HttpProtocolOptions
		if err := unpack(a, &po); err != nil {
			return under(path, err)
		}
		var h2 *corev3.Http2ProtocolOptions
		switch {
		case po.GetExplicitHttpConfig().GetHttp2ProtocolOptions() != nil:
			c.Protocol, h2 = resource.UpstreamHTTP2, po.GetExplicitHttpConfig().GetHttp2ProtocolOptions()
		case po.GetExplicitHttpConfig().GetHttpProtocolOptions() != nil:
			c.Protocol = resource.UpstreamHTTP1
		case po.GetUseDownstreamProtocolConfig() != nil:
			c.Protocol, h2 = resource.UpstreamDownstream, po.GetUseDownstreamProtocolConfig().GetHttp2ProtocolOptions()
		case po.GetExplicitHttpConfig() != nil:
			return fieldErr(path+".explicit_http_config", "a protocol is required")
		}
		c.Pool.MaxConcurrentStreams = h2.GetMaxConcurrentStreams().GetValue()
		c.AutoSNI = po.GetUpstreamHttpProtocolOptions().GetAutoSni()
		c.AutoSANValidation = po.GetUpstreamHttpProtocolOptions().GetAutoSanValidation()
		if err := decodeCommonHTTP(po.GetCommonHttpProtocolOptions(), path+".common_http_protocol_options", &c.Pool); err != nil {
			return err
		}
	}
	return nil
}

func decodeCommonHTTP(pb *corev3.HttpProtocolOptions, path string, p *resource.PoolSettings) error {
	var err error
	if p.IdleTimeout, err = duration(pb.GetIdleTimeout(), path+".idle_timeout"); err != nil {
		return err
	}
	if p.MaxConnectionDuration, err = duration(pb.GetMaxConnectionDuration(), path+".max_connection_duration"); err != nil {
		return err
	}
	p.MaxRequestsPerConnection = pb.GetMaxRequestsPerConnection().GetValue()
	return nil
}

func decodeConnectionOptions(pb *clusterv3.Cluster, c *resource.Cluster) error {
	ka := pb.GetUpstreamConnectionOptions().GetTcpKeepalive()
	if ka == nil {
		return nil
	}
	c.Pool.KeepAlive = &resource.TCPKeepalive{
		Probes:   ka.GetKeepaliveProbes().GetValue(),
		Time:     time.Duration(ka.GetKeepaliveTime().GetValue()) * time.Second,
		Interval: time.Duration(ka.GetKeepaliveInterval().GetValue()) * time.Second,
	}
	return nil
}

// Envoy's outlier_detection defaults.
var defaultOutlier = resource.OutlierDetection{
	Consecutive5xx: 5, EnforcingConsecutive5xx: 100,
	ConsecutiveGatewayFailure: 5, EnforcingConsecutiveGatewayFailure: 0,
	ConsecutiveLocalOriginFailure: 5, EnforcingConsecutiveLocalOriginFailure: 100,
	Interval: 10 * time.Second, BaseEjectionTime: 30 * time.Second, MaxEjectionTime: 300 * time.Second,
	MaxEjectionPercent: 10,
}

// decodeOutlierDetection decodes consecutive-error outlier detection.
// Success-rate ejection (on by default in Envoy) is not implemented, so
// enforcing_success_rate (and enforcing_local_origin_success_rate with the
// local/external split) must be 0, as Istio sets them.
func decodeOutlierDetection(pb *clusterv3.Cluster, c *resource.Cluster) error {
	od := pb.GetOutlierDetection()
	if od == nil {
		return nil
	}
	const path = "outlier_detection"
	if od.GetEnforcingSuccessRate() == nil || od.GetEnforcingSuccessRate().GetValue() != 0 {
		return fieldErr(path+".enforcing_success_rate", "success rate ejection not supported yet by lateen-proxy: set it to 0")
	}
	if od.GetSplitExternalLocalOriginErrors() && (od.GetEnforcingLocalOriginSuccessRate() == nil || od.GetEnforcingLocalOriginSuccessRate().GetValue() != 0) {
		return fieldErr(path+".enforcing_local_origin_success_rate", "success rate ejection not supported yet by lateen-proxy: set it to 0")
	}
	o := defaultOutlier
	o.SplitExternalLocalOriginErrors = od.GetSplitExternalLocalOriginErrors()
	for _, f := range []struct {
		name    string
		v       *wrapperspb.UInt32Value
		dst     *uint32
		percent bool
	}{
		{"consecutive_5xx", od.GetConsecutive_5Xx(), &o.Consecutive5xx, false},
		{"enforcing_consecutive_5xx", od.GetEnforcingConsecutive_5Xx(), &o.EnforcingConsecutive5xx, true},
		{"consecutive_gateway_failure", od.GetConsecutiveGatewayFailure(), &o.ConsecutiveGatewayFailure, false},
		{"enforcing_consecutive_gateway_failure", od.GetEnforcingConsecutiveGatewayFailure(), &o.EnforcingConsecutiveGatewayFailure, true},
		{"consecutive_local_origin_failure", od.GetConsecutiveLocalOriginFailure(), &o.ConsecutiveLocalOriginFailure, false},
		{"enforcing_consecutive_local_origin_failure", od.GetEnforcingConsecutiveLocalOriginFailure(), &o.EnforcingConsecutiveLocalOriginFailure, true},
		{"max_ejection_percent", od.GetMaxEjectionPercent(), &o.MaxEjectionPercent, true},
	} {
		if f.v == nil {
			continue
		}
		if f.percent && f.v.GetValue() > 100 {
			return fieldErr(path+"."+f.name, "must be at most 100")
		}
		*f.dst = f.v.GetValue()
	}
	for _, d := range []struct {
		name string
		v    *durationpb.Duration
		dst  *time.Duration
	}{
		{"interval", od.GetInterval(), &o.Interval},
		{"base_ejection_time", od.GetBaseEjectionTime(), &o.BaseEjectionTime},
		{"max_ejection_time", od.GetMaxEjectionTime(), &o.MaxEjectionTime},
	} {
		if d.v == nil {
			continue
		}
		v, err := duration(d.v, path+"."+d.name)
		if err != nil {
			return err
		}
		if v <= 0 {
			return fieldErr(path+"."+d.name, "must be positive")
		}
		*d.dst = v
	}
	if od.GetMaxEjectionTime() == nil {
		o.MaxEjectionTime = max(o.MaxEjectionTime, o.BaseEjectionTime) // Envoy: the default or the base, whichever is larger
	}
	c.Outlier = &o
	return nil
}

// socketMatchKey is the endpoint metadata that transport_socket_matches
// select on (Envoy's envoy.transport_socket_match).
const socketMatchKey = "envoy.transport_socket_match"

// decodeTransportSockets decodes transport_socket and
// transport_socket_matches (auto mTLS: TLS to endpoints with a sidecar,
// plaintext to the others).
func decodeTransportSockets(pb *clusterv3.Cluster, c *resource.Cluster) error {
	if ts := pb.GetTransportSocket(); ts != nil {
		t, err := decodeUpstreamSocket(ts)
		if err != nil {
			return under("transport_socket", err)
		}
		c.TLS = t
	}
	for i, m := range pb.GetTransportSocketMatches() {
		path := fmt.Sprintf("transport_socket_matches[%d]", i)
		tsm := resource.TransportSocketMatch{Name: m.GetName(), Match: map[string]string{}}
		for k, v := range m.GetMatch().GetFields() {
			sv, ok := v.GetKind().(*structpb.Value_StringValue)
			if !ok {
				return fieldErr(path+".match."+k, "only string values are supported by lateen-proxy")
			}
			tsm.Match[k] = sv.StringValue
		}
		if m.GetTransportSocket() == nil {
			return fieldErr(path+".transport_socket", "required")
		}
		t, err := decodeUpstreamSocket(m.GetTransportSocket())
		if err != nil {
			return under(path+".transport_socket", err)
		}
		tsm.TLS = t
		c.SocketMatches = append(c.SocketMatches, tsm)
	}
	return nil
}

// decodeClusterService reads the service a cluster serves from Istio's
// metadata (filter_metadata.istio.services[0]: host, name, namespace),
// which telemetry reports as destination_service*.
func decodeClusterService(pb *clusterv3.Cluster, c *resource.Cluster) error {
	svcs := pb.GetMetadata().GetFilterMetadata()["istio"].GetFields()["services"].GetListValue().GetValues()
	if len(svcs) == 0 {
		return nil
	}
	f := svcs[0].GetStructValue().GetFields()
	c.Service = &resource.ClusterService{Host: f["host"].GetStringValue(), Name: f["name"].GetStringValue(),
		Namespace: f["namespace"].GetStringValue()}
	return nil
}
