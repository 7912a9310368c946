package translate

import (
	"strings"

	xdstypev3 "github.com/cncf/xds/go/xds/type/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	mxpb "istio.io/api/envoy/config/filter/network/metadata_exchange"
	statspb "istio.io/api/envoy/extensions/stats"

	"github.com/lateenmesh/lateen/internal/mesh"
	"github.com/lateenmesh/lateen/internal/registry"
)

// Istio's telemetry filters (their config types are Istio's, carried in a
// TypedStruct as istiod does).
const (
	statsFilterName     = "istio.stats"
	mxFilterName        = "istio.metadata_exchange"
	statsTypeURL        = "type.googleapis.com/stats.PluginConfig"
	peerMetadataTypeURL = "type.googleapis.com/io.istio.http.peer_metadata.Config"
	tcpMXTypeURL        = "type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange"
	peerExchangeALPN    = "istio-peer-exchange"
)

// listenerClass is Istio's listener class: which side of traffic a
// listener sees (the Telemetry API's CLIENT or SERVER mode).
type listenerClass int

const (
	classOutbound listenerClass = iota
	classInbound
	classGateway
)

func (b *builder) classOf(statPrefix string) listenerClass {
	switch {
	case b.view.Proxy.Type == mesh.Router:
		return classGateway
	case strings.HasPrefix(statPrefix, "inbound_"):
		return classInbound
	}
	return classOutbound
}

// telemetryHTTPFilters adds Istio's metadata exchange (first) and, when
// the Telemetry API enables metrics, stats (just before the router) to a
// connection manager's filters.
func (b *builder) telemetryHTTPFilters(statPrefix string, filters []*hcmv3.HttpFilter) []*hcmv3.HttpFilter {
	class := b.classOf(statPrefix)
	out := make([]*hcmv3.HttpFilter, 0, len(filters)+2)
	out = append(out, &hcmv3.HttpFilter{Name: mxFilterName,
		ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: peerMetadataConfig(class)}})
	out = append(out, filters[:len(filters)-1]...)
	if stats := b.statsConfig(class); stats != nil {
		out = append(out, &hcmv3.HttpFilter{Name: statsFilterName,
			ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: stats}})
	}
	return append(out, filters[len(filters)-1])
}

// peerMetadataConfig is Istio's peer metadata filter config: inbound
// listeners discover the client from request headers and answer with
// ours; outbound and gateway listeners send ours upstream and discover the
// server from response headers.
func peerMetadataConfig(class listenerClass) *anypb.Any {
	headers := []any{map[string]any{"istio_headers": map[string]any{}}}
	fields := map[string]any{"upstream_discovery": headers, "upstream_propagation": headers}
	if class == classInbound {
		fields = map[string]any{"downstream_discovery": headers, "downstream_propagation": headers}
	}
	st, err := structpb.NewStruct(fields)
	if err != nil {
		panic(err)
	}
	return typedStruct(peerMetadataTypeURL, st)
}

// statsConfig is the istio.stats config of a listener class (nil when
// metrics are off): the Telemetry API's overrides for its mode.
func (b *builder) statsConfig(class listenerClass) *anypb.Any {
	mc := b.metrics()
	if !mc.Enabled {
		return nil
	}
	cfg := &statspb.PluginConfig{DisableHostHeaderFallback: class != classOutbound}
	if mc.ReportingInterval > 0 {
		cfg.TcpReportingDuration = durationpb.New(mc.ReportingInterval)
	}
	overrides := mc.Client
	if class == classInbound {
		overrides = mc.Server
	}
	for _, o := range overrides {
		name, ok := prometheusMetrics[o.Metric]
		if !ok {
			continue // gRPC message counts: not emitted
		}
		m := &statspb.MetricConfig{Name: name, Drop: o.Disabled}
		for _, t := range o.Tags {
			if t.Remove {
				m.TagsToRemove = append(m.TagsToRemove, t.Name)
				continue
			}
			if m.Dimensions == nil {
				m.Dimensions = map[string]string{}
			}
			m.Dimensions[t.Name] = t.Value
		}
		cfg.Metrics = append(cfg.Metrics, m)
	}
	return typedStruct(statsTypeURL, messageStruct(cfg))
}

