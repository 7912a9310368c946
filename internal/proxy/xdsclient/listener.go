package xdsclient

import (
	"fmt"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
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
	return l.Name, l, nil
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
	if len(pb.GetFilters()) != 1 {
		return nil, fieldErr("filters", "want exactly one network filter (http_connection_manager or tcp_proxy), got %d", len(pb.GetFilters()))
	}
	f := pb.GetFilters()[0]
	dec := d.network[f.GetTypedConfig().GetTypeUrl()]
	if dec == nil {
		return nil, fieldErr("filters[0].typed_config", "network filter type %q not supported by lateen-proxy", f.GetTypedConfig().GetTypeUrl())
	}
	if err := dec(d, f.GetTypedConfig(), fc); err != nil {
		return nil, under("filters[0].typed_config", err)
	}
	return fc, nil
}
