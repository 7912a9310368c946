package xdsclient

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"
	mxpb "istio.io/api/envoy/config/filter/network/metadata_exchange"
	statspb "istio.io/api/envoy/extensions/stats"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// registerIstioFilters registers Istio's telemetry filters: istio.stats
// (HTTP and network filter), istio.metadata_exchange (HTTP filter
// io.istio.http.peer_metadata.Config, network filter MetadataExchange).
func registerIstioFilters(d *Decoders) {
	d.RegisterHTTPFilter(resource.StatsTypeURL, func(a *anypb.Any) (any, error) { return decodeStats(a) })
	d.RegisterNetworkFilter(resource.StatsTypeURL, func(_ *Decoders, a *anypb.Any, fc *resource.FilterChain) error {
		cfg, err := decodeStats(a)
		if err != nil {
			return err
		}
		fc.NetworkFilters = append(fc.NetworkFilters, resource.NetworkFilter{TypeURL: resource.StatsTypeURL, Config: cfg})
		return nil
	})
	d.RegisterHTTPFilter(resource.PeerMetadataTypeURL, decodePeerMetadata)
	d.RegisterNetworkFilter(resource.MetadataExchangeTypeURL, func(_ *Decoders, a *anypb.Any, fc *resource.FilterChain) error {
		cfg, err := decodeMetadataExchange(a)
		if err != nil {
			return err
		}
		fc.NetworkFilters = append(fc.NetworkFilters, resource.NetworkFilter{TypeURL: resource.MetadataExchangeTypeURL, Config: cfg})
		return nil
	})
}

// typedStructValue unmarshals a TypedStruct of typeURL into m (unknown
// fields are errors).
func typedStructValue(a *anypb.Any, typeURL string, m proto.Message) error {
	got, st, err := UnpackTypedStruct(a)
	if err != nil {
		return err
	}
	if got != typeURL {
		return fieldErr("type_url", "%q, want %q", got, typeURL)
	}
	js, err := protojson.Marshal(st)
	if err != nil {
		return fieldErr("value", "%v", err)
	}
	if err := protojson.Unmarshal(js, m); err != nil {
		return fieldErr("value", "%v", err)
	}
	return nil
}

// decodeStats decodes Istio's stats.PluginConfig. What lateen-proxy does
// not implement is NACKed: custom metric definitions, the waypoint
// reporter, scope rotation, override matches and the deprecated fields.
func decodeStats(a *anypb.Any) (*resource.StatsConfig, error) {
	var pb statspb.PluginConfig
	if err := typedStructValue(a, resource.StatsTypeURL, &pb); err != nil {
		return nil, err
	}
	switch {
	case pb.GetDebug() || pb.GetMaxPeerCacheSize() != 0 || pb.GetStatPrefix() != "" ||
		pb.GetFieldSeparator() != "" || pb.GetValueSeparator() != "":
		return nil, fieldErr("value", "deprecated fields (debug, max_peer_cache_size, stat_prefix, field_separator, value_separator) are not supported by lateen-proxy")
	case len(pb.GetDefinitions()) > 0:
		return nil, fieldErr("value.definitions", "custom metrics are not supported by lateen-proxy")
	case pb.GetReporter() != statspb.Reporter_UNSPECIFIED:
		return nil, fieldErr("value.reporter", "%s is not supported by lateen-proxy", pb.GetReporter())
	case pb.GetRotationInterval() != nil || pb.GetGracefulDeletionInterval() != nil:
		return nil, fieldErr("value", "rotation_interval and graceful_deletion_interval are not supported by lateen-proxy")
	}
	cfg := &resource.StatsConfig{DisableHostHeaderFallback: pb.GetDisableHostHeaderFallback()}
	if d := pb.GetTcpReportingDuration(); d != nil {
		if cfg.TCPReportingDuration = d.AsDuration(); cfg.TCPReportingDuration <= 0 {
			return nil, fieldErr("value.tcp_reporting_duration", "must be positive")
		}
	}
	for i, m := range pb.GetMetrics() {
		if m.GetMatch() != "" {
			return nil, fieldErr(fmt.Sprintf("value.metrics[%d].match", i), "not supported by lateen-proxy")
		}
		cfg.Metrics = append(cfg.Metrics, resource.StatsMetric{Name: m.GetName(), Drop: m.GetDrop(),
			TagsToRemove: m.GetTagsToRemove(), Dimensions: m.GetDimensions()})
	}
	return cfg, nil
}

// decodePeerMetadata decodes io.istio.http.peer_metadata.Config: only the
// istio_headers discovery and propagation method is implemented.
func decodePeerMetadata(a *anypb.Any) (any, error) {
	got, st, err := UnpackTypedStruct(a)
	if err != nil {
		return nil, err
	}
	if got != resource.PeerMetadataTypeURL {
		return nil, fieldErr("type_url", "%q, want %q", got, resource.PeerMetadataTypeURL)
	}
	cfg := &resource.PeerMetadataConfig{}
	dsts := map[string]*bool{
		"downstream_discovery": &cfg.DownstreamDiscovery, "downstream_propagation": &cfg.DownstreamPropagation,
		"upstream_discovery": &cfg.UpstreamDiscovery, "upstream_propagation": &cfg.UpstreamPropagation,
	}
	for key, v := range st.GetFields() {
		dst := dsts[key]
		if dst == nil {
			return nil, fieldErr("value."+key, "field not supported by lateen-proxy")
		}
		if *dst, err = istioHeaders(v, "value."+key); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// istioHeaders checks a discovery or propagation list: istio_headers
// entries without options.
func istioHeaders(v *structpb.Value, path string) (bool, error) {
	list := v.GetListValue()
	if list == nil {
		return false, fieldErr(path, "want a list")
	}
	for i, m := range list.GetValues() {
		f := m.GetStructValue().GetFields()
		h, ok := f["istio_headers"]
		if !ok || len(f) != 1 {
			return false, fieldErr(fmt.Sprintf("%s[%d]", path, i), "only istio_headers is supported by lateen-proxy")
		}
		if len(h.GetStructValue().GetFields()) > 0 {
			return false, fieldErr(fmt.Sprintf("%s[%d].istio_headers", path, i), "options are not supported by lateen-proxy")
		}
	}
	return len(list.GetValues()) > 0, nil
}

// decodeMetadataExchange decodes the TCP metadata exchange filter.
// enable_discovery (workload discovery when the peer sends nothing) has
// nothing to discover from in lateen-proxy: the peer stays unknown.
func decodeMetadataExchange(a *anypb.Any) (*resource.MetadataExchange, error) {
	var pb mxpb.MetadataExchange
	if err := typedStructValue(a, resource.MetadataExchangeTypeURL, &pb); err != nil {
		return nil, err
	}
	if pb.GetProtocol() == "" {
		return nil, fieldErr("value.protocol", "required")
	}
	return &resource.MetadataExchange{Protocol: pb.GetProtocol()}, nil
}
