package xdsclient

import (
	"fmt"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lateenmesh/lateen/internal/proxy/lb"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

const httpProtocolOptionsKey = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"

// unlimited is the threshold from which a circuit breaker limit counts as
// "no limit" (Istio's defaults are 2^32-1). Lower limits other than
// max_requests are enforced by the next issue's connection pool.
const unlimited = 1 << 30

func decodeCluster(_ *Decoders, a *anypb.Any) (string, any, error) {
	var pb clusterv3.Cluster
	if err := unpack(a, &pb); err != nil {
		return pb.GetName(), nil, err
	}
	c := &resource.Cluster{Name: pb.GetName(), LBPolicy: pb.GetLbPolicy().String(), HealthyPanicThreshold: 50}
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
		decodeDiscovery, decodeCommonLB, decodeCircuitBreakers, decodeProtocolOptions,
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
	if cl.GetLocalityWeightedLbConfig() != nil {
		return fieldErr("common_lb_config.locality_weighted_lb_config", "not supported yet by lateen-proxy")
	}
	if t := cl.GetHealthyPanicThreshold(); t != nil {
		c.HealthyPanicThreshold = t.GetValue()
	}
	return nil
}

func decodeCircuitBreakers(pb *clusterv3.Cluster, c *resource.Cluster) error {
	for i, t := range pb.GetCircuitBreakers().GetThresholds() {
		path := fmt.Sprintf("circuit_breakers.thresholds[%d]", i)
		if t.GetPriority() != corev3.RoutingPriority_DEFAULT {
			continue // HIGH priority routes are not used by Lateen
		}
		c.Limits = resource.Thresholds{
			MaxConnections:     t.GetMaxConnections().GetValue(),
			MaxPendingRequests: t.GetMaxPendingRequests().GetValue(),
			MaxRequests:        t.GetMaxRequests().GetValue(),
			MaxRetries:         t.GetMaxRetries().GetValue(),
		}
		for field, v := range map[string]*uint32Value{
			"max_connections":      {t.GetMaxConnections() != nil, c.Limits.MaxConnections},
			"max_pending_requests": {t.GetMaxPendingRequests() != nil, c.Limits.MaxPendingRequests},
		} {
			if v.set && v.v < unlimited {
				return fieldErr(path+"."+field, "limits below %d not supported yet by lateen-proxy", unlimited)
			}
		}
	}
	return nil
}

type uint32Value struct {
	set bool
	v   uint32
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
		switch {
		case po.GetExplicitHttpConfig().GetHttp2ProtocolOptions() != nil:
			c.Protocol = resource.UpstreamHTTP2
		case po.GetExplicitHttpConfig().GetHttpProtocolOptions() != nil:
			c.Protocol = resource.UpstreamHTTP1
		case po.GetUseDownstreamProtocolConfig() != nil:
			c.Protocol = resource.UpstreamDownstream
		case po.GetExplicitHttpConfig() != nil:
			return fieldErr(path+".explicit_http_config", "a protocol is required")
		}
		var err error
		if c.IdleTimeout, err = duration(po.GetCommonHttpProtocolOptions().GetIdleTimeout(), path+".common_http_protocol_options.idle_timeout"); err != nil {
			return err
		}
	}
	return nil
}
