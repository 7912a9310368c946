package tcp

import (
	"crypto/tls"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/mtls"
	"github.com/lateenmesh/lateen/internal/proxy/telemetry/peer"
)

// ConnInfo is one proxied connection's stream info, read by observers
// (telemetry, access logs). Byte counts grow while the connection lives.
type ConnInfo struct {
	Start            time.Time
	Listener         string
	DownstreamLocal  string
	DownstreamRemote string
	// TLS is the downstream connection's TLS state (nil: plaintext).
	TLS *tls.ConnectionState
	// Peer is the downstream TLS peer (nil: plaintext): principal,
	// namespace, certificates.
	Peer          *mtls.Peer
	Cluster       string
	BytesReceived atomic.Int64 // downstream → upstream
	BytesSent     atomic.Int64 // upstream → downstream
	Failed        bool         // no healthy upstream or connect failure

	mu           sync.Mutex
	upstreamHost string
	upstreamPeer *mtls.Peer
	downstream   *peer.Workload
	upstream     *peer.Workload
	resolved     atomic.Bool
}

func newConnInfo(c net.Conn, listener, cluster string) *ConnInfo {
	info := &ConnInfo{Start: time.Now(), Listener: listener, Cluster: cluster,
		DownstreamLocal: c.LocalAddr().String(), DownstreamRemote: c.RemoteAddr().String()}
	if tc, ok := c.(interface{ ConnectionState() tls.ConnectionState }); ok {
		cs := tc.ConnectionState()
		info.TLS = &cs
	}
	info.Peer = mtls.PeerOf(c)
	return info
}

// UpstreamHost is the endpoint the connection went to ("" before).
func (i *ConnInfo) UpstreamHost() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.upstreamHost
}

func (i *ConnInfo) setUpstreamHost(h string) {
	i.mu.Lock()
	i.upstreamHost = h
	i.mu.Unlock()
}

// UpstreamPeer is the upstream TLS peer (nil: plaintext, or not
// connected yet): the server's identity, and in Local the proxy's own.
func (i *ConnInfo) UpstreamPeer() *mtls.Peer {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.upstreamPeer
}

// setUpstream records the connection made to the upstream.
func (i *ConnInfo) setUpstream(up net.Conn) {
	peer := mtls.PeerOf(up)
	i.mu.Lock()
	i.upstreamPeer = peer
	i.mu.Unlock()
}

// Workloads returns the peers found by metadata exchange (nil: unknown).
func (i *ConnInfo) Workloads() (downstream, upstream *peer.Workload) {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.downstream, i.upstream
}

// SetWorkloads records what metadata exchange found about the
// downstream or upstream peer (nil arguments leave a side unchanged).
func (i *ConnInfo) SetWorkloads(downstream, upstream *peer.Workload) {
	i.mu.Lock()
	if downstream != nil {
		i.downstream = downstream
	}
	if upstream != nil {
		i.upstream = upstream
	}
	i.mu.Unlock()
}

// Resolve marks the peer information final: metadata exchange finished
// (or found the peer does not take part). Telemetry reports an open
// connection once it is resolved, or when it closes.
func (i *ConnInfo) Resolve() { i.resolved.Store(true) }

// Resolved reports whether Resolve was called.
func (i *ConnInfo) Resolved() bool { return i.resolved.Load() }

// Observer follows proxied connections: Begin runs when a connection is
// accepted, the returned end (when not nil) once it is closed.
type Observer interface {
	Begin(info *ConnInfo) (end func())
}

// Exchanger wraps both sides of a proxied connection, e.g. to run
// Istio's TCP metadata exchange in band; it records what it learns with
// info.SetWorkloads and info.Resolve.
type Exchanger interface {
	WrapDownstream(c net.Conn, info *ConnInfo) net.Conn
	WrapUpstream(c net.Conn, info *ConnInfo) net.Conn
}

// begin starts the observers and returns the func that ends them, last
// started first.
func (p *Proxy) begin(info *ConnInfo) func() {
	if len(p.Observers) == 0 {
		return func() {}
	}
	ends := make([]func(), 0, len(p.Observers))
	for _, o := range p.Observers {
		if end := o.Begin(info); end != nil {
			ends = append(ends, end)
		}
	}
	return func() {
		for i := len(ends) - 1; i >= 0; i-- {
			ends[i]()
		}
	}
}
