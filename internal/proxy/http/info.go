// Package http is the proxy's HTTP connection manager: an HTTP/1.1 and h2c
// server, route selection, the HTTP filter chain (registry keyed by
// typed_config type URL, router last) and the router that forwards to
// clusters.
package http

import (
	"context"
	nethttp "net/http"
	"strings"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/mtls"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/telemetry/peer"
)

// ResponseFlag is one of Envoy's %RESPONSE_FLAGS%.
type ResponseFlag uint32

// Response flags (Envoy's short names in String).
const (
	FlagNoRoute                    ResponseFlag = 1 << iota // NR
	FlagNoHealthyUpstream                                   // UH
	FlagUpstreamConnFailure                                 // UF
	FlagUpstreamConnTermination                             // UC
	FlagUpstreamReset                                       // UR
	FlagUpstreamTimeout                                     // UT
	FlagUpstreamOverflow                                    // UO
	FlagDownstreamTerminated                                // DC
	FlagNoClusterFound                                      // NC
	FlagDownstreamProtocolError                             // DPE
	FlagDelayInjected                                       // DI
	FlagFaultInjected                                       // FI
	FlagUpstreamRetryLimitExceeded                          // URX
	FlagDurationTimeout                                     // DT
)

// flagNames lists the flags in Envoy's %RESPONSE_FLAGS% order.
var flagNames = []struct {
	f    ResponseFlag
	name string
}{
	{FlagNoHealthyUpstream, "UH"}, {FlagUpstreamTimeout, "UT"}, {FlagUpstreamReset, "UR"},
	{FlagUpstreamConnFailure, "UF"}, {FlagUpstreamConnTermination, "UC"}, {FlagUpstreamOverflow, "UO"},
	{FlagNoRoute, "NR"}, {FlagDelayInjected, "DI"}, {FlagFaultInjected, "FI"},
	{FlagDownstreamTerminated, "DC"}, {FlagUpstreamRetryLimitExceeded, "URX"},
	{FlagDownstreamProtocolError, "DPE"}, {FlagDurationTimeout, "DT"}, {FlagNoClusterFound, "NC"},
}

// String renders flags as %RESPONSE_FLAGS% does ("-" when none).
func (f ResponseFlag) String() string {
	if f == 0 {
		return "-"
	}
	var parts []string
	for _, n := range flagNames {
		if f&n.f != 0 {
			parts = append(parts, n.name)
		}
	}
	return strings.Join(parts, ",")
}

// Info is the per-request stream info kept in the request context: what
// access logs and telemetry will read (%RESPONSE_FLAGS%, %UPSTREAM_HOST%,
// %UPSTREAM_CLUSTER%, duration, bytes). It is written by the goroutine
// serving the request only.
type Info struct {
	Start           time.Time
	Listener        string
	StatPrefix      string
	DownstreamLocal string
	DownstreamPeer  string
	RequestID       string
	Authority       string
	RouteName       string
	VirtualHost     string
	Cluster         string
	UpstreamHost    string
	Attempts        int
	Flags           ResponseFlag
	ResponseCode    int
	BytesReceived   int64
	BytesSent       int64
	Duration        time.Duration
	// GRPC reports a gRPC request (content-type application/grpc): its
	// local replies are gRPC trailers-only responses.
	GRPC bool
	// Internal reports an internal request (Envoy's rule: the connection
	// manager uses the remote address and it is a private or loopback
	// one): x-envoy-* control headers are honoured only then.
	Internal bool
	// Peer is the downstream TLS peer (nil: plaintext): principal,
	// namespace, certificates, SNI, ALPN.
	Peer *mtls.Peer
	// UpstreamPeer is the upstream TLS peer of the last attempt (nil:
	// plaintext, or no connection): the server's identity, and in Local
	// the URI SAN the proxy presented to it.
	UpstreamPeer *mtls.Peer
	// UpstreamTransportFailureReason is why the upstream TLS handshake
	// failed (Envoy's %UPSTREAM_TRANSPORT_FAILURE_REASON%).
	UpstreamTransportFailureReason string
	// DownstreamWorkload and UpstreamWorkload are the peers found by
	// metadata exchange (nil: unknown), set by istio.metadata_exchange.
	DownstreamWorkload, UpstreamWorkload *peer.Workload
	// ResponseHeader is the response's header map once written (trailers
	// join it when the response completes); nil before.
	ResponseHeader nethttp.Header
	route          *route
}

type infoKey struct{}

// InfoFrom returns the request's Info (nil outside the connection manager).
func InfoFrom(ctx context.Context) *Info {
	i, _ := ctx.Value(infoKey{}).(*Info)
	return i
}

func withInfo(ctx context.Context, i *Info) context.Context {
	return context.WithValue(ctx, infoKey{}, i)
}

// Route returns the selected route (nil before route selection or when no
// route matched). Filters read their per-route config from
// Route().PerFilterConfig[filterName].
func (i *Info) Route() *resource.Route {
	if i.route == nil {
		return nil
	}
	return i.route.cfg
}
