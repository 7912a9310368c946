package attrs

import (
	"crypto/tls"
	nethttp "net/http"

	proxyhttp "github.com/lateenmesh/lateen/internal/proxy/http"
	"github.com/lateenmesh/lateen/internal/proxy/mtls"
	"github.com/lateenmesh/lateen/internal/proxy/tcp"
	"github.com/lateenmesh/lateen/internal/proxy/telemetry/peer"
)

// FromHTTP fills b from a finished request: r as the connection manager
// handled it and its final Info. node is this proxy's workload and dir the
// listener's traffic direction.
func FromHTTP(b *Bag, r *nethttp.Request, info *proxyhttp.Info, node *peer.Workload, dir string) {
	*b = Bag{Node: node}
	b.Request = Request{ID: info.RequestID, Method: r.Method, Scheme: scheme(r), Host: info.Authority,
		Path: r.URL.RequestURI(), Protocol: protocol(r), Headers: r.Header, Time: info.Start,
		Duration: info.Duration, Size: info.BytesReceived, GRPC: info.GRPC}
	b.Response = Response{Code: info.ResponseCode, Flags: EnvoyFlags(info.Flags), FlagString: info.Flags.String(),
		Headers: info.ResponseHeader, Size: info.BytesSent}
	if b.Response.Headers == nil {
		b.Response.Headers = nethttp.Header{}
	}
	b.Source, b.Destination = NewAddress(info.DownstreamPeer), NewAddress(info.DownstreamLocal)
	b.Connection = connection(info.Peer)
	b.Upstream = Upstream{Address: info.UpstreamHost, Cluster: info.Cluster, RequestAttemptCount: info.Attempts}
	b.XDS = XDS{Listener: info.Listener, RouteName: info.RouteName, VirtualHost: info.VirtualHost,
		ClusterName: info.Cluster, Direction: dir}
	b.DownstreamPeer, b.UpstreamPeer = info.DownstreamWorkload, info.UpstreamWorkload
}

// FromTCP fills b from a proxied connection.
func FromTCP(b *Bag, info *tcp.ConnInfo, node *peer.Workload, dir string) {
	*b = Bag{TCP: true, Node: node}
	b.Source, b.Destination = NewAddress(info.DownstreamRemote), NewAddress(info.DownstreamLocal)
	b.Connection = connection(info.Peer)
	b.Connection.BytesReceived, b.Connection.BytesSent = info.BytesReceived.Load(), info.BytesSent.Load()
	b.Upstream = Upstream{Address: info.UpstreamHost(), Cluster: info.Cluster}
	b.XDS = XDS{Listener: info.Listener, ClusterName: info.Cluster, Direction: dir}
	b.Request.Time = info.Start
	if info.Failed {
		b.Response.Flags, b.Response.FlagString = envoyUF, "UF"
	} else {
		b.Response.FlagString = "-"
	}
	b.DownstreamPeer, b.UpstreamPeer = info.Workloads()
}

func scheme(r *nethttp.Request) string {
	if s := r.Header.Get("X-Forwarded-Proto"); s != "" {
		return s
	}
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

func protocol(r *nethttp.Request) string {
	if r.ProtoMajor == 2 {
		return "HTTP/2"
	}
	return r.Proto
}

// connection reads the downstream TLS peer (nil: plaintext).
func connection(p *mtls.Peer) Connection {
	if p == nil {
		return Connection{}
	}
	c := Connection{TLSVersion: tlsVersion(p.Version), RequestedServerName: p.ServerName, URISanLocal: p.Local}
	if len(p.Certificates) > 0 {
		leaf := p.Certificates[0]
		c.MTLS = true
		c.SubjectPeer = leaf.Subject.String()
		c.DNSSanPeer = leaf.DNSNames
		for _, u := range leaf.URIs {
			c.URISanPeer = append(c.URISanPeer, u.String())
		}
	}
	return c
}

func tlsVersion(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLSv1"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return ""
}

// Envoy's response flag bits (envoy.stream_info.CoreResponseFlag), for
// response.flags.
const (
	envoyUH   = 1 << 1
	envoyUT   = 1 << 2
	envoyUR   = 1 << 4
	envoyUF   = 1 << 5
	envoyUC   = 1 << 6
	envoyUO   = 1 << 7
	envoyNR   = 1 << 8
	envoyDI   = 1 << 9
	envoyFI   = 1 << 10
	envoyDC   = 1 << 14
	envoyURX  = 1 << 15
	envoyDPE  = 1 << 18
	envoyDT   = 1 << 22
	envoyNC   = 1 << 24
	numFlags  = 14
	noFlagSet = 0
)

var flagBits = [numFlags]struct {
	f   proxyhttp.ResponseFlag
	bit uint64
}{
	{proxyhttp.FlagNoHealthyUpstream, envoyUH}, {proxyhttp.FlagUpstreamTimeout, envoyUT},
	{proxyhttp.FlagUpstreamReset, envoyUR}, {proxyhttp.FlagUpstreamConnFailure, envoyUF},
	{proxyhttp.FlagUpstreamConnTermination, envoyUC}, {proxyhttp.FlagUpstreamOverflow, envoyUO},
	{proxyhttp.FlagNoRoute, envoyNR}, {proxyhttp.FlagDelayInjected, envoyDI},
	{proxyhttp.FlagFaultInjected, envoyFI}, {proxyhttp.FlagDownstreamTerminated, envoyDC},
	{proxyhttp.FlagUpstreamRetryLimitExceeded, envoyURX}, {proxyhttp.FlagDownstreamProtocolError, envoyDPE},
	{proxyhttp.FlagDurationTimeout, envoyDT}, {proxyhttp.FlagNoClusterFound, envoyNC},
}

// EnvoyFlags converts the proxy's response flags to Envoy's bit numbering.
func EnvoyFlags(f proxyhttp.ResponseFlag) uint64 {
	if f == 0 {
		return noFlagSet
	}
	var out uint64
	for _, fb := range flagBits {
		if f&fb.f != 0 {
			out |= fb.bit
		}
	}
	return out
}
