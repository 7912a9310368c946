package resource

import "time"

// DiscoveryType is a cluster's discovery type.
type DiscoveryType string

// Supported discovery types.
const (
	ClusterEDS         DiscoveryType = "EDS"
	ClusterStatic      DiscoveryType = "STATIC"
	ClusterOriginalDst DiscoveryType = "ORIGINAL_DST"
)

// UpstreamProtocol selects the upstream HTTP protocol.
type UpstreamProtocol int

// Upstream protocols.
const (
	UpstreamHTTP1      UpstreamProtocol = iota // default
	UpstreamHTTP2                              // h2c prior knowledge
	UpstreamDownstream                         // same as the downstream request
)

// Cluster is a decoded envoy.config.cluster.v3.Cluster.
type Cluster struct {
	Name           string
	Type           DiscoveryType
	EDSServiceName string          // EDS: name of the ClusterLoadAssignment (cluster name when empty)
	LoadAssignment *LoadAssignment // STATIC
	ConnectTimeout time.Duration
	LBPolicy       string // envoy enum name, e.g. "ROUND_ROBIN"
	Protocol       UpstreamProtocol
	IdleTimeout    time.Duration // upstream connection idle timeout, 0: default
	Limits         Thresholds
	// OriginalDstUseHeader: the upstream of an ORIGINAL_DST cluster is the
	// request's authority instead of the connection's original destination.
	OriginalDstUseHeader  bool
	HealthyPanicThreshold float64 // percent; default 50
}

// Thresholds are circuit breaker thresholds (priority DEFAULT). Zero: unset.
type Thresholds struct {
	MaxConnections     uint32
	MaxPendingRequests uint32
	MaxRequests        uint32
	MaxRetries         uint32
}

// ServiceName is the EDS resource name of an EDS cluster.
func (c *Cluster) ServiceName() string {
	if c.EDSServiceName != "" {
		return c.EDSServiceName
	}
	return c.Name
}

// SameSettings reports whether two clusters can share a connection pool.
func (c *Cluster) SameSettings(o *Cluster) bool {
	return c.Type == o.Type && c.ConnectTimeout == o.ConnectTimeout &&
		c.Protocol == o.Protocol && c.IdleTimeout == o.IdleTimeout &&
		c.Limits == o.Limits && c.OriginalDstUseHeader == o.OriginalDstUseHeader
}
