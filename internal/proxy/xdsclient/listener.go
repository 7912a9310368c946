package xdsclient

import (
	"fmt"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	originaldstv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/listener/original_dst/v3"
	tlsinspectorv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/listener/tls_inspector/v3"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

func decodeListener(d *Decoders, a *anypb.Any) (string, any, error) {
	var pb listenerv3.Listener
	if err := unpack(a, &pb); err != nil {
		return pb.GetName(), nil, err
	}
	l := &resource.Listener{Name: pb.GetName()}
	if l.Name == "" {
		return "", nil, fieldErr("name", "empty")
	}
	sa := pb.GetAddress().GetSocketAddress()
	if sa == nil {
		return l.Name, nil, fieldErr("address.socket_address", "required")
	}
	if sa.GetProtocol() != corev3.SocketAddress_TCP {
		return l.Name, nil, fieldErr("address.socket_address.protocol", "only TCP is supported")
	}
	l.Address, l.Port = sa.GetAddress(), sa.GetPortValue()
	if l.Address == "" || l.Port == 0 {
		return l.Name, nil, fieldErr("address.socket_address", "address and port_value are required")
	}
	if pb.GetTrafficDirection() != corev3.TrafficDirection_UNSPECIFIED {
		l.TrafficDirection = pb.GetTrafficDirection().String()
	}
	for i, fc := range pb.GetFilterChains() {
		chain, err := decodeFilterChain(d, fc)
		if err != nil {
			return l.Name, nil, under(fmt.Sprintf("filter_chains[%d]", i), err)
		}
		l.FilterChains = append(l.FilterChains, *chain)
	}
	if fc := pb.GetDefaultFilterChain(); fc != nil {
		chain, err := decodeFilterChain(d, fc)
		if err != nil {
			return l.Name, nil, under("default_filter_chain", err)
		}
		l.DefaultChain = chain
	}
	if len(l.FilterChains) == 0 && l.DefaultChain == nil {
		return l.Name, nil, fieldErr("filter_chains", "no filter chain")
	}
	if err := decodeListenerFilters(&pb, l); err != nil {
		return l.Name, nil, err
	}
	l.UseOriginalDst = pb.GetUseOriginalDst().GetValue()
	l.NoBind = pb.GetBindToPort() != nil && !pb.GetBindToPort().GetValue()
	return l.Name, l, nil
}

// The listener filters lateen-proxy has: Envoy's TLS inspector and
// original destination filters.
const (
	tlsInspectorTypeURL = "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector"
	originalDstTypeURL  = "type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst"
)

// decodeListenerFilters accepts the TLS inspector and the original
// destination filter, and the filters' timeout settings.
func decodeListenerFilters(pb *listenerv3.Listener, l *resource.Listener) error {
	for i, f := range pb.GetListenerFilters() {
		path := fmt.Sprintf("listener_filters[%d]", i)
		a := f.GetTypedConfig()
		var err error
		switch a.GetTypeUrl() {
		case tlsInspectorTypeURL:
			err = unpack(a, &tlsinspectorv3.TlsInspector{})
			l.TLSInspector = true
		case originalDstTypeURL:
			err = unpack(a, &originaldstv3.OriginalDst{})
			l.OriginalDst = true
		default:
			return fieldErr(path+".typed_config", "listener filter %q not supported by lateen-proxy", a.GetTypeUrl())
		}
		if err != nil {
			return under(path+".typed_config", err)
		}
	}
	d, err := duration(pb.GetListenerFiltersTimeout(), "listener_filters_timeout")
	if err != nil {
		return err
	}
	l.FiltersTimeout, l.ContinueOnFiltersTimeout = d, pb.GetContinueOnListenerFiltersTimeout()
	return nil
}

func decodeFilterChain(d *Decoders, pb *listenerv3.FilterChain) (*resource.FilterChain, error) {
	fc := &resource.FilterChain{Name: pb.GetName()}
	if m := pb.GetFilterChainMatch(); m != nil {
		fc.Match = resource.FilterChainMatch{
			DestinationPort:      m.GetDestinationPort().GetValue(),
			TransportProtocol:    m.GetTransportProtocol(),
			ApplicationProtocols: m.GetApplicationProtocols(),
			ServerNames:          m.GetServerNames(),
		}
		switch fc.Match.TransportProtocol {
		case "", "raw_buffer", "tls":
		default:
			return nil, fieldErr("filter_chain_match.transport_protocol", "unknown transport protocol %q", fc.Match.TransportProtocol)
		}
	}
	if ts := pb.GetTransportSocket(); ts != nil {
		tlsCtx, err := decodeDownstreamSocket(ts)
		if err != nil {
			return nil, under("transport_socket", err)
		}
		fc.TLS = tlsCtx
	}
	if err := decodeNetworkFilters(d, pb.GetFilters(), fc); err != nil {
		return nil, err
	}
	return fc, nil
}

// decodeNetworkFilters decodes a chain's network filters: any number of
// filters (metadata exchange, stats) before the terminal one, which is an
// http_connection_manager or a tcp_proxy.
func decodeNetworkFilters(d *Decoders, filters []*listenerv3.Filter, fc *resource.FilterChain) error {
	if len(filters) == 0 {
		return fieldErr("filters", "no network filter (http_connection_manager or tcp_proxy is required)")
	}
	for i, f := range filters {
		path := fmt.Sprintf("filters[%d]", i)
		typeURL := configTypeURL(f.GetTypedConfig())
		dec := d.network[typeURL]
		if dec == nil {
			return fieldErr(path+".typed_config", "network filter type %q not supported by lateen-proxy", typeURL)
		}
		if err := dec(d, f.GetTypedConfig(), fc); err != nil {
			return under(path+".typed_config", err)
		}
		if terminal := fc.HTTP != nil || fc.TCP != nil; terminal != (i == len(filters)-1) {
			return fieldErr(path, "http_connection_manager or tcp_proxy must be the last network filter, and only the last")
		}
		if len(fc.NetworkFilters) > 0 && fc.NetworkFilters[len(fc.NetworkFilters)-1].Name == "" {
			fc.NetworkFilters[len(fc.NetworkFilters)-1].Name = f.GetName()
		}
	}
	return nil
}
