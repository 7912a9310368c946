package resource

import "time"

// Istio's telemetry filters, whose configs travel in a TypedStruct under
// these type URLs (HTTP filters and network filters alike).
const (
	StatsTypeURL            = "type.googleapis.com/stats.PluginConfig"
	PeerMetadataTypeURL     = "type.googleapis.com/io.istio.http.peer_metadata.Config"
	MetadataExchangeTypeURL = "type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange"
)

// StatsConfig is a decoded istio.stats config (Istio's stats.PluginConfig).
type StatsConfig struct {
	// DisableHostHeaderFallback: destination_service is never taken from
	// the Host header (Istio sets it inbound and on gateways).
	DisableHostHeaderFallback bool
	// TCPReportingDuration is the interval between reports of open TCP
	// connections (0: the default, 5s).
	TCPReportingDuration time.Duration
	Metrics              []StatsMetric
}

// StatsMetric is one metric override, applied in order: Name selects a
// standard metric (all when empty); Drop stops reporting it; TagsToRemove
// drops standard tags; Dimensions set tags (standard or new) to the value
// of a CEL expression.
type StatsMetric struct {
	Name         string
	Drop         bool
	TagsToRemove []string
	Dimensions   map[string]string
}

// PeerMetadataConfig is a decoded io.istio.http.peer_metadata.Config with
// the istio_headers method: which directions discover the peer in, and
// propagate this proxy's metadata with, x-envoy-peer-metadata headers.
type PeerMetadataConfig struct {
	DownstreamDiscovery   bool // read the client's from requests (inbound)
	DownstreamPropagation bool // send ours in responses (inbound)
	UpstreamDiscovery     bool // read the server's from responses (outbound)
	UpstreamPropagation   bool // send ours in requests (outbound)
}

// MetadataExchange is a decoded
// envoy.tcp.metadataexchange.config.MetadataExchange network filter.
type MetadataExchange struct {
	Protocol string // the ALPN that enables the exchange
}