// metrics resolves (once per translation) the proxy's metrics config.
func (b *builder) metrics() *mesh.MetricsConfig {
	if b.metricsConfig == nil {
		b.metricsConfig = b.view.Metrics()
	}
	return b.metricsConfig
}

// prometheusMetrics names Istio's standard metrics in stats configs.
var prometheusMetrics = map[string]string{
	"REQUEST_COUNT":          "requests_total",
	"REQUEST_DURATION":       "request_duration_milliseconds",
	"REQUEST_SIZE":           "request_bytes",
	"RESPONSE_SIZE":          "response_bytes",
	"TCP_OPENED_CONNECTIONS": "tcp_connections_opened_total",
	"TCP_CLOSED_CONNECTIONS": "tcp_connections_closed_total",
	"TCP_SENT_BYTES":         "tcp_sent_bytes_total",
	"TCP_RECEIVED_BYTES":     "tcp_received_bytes_total",
}

// tcpTelemetry puts the metadata exchange and stats network filters in
// front of every TCP proxy chain. The exchange runs in band over mutual
// TLS (ALPN istio-peer-exchange): on inbound chains with the client, on
// the others with the upstream (where istiod uses a cluster filter).
func (b *builder) tcpTelemetry() {
	for _, l := range b.listeners {
		class := classOutbound
		if l.TrafficDirection == corev3.TrafficDirection_INBOUND {
			class = classInbound
		}
		for _, fc := range append(l.FilterChains, l.DefaultFilterChain) {
			if fc == nil || len(fc.Filters) == 0 || fc.Filters[len(fc.Filters)-1].Name != tcpProxyFilterName {
				continue
			}
			// Istio's order: exchange first, stats just before the proxy.
			out := []*listenerv3.Filter{{Name: mxFilterName, ConfigType: &listenerv3.Filter_TypedConfig{
				TypedConfig: typedStruct(tcpMXTypeURL, messageStruct(&mxpb.MetadataExchange{Protocol: peerExchangeALPN}))}}}
			out = append(out, fc.Filters[:len(fc.Filters)-1]...)
			if stats := b.statsConfig(class); stats != nil {
				out = append(out, &listenerv3.Filter{Name: statsFilterName,
					ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: stats}})
			}
			fc.Filters = append(out, fc.Filters[len(fc.Filters)-1])
		}
	}
}

// inboundServiceMetadata is an inbound cluster's Istio metadata: the
// services the workload serves on that port (telemetry's
// destination_service on the server side).
func (b *builder) inboundServiceMetadata(port uint32) *corev3.Metadata {
	var services []any
	for _, svc := range b.view.Instances {
		if servesPort(svc, b.view.Workload, port) {
			services = append(services, map[string]any{"host": svc.Hostname, "name": shortName(svc.Hostname),
				"namespace": svc.Namespace})
		}
	}
	if len(services) == 0 {
		return nil
	}
	st, err := structpb.NewStruct(map[string]any{"services": services})
	if err != nil {
		panic(err)
	}
	return &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{"istio": st}}
}

// servesPort reports whether the workload receives svc's traffic on port.
func servesPort(svc *registry.Service, w *registry.Workload, port uint32) bool {
	for _, p := range svc.Ports {
		target := p.Number
		if p.TargetPort != 0 {
			target = p.TargetPort
		}
		if w != nil && w.Ports[p.Name] != 0 {
			target = w.Ports[p.Name]
		}
		if target == port {
			return true
		}
	}
	return false
}

func typedStruct(typeURL string, value *structpb.Struct) *anypb.Any {
	return mustAny(&xdstypev3.TypedStruct{TypeUrl: typeURL, Value: value})
}

// messageStruct converts a message to a Struct with proto field names, as
// istiod builds its TypedStructs.
func messageStruct(m proto.Message) *structpb.Struct {
	js, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil {
		panic(err)
	}
	st := &structpb.Struct{}
	if err := protojson.Unmarshal(js, st); err != nil {
		panic(err)
	}
	return st
}
