package xdsclient

import (
	"testing"
	"time"

	xdstypev3 "github.com/cncf/xds/go/xds/type/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

func typedStruct(t *testing.T, typeURL string, fields map[string]any) *anypb.Any {
	t.Helper()
	st, err := structpb.NewStruct(fields)
	if err != nil {
		t.Fatal(err)
	}
	a, err := anypb.New(&xdstypev3.TypedStruct{TypeUrl: typeURL, Value: st})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestDecodeStats(t *testing.T) {
	got, err := decodeStats(typedStruct(t, resource.StatsTypeURL, map[string]any{
		"disable_host_header_fallback": true,
		"tcp_reporting_duration":       "2s",
		"metrics": []any{
			map[string]any{"name": "requests_total", "dimensions": map[string]any{"request_host": "request.host"},
				"tags_to_remove": []any{"response_flags"}},
			map[string]any{"name": "request_bytes", "drop": true},
		},
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := &resource.StatsConfig{DisableHostHeaderFallback: true, TCPReportingDuration: 2 * time.Second,
		Metrics: []resource.StatsMetric{
			{Name: "requests_total", Dimensions: map[string]string{"request_host": "request.host"}, TagsToRemove: []string{"response_flags"}},
			{Name: "request_bytes", Drop: true}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for name, fields := range map[string]map[string]any{
		"definitions":     {"definitions": []any{map[string]any{"name": "x", "value": "1"}}},
		"unknown field":   {"nope": true},
		"waypoint":        {"reporter": "SERVER_GATEWAY"},
		"match":           {"metrics": []any{map[string]any{"match": "true"}}},
		"deprecated":      {"stat_prefix": "istio"},
		"zero tcp period": {"tcp_reporting_duration": "0s"},
	} {
		if _, err := decodeStats(typedStruct(t, resource.StatsTypeURL, fields)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := decodeStats(typedStruct(t, resource.PeerMetadataTypeURL, nil)); err == nil {
		t.Error("wrong type URL: no error")
	}
}

func TestDecodePeerMetadata(t *testing.T) {
	h := []any{map[string]any{"istio_headers": map[string]any{}}}
	cfg, err := decodePeerMetadata(typedStruct(t, resource.PeerMetadataTypeURL,
		map[string]any{"downstream_discovery": h, "downstream_propagation": h}))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&resource.PeerMetadataConfig{DownstreamDiscovery: true, DownstreamPropagation: true}, cfg); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for name, fields := range map[string]map[string]any{
		"workload discovery": {"upstream_discovery": []any{map[string]any{"workload_discovery": map[string]any{}}}},
		"skip external":      {"upstream_propagation": []any{map[string]any{"istio_headers": map[string]any{"skip_external_clusters": true}}}},
		"shared":             {"shared_with_upstream": true},
	} {
		if _, err := decodePeerMetadata(typedStruct(t, resource.PeerMetadataTypeURL, fields)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestDecodeMetadataExchange(t *testing.T) {
	got, err := decodeMetadataExchange(typedStruct(t, resource.MetadataExchangeTypeURL,
		map[string]any{"protocol": "istio-peer-exchange", "enable_discovery": true}))
	if err != nil || got.Protocol != "istio-peer-exchange" {
		t.Errorf("got %+v, %v", got, err)
	}
	if _, err := decodeMetadataExchange(typedStruct(t, resource.MetadataExchangeTypeURL, map[string]any{})); err == nil {
		t.Error("no protocol: no error")
	}
}
