package translate

import (
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
	networking "istio.io/api/networking/v1alpha3"
)

// applyOutlierDetection translates outlierDetection as Istio: success-rate
// ejection off; consecutive5xxErrors and consecutiveGatewayErrors with
// their enforcement at 100% (0 disables); interval, baseEjectionTime and
// maxEjectionPercent when set (Envoy's defaults otherwise: 10s, 30s, 10%);
// the local-origin split with consecutiveLocalOriginFailures; and
// minHealthPercent as the healthy panic threshold (0, i.e. no panic mode,
// when unset).
func applyOutlierDetection(c *clusterv3.Cluster, od *networking.OutlierDetection) {
	if od == nil {
		return
	}
	out := &clusterv3.OutlierDetection{EnforcingSuccessRate: wrapperspb.UInt32(0)}
	if e := od.GetConsecutive_5XxErrors(); e != nil {
		out.Consecutive_5Xx, out.EnforcingConsecutive_5Xx = wrapperspb.UInt32(e.GetValue()), enforcing(e.GetValue())
	}
	if e := od.GetConsecutiveGatewayErrors(); e != nil {
		out.ConsecutiveGatewayFailure, out.EnforcingConsecutiveGatewayFailure = wrapperspb.UInt32(e.GetValue()), enforcing(e.GetValue())
	}
	out.Interval, out.BaseEjectionTime = od.GetInterval(), od.GetBaseEjectionTime()
	if od.GetMaxEjectionPercent() > 0 {
		out.MaxEjectionPercent = wrapperspb.UInt32(uint32(od.GetMaxEjectionPercent()))
	}
	if od.GetSplitExternalLocalOriginErrors() {
		out.SplitExternalLocalOriginErrors = true
		if n := od.GetConsecutiveLocalOriginFailures().GetValue(); n > 0 {
			out.ConsecutiveLocalOriginFailure, out.EnforcingConsecutiveLocalOriginFailure = wrapperspb.UInt32(n), wrapperspb.UInt32(100)
		}
		out.EnforcingLocalOriginSuccessRate = wrapperspb.UInt32(0)
	}
	c.OutlierDetection = out
	if od.GetMinHealthPercent() >= 0 {
		commonLB(c).HealthyPanicThreshold = &typev3.Percent{Value: float64(od.GetMinHealthPercent())}
	}
}

func enforcing(threshold uint32) *wrapperspb.UInt32Value {
	if threshold > 0 {
		return wrapperspb.UInt32(100)
	}
	return wrapperspb.UInt32(0)
}

func commonLB(c *clusterv3.Cluster) *clusterv3.Cluster_CommonLbConfig {
	if c.CommonLbConfig == nil {
		c.CommonLbConfig = &clusterv3.Cluster_CommonLbConfig{}
	}
	return c.CommonLbConfig
}
