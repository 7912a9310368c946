package xdsclient

import (
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	originaldstv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/listener/original_dst/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/lateenmesh/lateen/internal/proxy/proxytest"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

func decodeListenerPB(t *testing.T, l *listenerv3.Listener) (*resource.Listener, error) {
	t.Helper()
	a, err := anypb.New(l)
	if err != nil {
		t.Fatal(err)
	}
	_, v, err := decodeListener(NewDecoders(), a)
	if err != nil {
		return nil, err
	}
	return v.(*resource.Listener), nil
}

func originalDstFilter() *listenerv3.ListenerFilter {
	return &listenerv3.ListenerFilter{Name: "envoy.filters.listener.original_dst",
		ConfigType: &listenerv3.ListenerFilter_TypedConfig{TypedConfig: proxytest.Any(&originaldstv3.OriginalDst{})}}
}

// TestDecodeCaptureListeners decodes Istio's capture listeners: the
// virtualOutbound hand-off (use_original_dst), a per-port listener that is
// not bound, and virtualInbound's original destination filter.
func TestDecodeCaptureListeners(t *testing.T) {
	out := proxytest.TCPListener("virtualOutbound", "0.0.0.0", 15001, "PassthroughCluster")
	out.UseOriginalDst = wrapperspb.Bool(true)
	port := proxytest.HTTPListener("0.0.0.0_9080", "0.0.0.0", 9080, "9080")
	port.BindToPort = wrapperspb.Bool(false)
	in := proxytest.TCPListener("virtualInbound", "0.0.0.0", 15006, "InboundPassthroughCluster")
	in.ListenerFilters = []*listenerv3.ListenerFilter{originalDstFilter()}
	tests := []struct {
		l                            *listenerv3.Listener
		useOrigDst, noBind, origDstF bool
	}{
		{out, true, false, false},
		{port, false, true, false},
		{in, false, false, true},
	}
	for _, tc := range tests {
		got, err := decodeListenerPB(t, tc.l)
		if err != nil {
			t.Fatalf("%s: %v", tc.l.Name, err)
		}
		if got.UseOriginalDst != tc.useOrigDst || got.NoBind != tc.noBind || got.OriginalDst != tc.origDstF {
			t.Errorf("%s: UseOriginalDst %v, NoBind %v, OriginalDst %v; want %v, %v, %v", tc.l.Name,
				got.UseOriginalDst, got.NoBind, got.OriginalDst, tc.useOrigDst, tc.noBind, tc.origDstF)
		}
	}
	bound := proxytest.TCPListener("x", "0.0.0.0", 1, "c")
	bound.BindToPort = wrapperspb.Bool(true)
	if got, err := decodeListenerPB(t, bound); err != nil || got.NoBind {
		t.Errorf("bind_to_port true: NoBind %v, err %v", got.NoBind, err)
	}
}

func TestDecodeUpstreamBindConfig(t *testing.T) {
	c := proxytest.OriginalDstCluster("InboundPassthroughCluster", false)
	c.UpstreamBindConfig = &corev3.BindConfig{SourceAddress: &corev3.SocketAddress{Address: "127.0.0.6"}}
	got, err := decodeClusterPB(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if got.Pool.SourceAddress != "127.0.0.6" {
		t.Errorf("source address %q, want 127.0.0.6", got.Pool.SourceAddress)
	}
	other := *got
	other.Pool.SourceAddress = ""
	if got.SameSettings(&other) {
		t.Error("clusters with different source addresses share a pool")
	}

	nacks := []struct {
		name   string
		bind   *corev3.BindConfig
		detail string
	}{
		{"port", &corev3.BindConfig{SourceAddress: &corev3.SocketAddress{Address: "127.0.0.6", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 5}}},
			"upstream_bind_config.source_address.port_value: only 0 (any port) is supported"},
		{"not an IP", &corev3.BindConfig{SourceAddress: &corev3.SocketAddress{Address: "localhost"}},
			`upstream_bind_config.source_address.address: "localhost" is not an IP address`},
		{"freebind", &corev3.BindConfig{SourceAddress: &corev3.SocketAddress{Address: "127.0.0.6"}, Freebind: wrapperspb.Bool(true)},
			"upstream_bind_config.freebind: field not supported by lateen-proxy"},
	}
	for _, tc := range nacks {
		c := proxytest.OriginalDstCluster("c", false)
		c.UpstreamBindConfig = tc.bind
		if _, err := decodeClusterPB(t, c); err == nil || err.Error() != tc.detail {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.detail)
		}
	}
}
