package listener

import (
	"net"
	"testing"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

type named string

func (named) ServeConn(net.Conn) {}

func TestPickFollowsEnvoysOrder(t *testing.T) {
	chain := func(name string, m resource.FilterChainMatch) Chain { return Chain{Match: m, Handler: named(name)} }
	s := &Selector{
		Chains: []Chain{
			chain("port-tls-istio", resource.FilterChainMatch{DestinationPort: 8000, TransportProtocol: "tls",
				ApplicationProtocols: []string{"istio", "istio-peer-exchange"}}),
			chain("port-raw", resource.FilterChainMatch{DestinationPort: 8000, TransportProtocol: "raw_buffer"}),
			chain("port-tls", resource.FilterChainMatch{DestinationPort: 8000, TransportProtocol: "tls"}),
			chain("sni-exact", resource.FilterChainMatch{DestinationPort: 9000, ServerNames: []string{"api.example.com"}}),
			chain("sni-wild", resource.FilterChainMatch{DestinationPort: 9000, ServerNames: []string{"*.example.com"}}),
			chain("sni-wider", resource.FilterChainMatch{DestinationPort: 9000, ServerNames: []string{"*.com"}}),
			chain("any-port-raw", resource.FilterChainMatch{TransportProtocol: "raw_buffer"}),
		},
		Default: &Chain{Handler: named("default")},
	}
	tests := []struct {
		name  string
		port  uint32
		hello ClientHello
		want  string
	}{
		{"mTLS by ALPN", 8000, ClientHello{TransportProtocol: "tls", ALPN: []string{"istio-peer-exchange", "istio"}}, "port-tls-istio"},
		{"other TLS", 8000, ClientHello{TransportProtocol: "tls", ALPN: []string{"h2"}}, "port-tls"},
		{"plaintext", 8000, ClientHello{TransportProtocol: "raw_buffer"}, "port-raw"},
		{"exact server name", 9000, ClientHello{TransportProtocol: "tls", ServerName: "api.example.com"}, "sni-exact"},
		{"longest wildcard", 9000, ClientHello{TransportProtocol: "tls", ServerName: "www.example.com"}, "sni-wild"},
		{"no server name matches: no going back to other ports", 9000, ClientHello{TransportProtocol: "tls", ServerName: "x.org"}, "default"},
		{"port without chains", 7000, ClientHello{TransportProtocol: "raw_buffer"}, "any-port-raw"},
		{"port without chains, TLS", 7000, ClientHello{TransportProtocol: "tls"}, "default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.Pick(tt.port, tt.hello)
			if got == nil || string(got.Handler.(named)) != tt.want {
				t.Errorf("picked %v, want %s", got, tt.want)
			}
		})
	}
	s.Default = nil
	if got := s.Pick(9000, ClientHello{TransportProtocol: "tls", ServerName: "x.org"}); got != nil {
		t.Errorf("picked %v without a default chain", got.Handler)
	}
}
