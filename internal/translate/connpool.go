package translate

import (
	"math"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/lateenmesh/lateen/internal/registry"
)

const httpProtocolOptionsKey = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"

// defaultThresholds are Istio's circuit breaker thresholds when a
// DestinationRule sets none: no limits (2^32-1) and remaining_* gauges.
func defaultThresholds() *clusterv3.CircuitBreakers_Thresholds {
	unlimited := wrapperspb.UInt32(math.MaxUint32)
	return &clusterv3.CircuitBreakers_Thresholds{MaxConnections: unlimited, MaxPendingRequests: unlimited,
		MaxRequests: unlimited, MaxRetries: unlimited, TrackRemaining: true}
}

// applyConnectionPool applies connectionPool as Istio: circuit breaker
// thresholds (tcp.maxConnections → max_connections,
// http.http1MaxPendingRequests → max_pending_requests,
// http.http2MaxRequests → max_requests, http.maxRetries → max_retries;
// unset or 0 means no limit), tcp.connectTimeout (default: the mesh's),
// TCP keepalive (the mesh's, overridden field by field), and the common
// HTTP options: idle timeout (http.idleTimeout, else tcp.idleTimeout),
// maxRequestsPerConnection, tcp.maxConnectionDuration and, on HTTP/2,
// http.maxConcurrentStreams. It returns the HTTP protocol options, created
// when a common option needs them.
func (b *builder) applyConnectionPool(c *clusterv3.Cluster, pool *networking.ConnectionPoolSettings, opts *httpv3.HttpProtocolOptions) *httpv3.HttpProtocolOptions {
	t := defaultThresholds()
	c.ConnectTimeout = b.connectTimeout()
	var common corev3.HttpProtocolOptions
	if h := pool.GetHttp(); h != nil {
		setLimit(&t.MaxRequests, h.Http2MaxRequests)
		setLimit(&t.MaxPendingRequests, h.Http1MaxPendingRequests)
		setLimit(&t.MaxRetries, h.MaxRetries)
		common.IdleTimeout = h.IdleTimeout
		if h.MaxRequestsPerConnection > 0 {
			common.MaxRequestsPerConnection = wrapperspb.UInt32(uint32(h.MaxRequestsPerConnection))
		}
	}
	if tcp := pool.GetTcp(); tcp != nil {
		if tcp.ConnectTimeout != nil {
			c.ConnectTimeout = tcp.ConnectTimeout
		}
		setLimit(&t.MaxConnections, tcp.MaxConnections)
		common.MaxConnectionDuration = tcp.MaxConnectionDuration
		if common.IdleTimeout == nil {
			common.IdleTimeout = tcp.IdleTimeout
		}
	}
	applyTCPKeepalive(c, b.view.Mesh.GetTcpKeepalive(), pool.GetTcp().GetTcpKeepalive())
	c.CircuitBreakers = &clusterv3.CircuitBreakers{Thresholds: []*clusterv3.CircuitBreakers_Thresholds{t}}
	streams := uint32(max(pool.GetHttp().GetMaxConcurrentStreams(), 0))
	if common.IdleTimeout == nil && common.MaxRequestsPerConnection == nil && common.MaxConnectionDuration == nil && streams == 0 {
		return opts
	}
	if opts == nil {
		opts = &httpv3.HttpProtocolOptions{}
	}
	opts.CommonHttpProtocolOptions = &common
	if h2 := opts.GetExplicitHttpConfig().GetHttp2ProtocolOptions(); h2 != nil && streams > 0 {
		h2.MaxConcurrentStreams = wrapperspb.UInt32(streams)
	}
	return opts
}

func setLimit(dst **wrapperspb.UInt32Value, v int32) {
	if v > 0 {
		*dst = wrapperspb.UInt32(uint32(v))
	}
}

// applyTCPKeepalive sets SO_KEEPALIVE with the mesh's tcpKeepalive, then
// the DestinationRule's, field by field (unset fields: OS defaults).
func applyTCPKeepalive(c *clusterv3.Cluster, layers ...*networking.ConnectionPoolSettings_TCPSettings_TcpKeepalive) {
	for _, ka := range layers {
		if ka == nil {
			continue
		}
		if c.UpstreamConnectionOptions == nil {
			c.UpstreamConnectionOptions = &clusterv3.UpstreamConnectionOptions{TcpKeepalive: &corev3.TcpKeepalive{}}
		}
		out := c.UpstreamConnectionOptions.TcpKeepalive
		if ka.Probes > 0 {
			out.KeepaliveProbes = wrapperspb.UInt32(ka.Probes)
		}
		if ka.Time != nil {
			out.KeepaliveTime = wrapperspb.UInt32(uint32(ka.Time.Seconds))
		}
		if ka.Interval != nil {
			out.KeepaliveInterval = wrapperspb.UInt32(uint32(ka.Interval.Seconds))
		}
	}
}

// upstreamProtocol chooses a cluster's HTTP protocol as Istio: the
// downstream's with useClientProtocol; HTTP/2 (h2c) for HTTP2 and gRPC
// ports and when h2UpgradePolicy says UPGRADE (the DestinationRule's for
// any port, else the mesh's for HTTP ports); explicit HTTP/1.1 for other
// HTTP ports; nothing for TCP ports.
func upstreamProtocol(p registry.Protocol, h *networking.ConnectionPoolSettings_HTTPSettings, mc *meshv1alpha1.MeshConfig) *httpv3.HttpProtocolOptions {
	switch {
	case h.GetUseClientProtocol():
		return &httpv3.HttpProtocolOptions{UpstreamProtocolOptions: &httpv3.HttpProtocolOptions_UseDownstreamProtocolConfig{
			UseDownstreamProtocolConfig: &httpv3.HttpProtocolOptions_UseDownstreamHttpConfig{
				HttpProtocolOptions: &corev3.Http1ProtocolOptions{}, Http2ProtocolOptions: &corev3.Http2ProtocolOptions{}}}}
	case p.IsHTTP2() || h2Upgrade(p, h, mc):
		return &httpv3.HttpProtocolOptions{UpstreamProtocolOptions: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{
			ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_Http2ProtocolOptions{
				Http2ProtocolOptions: &corev3.Http2ProtocolOptions{}}}}}
	case p.IsHTTP():
		return &httpv3.HttpProtocolOptions{UpstreamProtocolOptions: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{
			ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_HttpProtocolOptions{
				HttpProtocolOptions: &corev3.Http1ProtocolOptions{}}}}}
	}
	return nil
}

func h2Upgrade(p registry.Protocol, h *networking.ConnectionPoolSettings_HTTPSettings, mc *meshv1alpha1.MeshConfig) bool {
	switch h.GetH2UpgradePolicy() {
	case networking.ConnectionPoolSettings_HTTPSettings_UPGRADE:
		return true
	case networking.ConnectionPoolSettings_HTTPSettings_DO_NOT_UPGRADE:
		return false
	}
	return p.IsHTTP() && mc.GetH2UpgradePolicy() == meshv1alpha1.MeshConfig_UPGRADE
}

func setProtocolOptions(c *clusterv3.Cluster, opts *httpv3.HttpProtocolOptions) {
	if opts != nil {
		c.TypedExtensionProtocolOptions = map[string]*anypb.Any{httpProtocolOptionsKey: mustAny(opts)}
	}
}

func (b *builder) connectTimeout() *durationpb.Duration {
	if d := b.view.Mesh.GetConnectTimeout(); d != nil {
		return d
	}
	return durationpb.New(10e9)
}
