package accesslog

import (
	nethttp "net/http"
	"time"

	proxyhttp "github.com/lateenmesh/lateen/internal/proxy/http"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/tcp"
	"github.com/lateenmesh/lateen/internal/proxy/telemetry/attrs"
	"github.com/lateenmesh/lateen/internal/proxy/telemetry/peer"
)

// Options configure the access log observers.
type Options struct {
	Writer *Writer
	// Node is this proxy's workload (the node.* attributes of filters).
	Node *peer.Workload
	Env  Env
}

// Observers builds the access log observers of connection managers and
// TCP proxies from their configuration.
type Observers struct{ opts Options }

// NewObservers returns the observer factories over one writer.
func NewObservers(opts Options) *Observers { return &Observers{opts: opts} }

// HTTP is the proxyhttp.ObserverFactory: one line per request.
func (o *Observers) HTTP(cfg *resource.HTTPConnectionManager, bc proxyhttp.BuildContext) (proxyhttp.Observer, error) {
	set, err := NewSet(cfg.AccessLogs, o.opts.Writer, o.opts.Env)
	if set == nil || err != nil {
		return nil, err
	}
	return &httpObserver{set: set, node: o.opts.Node, dir: bc.Direction}, nil
}

// TCP builds the TCP proxy observer: one line per connection, when it
// closes (nil when the proxy logs nothing).
func (o *Observers) TCP(cfg *resource.TCPProxy, bc tcp.BuildContext) (tcp.Observer, error) {
	set, err := NewSet(cfg.AccessLogs, o.opts.Writer, o.opts.Env)
	if set == nil || err != nil {
		return nil, err
	}
	return &tcpObserver{set: set, node: o.opts.Node, dir: bc.Direction}, nil
}

type httpObserver struct {
	set  *Set
	node *peer.Workload
	dir  string
}

func (o *httpObserver) Begin(r *nethttp.Request, info *proxyhttp.Info) func() {
	return func() {
		e := &Entry{TLS: r.TLS}
		attrs.FromHTTP(&e.Bag, r, info, o.node, o.dir)
		if e.Response.CodeDetails == "" {
			e.Response.CodeDetails = codeDetails(info)
		}
		o.set.Log(e)
	}
}

type tcpObserver struct {
	set  *Set
	node *peer.Workload
	dir  string
}

func (o *tcpObserver) Begin(info *tcp.ConnInfo) func() {
	return func() {
		e := &Entry{TLS: info.TLS}
		attrs.FromTCP(&e.Bag, info, o.node, o.dir)
		e.Request.Duration = time.Since(info.Start)
		o.set.Log(e)
	}
}

// codeDetails approximates Envoy's %RESPONSE_CODE_DETAILS% from the
// response flags.
func codeDetails(info *proxyhttp.Info) string {
	for _, d := range flagDetails {
		if info.Flags&d.flag != 0 {
			return d.details
		}
	}
	switch {
	case info.ResponseCode == 0:
		return ""
	case info.UpstreamHost != "":
		return "via_upstream"
	}
	return "direct_response"
}

var flagDetails = []struct {
	flag    proxyhttp.ResponseFlag
	details string
}{
	{proxyhttp.FlagNoRoute, "route_not_found"},
	{proxyhttp.FlagNoClusterFound, "cluster_not_found"},
	{proxyhttp.FlagFaultInjected, "fault_filter_abort"},
	{proxyhttp.FlagNoHealthyUpstream, "no_healthy_upstream"},
	{proxyhttp.FlagUpstreamOverflow, "upstream_reset_before_response_started{overflow}"},
	{proxyhttp.FlagUpstreamConnFailure, "upstream_reset_before_response_started{connection_failure}"},
	{proxyhttp.FlagUpstreamReset, "upstream_reset_before_response_started{remote_refused_stream_reset}"},
	{proxyhttp.FlagUpstreamConnTermination, "upstream_reset_before_response_started{connection_termination}"},
	{proxyhttp.FlagUpstreamTimeout, "response_timeout"},
	{proxyhttp.FlagDurationTimeout, "max_duration_timeout"},
	{proxyhttp.FlagDownstreamTerminated, "downstream_remote_disconnect"},
}

var (
	_ proxyhttp.Observer        = (*httpObserver)(nil)
	_ tcp.Observer              = (*tcpObserver)(nil)
	_ proxyhttp.ObserverFactory = (*Observers)(nil).HTTP
	_ tcp.ObserverFactory       = (*Observers)(nil).TCP
)
