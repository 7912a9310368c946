// Package attrs is Istio's (Envoy's) attribute vocabulary for one finished
// request or connection: request.*, response.*, source.*, destination.*,
// connection.*, upstream.*, xds.*, the peers found by metadata exchange
// (downstream_peer, upstream_peer) and the proxy's own node. Metrics tag
// overrides, access logs and their CEL filters all read a Bag.
//
// A Bag refers to the request's header maps: read it while the request's
// end callback runs (or copy what is needed), never later.
package attrs

import (
	"net"
	nethttp "net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/telemetry/peer"
)

// Bag is the attributes of one request (HTTP) or connection (TCP).
type Bag struct {
	// TCP reports a connection without requests: Request and Response
	// are empty.
	TCP         bool
	Request     Request
	Response    Response
	Source      Address // the downstream peer (source.address/port)
	Destination Address // the downstream local address
	Connection  Connection
	Upstream    Upstream
	XDS         XDS
	// DownstreamPeer and UpstreamPeer are the workloads found by metadata
	// exchange (nil: unknown). Node is this proxy's workload.
	DownstreamPeer, UpstreamPeer, Node *peer.Workload
}

// Request is request.*.
type Request struct {
	ID        string // x-request-id
	Method    string
	Scheme    string
	Host      string // :authority
	Path      string // path with query
	Protocol  string // HTTP/1.0, HTTP/1.1, HTTP/2
	Headers   nethttp.Header
	Time      time.Time
	Duration  time.Duration // until the response completed
	Size      int64         // body bytes
	GRPC      bool
	headerLen int64
}

// URLPath is request.url_path: the path without the query.
func (r *Request) URLPath() string {
	p, _, _ := strings.Cut(r.Path, "?")
	return p
}

// Query is request.query: the query string without '?'.
func (r *Request) Query() string {
	_, q, _ := strings.Cut(r.Path, "?")
	return q
}

// TotalSize is request.total_size: body plus the approximate size of the
// request line and headers, as a wire byte count.
func (r *Request) TotalSize() int64 {
	if r.headerLen == 0 && r.Method != "" {
		r.headerLen = int64(len(r.Method)+len(r.Path)+len(r.Protocol)+4) + headerSize(r.Headers)
	}
	return r.Size + r.headerLen
}

// Response is response.*.
type Response struct {
	Code        int // 0: no response
	CodeDetails string
	// Flags is Envoy's response flag bit set (response.flags); FlagString
	// its short form ("UO", "-" when none).
	Flags      uint64
	FlagString string
	Headers    nethttp.Header // headers, and trailers once complete
	Size       int64          // body bytes
	headerLen  int64
}

// GRPCStatus is response.grpc_status: the grpc-status trailer (or header
// of a trailers-only response); ok is false when there is none.
func (r *Response) GRPCStatus() (status int, ok bool) {
	v := r.Headers.Get("Grpc-Status")
	if v == "" {
		v = r.Headers.Get(nethttp.TrailerPrefix + "Grpc-Status")
	}
	n, err := strconv.Atoi(v)
	return n, err == nil
}

// TotalSize is response.total_size: body plus the approximate size of the
// status line and headers.
func (r *Response) TotalSize() int64 {
	if r.headerLen == 0 && r.Code != 0 {
		r.headerLen = 17 + headerSize(r.Headers)
	}
	return r.Size + r.headerLen
}

func headerSize(h nethttp.Header) int64 {
	var n int64
	for k, vs := range h {
		for _, v := range vs {
			n += int64(len(k) + len(v) + 4) // "k: v\r\n"
		}
	}
	return n + 2
}

// Address is source.* or destination.*.
type Address struct {
	Address string // ip:port
	IP      string
	Port    int
}

// NewAddress splits host:port.
func NewAddress(hostport string) Address {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return Address{Address: hostport, IP: hostport}
	}
	n, _ := strconv.Atoi(port)
	return Address{Address: hostport, IP: host, Port: n}
}

// Connection is connection.* (the downstream connection).
type Connection struct {
	ID                  uint64
	MTLS                bool // TLS with a client certificate
	TLSVersion          string
	RequestedServerName string
	// Principals: the URI SANs of the peer's and of our certificate.
	URISanPeer, URISanLocal []string
	DNSSanPeer, DNSSanLocal []string
	SubjectPeer             string
	SubjectLocal            string
	TerminationDetails      string
	BytesReceived           int64 // TCP: downstream → upstream
	BytesSent               int64 // TCP: upstream → downstream
}

// Upstream is upstream.*.
type Upstream struct {
	Address                string // host:port of the endpoint used
	Cluster                string
	LocalAddress           string
	TransportFailureReason string
	RequestAttemptCount    int
	TLSVersion             string
	URISanPeer             []string
	URISanLocal            []string
}

// Port is upstream.port.
func (u *Upstream) Port() int { return NewAddress(u.Address).Port }

// XDS is xds.*: where in the configuration the request went.
type XDS struct {
	Listener        string
	FilterChainName string
	RouteName       string
	VirtualHost     string
	ClusterName     string
	// Direction is the listener's traffic direction: INBOUND, OUTBOUND
	// or "".
	Direction string
}
