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
	LBPolicy       string // envoy enum name, e.g. "LEAST_REQUEST"
	LB             LBConfig
	Protocol       UpstreamProtocol
	Pool           PoolSettings
	// Limits are the circuit breaker thresholds (priority DEFAULT), with
	// Envoy's defaults (1024 connections, pending and requests, 3 retries)
	// where unset.
	Limits Thresholds
	// TrackRemaining publishes circuit_breakers.default.remaining_* gauges.
	TrackRemaining bool
	// Outlier is outlier_detection, nil when the cluster has none.
	Outlier *OutlierDetection
	// OriginalDstUseHeader: the upstream of an ORIGINAL_DST cluster is the
	// request's authority instead of the connection's original destination.
	OriginalDstUseHeader  bool
	HealthyPanicThreshold float64 // percent; default 50
	// TLS is the transport_socket (nil: plaintext); SocketMatches, when
	// any, choose per endpoint first (see SocketFor).
	TLS           *UpstreamTLS
	SocketMatches []TransportSocketMatch
	// AutoSNI and AutoSANValidation (HttpProtocolOptions
	// upstream_http_protocol_options): TLS to HTTP upstreams sends the
	// request's host as SNI and verifies the server's certificate for it.
	AutoSNI           bool
	AutoSANValidation bool
	// Service is filter_metadata.istio.services[0] (nil: none).
	Service *ClusterService
}

// ClusterService is the service a cluster serves (Istio's cluster
// metadata), for telemetry's destination_service labels.
type ClusterService struct {
	Host      string // e.g. reviews.default.svc.cluster.local
	Name      string // e.g. reviews
	Namespace string
}

// PoolSettings shape a cluster's upstream connections.
type PoolSettings struct {
	IdleTimeout              time.Duration // 0: Envoy's default (1h)
	MaxRequestsPerConnection uint32        // 0: unlimited
	MaxConnectionDuration    time.Duration // 0: unlimited
	MaxConcurrentStreams     uint32        // HTTP/2 streams per connection, 0: unlimited
	KeepAlive                *TCPKeepalive // nil: no SO_KEEPALIVE settings
	SourceAddress            string        // upstream_bind_config.source_address ("": the OS picks)
}

// TCPKeepalive is upstream_connection_options.tcp_keepalive (zero fields:
// the OS defaults).
type TCPKeepalive struct {
	Probes   uint32
	Time     time.Duration
	Interval time.Duration
}

// Thresholds are circuit breaker thresholds (priority DEFAULT).
type Thresholds struct {
	MaxConnections     uint32
	MaxPendingRequests uint32
	MaxRequests        uint32
	MaxRetries         uint32
}

// LBConfig holds a cluster's load balancer settings.
type LBConfig struct {
	ChoiceCount       uint32   // LEAST_REQUEST choice_count; 0: 2
	ActiveRequestBias *float64 // LEAST_REQUEST active_request_bias; nil: 1.0
	SlowStart         *SlowStart
	RingMinSize       uint64 // RING_HASH; 0: 1024
	RingMaxSize       uint64 // RING_HASH; 0: 8M
	MaglevTableSize   uint64 // MAGLEV; 0: 65537
	// LocalityWeighted is common_lb_config.locality_weighted_lb_config:
	// localities are chosen by their load_balancing_weight.
	LocalityWeighted bool
}

// SlowStart is slow_start_config (ROUND_ROBIN, LEAST_REQUEST).
type SlowStart struct {
	Window           time.Duration
	Aggression       *float64 // nil: 1.0
	MinWeightPercent *float64 // nil: 10
}

// OutlierDetection is a decoded outlier_detection, with Envoy's defaults
// filled in. Only consecutive-error ejection exists (success-rate and
// failure-percentage ejection are NACKed).
type OutlierDetection struct {
	Consecutive5xx                         uint32
	EnforcingConsecutive5xx                uint32 // percent
	ConsecutiveGatewayFailure              uint32
	EnforcingConsecutiveGatewayFailure     uint32 // percent
	SplitExternalLocalOriginErrors         bool
	ConsecutiveLocalOriginFailure          uint32
	EnforcingConsecutiveLocalOriginFailure uint32 // percent
	Interval                               time.Duration
	BaseEjectionTime                       time.Duration
	MaxEjectionTime                        time.Duration
	MaxEjectionPercent                     uint32
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
		c.Protocol == o.Protocol && samePool(c.Pool, o.Pool) &&
		c.Limits == o.Limits && c.OriginalDstUseHeader == o.OriginalDstUseHeader &&
		c.AutoSNI == o.AutoSNI && c.AutoSANValidation == o.AutoSANValidation && sameSockets(c, o)
}

func samePool(a, b PoolSettings) bool {
	ka, kb := a.KeepAlive, b.KeepAlive
	a.KeepAlive, b.KeepAlive = nil, nil
	return a == b && (ka == kb || (ka != nil && kb != nil && *ka == *kb))
}
