// Package resource holds the slim, immutable structs the proxy decodes xDS
// protos into. Nothing outside xdsclient sees an Envoy proto; everything
// downstream (runtime, http, tcp, cluster) works on these values.
package resource

import "time"

// Listener is a decoded envoy.config.listener.v3.Listener.
type Listener struct {
	Name             string
	Address          string // host as sent (may be 0.0.0.0 or ::)
	Port             uint32
	TrafficDirection string // "", "INBOUND", "OUTBOUND"
	FilterChains     []FilterChain
	DefaultChain     *FilterChain
	// TLSInspector is the envoy.filters.listener.tls_inspector listener
	// filter: connections are sniffed for a TLS ClientHello (transport
	// protocol "tls", SNI, ALPN) before a filter chain is chosen. Without
	// it every connection is "raw_buffer".
	TLSInspector bool
	// FiltersTimeout bounds the sniffing (0: none); on timeout the
	// connection is closed, or treated as raw_buffer with
	// ContinueOnFiltersTimeout.
	FiltersTimeout           time.Duration
	ContinueOnFiltersTimeout bool
	// OriginalDst is the envoy.filters.listener.original_dst listener
	// filter: a connection iptables redirected gets its original
	// destination as local address before a filter chain is chosen.
	OriginalDst bool
	// UseOriginalDst (use_original_dst) restores the original destination
	// too and hands the connection to the listener for that address (the
	// exact one, else 0.0.0.0 or :: with its port), if any.
	UseOriginalDst bool
	// NoBind is bind_to_port false: no socket; the listener only serves
	// connections a use_original_dst listener hands over.
	NoBind bool
}

// FilterChain is one filter chain of a listener.
type FilterChain struct {
	Name  string
	Match FilterChainMatch
	// Exactly one of HTTP or TCP is set: Lateen's network filter chains end in
	// either an HTTP connection manager or a TCP proxy.
	HTTP *HTTPConnectionManager
	TCP  *TCPProxy
	// NetworkFilters are the filters before the terminal one (metadata
	// exchange, stats), decoded by their registered decoders.
	NetworkFilters []NetworkFilter
	// TLS is the chain's transport socket (DownstreamTlsContext): the
	// connection is a TLS server handshake before the network filter.
	TLS *DownstreamTLS
}

// FilterChainMatch selects a filter chain for a connection.
type FilterChainMatch struct {
	DestinationPort      uint32 // 0: any
	TransportProtocol    string // "", "raw_buffer", "tls"
	ApplicationProtocols []string
	ServerNames          []string
}

// HTTPConnectionManager is a decoded HttpConnectionManager network filter.
type HTTPConnectionManager struct {
	StatPrefix string
	// Exactly one of RDSName or RouteConfig is set.
	RDSName             string
	RouteConfig         *RouteConfig
	Filters             []HTTPFilter // router last
	GenerateRequestID   bool
	UseRemoteAddress    bool
	StreamIdleTimeout   time.Duration
	RequestTimeout      time.Duration
	ServerName          string
	NormalizePath       bool
	MergeSlashes        bool
	ForwardClientCert   string // envoy enum name, e.g. "SANITIZE"
	SetCurrentCertParts []string
	UpgradeTypes        []UpgradeConfig
	// AccessLogs log every request (access_log); Tracing (nil: off)
	// samples requests and reports their spans.
	AccessLogs []AccessLog
	Tracing    *Tracing
}

// NetworkFilter is one network filter before a chain's terminal filter.
type NetworkFilter struct {
	Name    string
	TypeURL string // the type URL inside a TypedStruct
	Config  any    // decoder specific
}

// UpgradeConfig enables (or disables) an Upgrade type such as "websocket".
type UpgradeConfig struct {
	Type    string // lower case
	Enabled bool
}

// HTTPFilter is one entry of an HCM's http_filters, decoded by the decoder
// registered for its typed_config type URL.
type HTTPFilter struct {
	Name    string
	TypeURL string
	Config  any // decoder specific, e.g. *RouterConfig
}

// RouterConfig is the (empty) config of envoy.filters.http.router.
type RouterConfig struct{}

// TCPProxy is a decoded TcpProxy network filter.
type TCPProxy struct {
	StatPrefix       string
	Cluster          string
	WeightedClusters []WeightedCluster
	IdleTimeout      time.Duration
	IdleTimeoutSet   bool
	AccessLogs       []AccessLog // one line per connection, when it closes
}

// Clusters returns the cluster names a TCP proxy references.
func (t *TCPProxy) Clusters() []string {
	if t.Cluster != "" {
		return []string{t.Cluster}
	}
	names := make([]string, 0, len(t.WeightedClusters))
	for _, wc := range t.WeightedClusters {
		names = append(names, wc.Name)
	}
	return names
}
