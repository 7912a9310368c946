// Package exchange is Istio's metadata exchange, through which each side
// of a request or connection learns the other's workload (for telemetry's
// source_* and destination_* labels):
//
//   - HTTP: the istio.metadata_exchange HTTP filter
//     (io.istio.http.peer_metadata.Config) sends this proxy's node metadata
//     in x-envoy-peer-metadata / x-envoy-peer-metadata-id request headers
//     (outbound) or response headers (inbound), and reads and strips the
//     peer's before the application sees them.
//   - TCP over mutual TLS: the istio.metadata_exchange network filter
//     (envoy.tcp.metadataexchange.config.MetadataExchange): when ALPN
//     negotiated "istio-peer-exchange", each side writes a preamble (magic,
//     length, an Any holding a Struct with the node metadata) before its
//     first bytes and reads the peer's before the stream's.
package exchange

import (
	nethttp "net/http"
	"sync"
	"sync/atomic"

	proxyhttp "github.com/lateenmesh/lateen/internal/proxy/http"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/telemetry/peer"
)

// httpFilter builds the filter for one connection manager.
func httpFilter(node *peer.Workload) proxyhttp.Factory {
	value := node.Encode()
	peers := &decoded{}
	return func(cfg any, _ proxyhttp.BuildContext) (proxyhttp.Filter, error) {
		c := cfg.(*resource.PeerMetadataConfig)
		return func(next nethttp.Handler) nethttp.Handler {
			return nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
				info := proxyhttp.InfoFrom(r.Context())
				if c.DownstreamDiscovery {
					info.DownstreamWorkload = peers.take(r.Header)
				}
				if c.UpstreamPropagation {
					r.Header.Set(peer.HeaderMetadata, value)
					r.Header.Set(peer.HeaderMetadataID, node.ID)
				}
				if !c.DownstreamPropagation && !c.UpstreamDiscovery {
					next.ServeHTTP(w, r)
					return
				}
				next.ServeHTTP(&writer{ResponseWriter: w, cfg: c, info: info, value: value, id: node.ID, peers: peers}, r)
			})
		}, nil
	}
}

// decoded caches decoded peer headers: a proxy sees few peers, each
// sending the same values on every request, and telemetry caches label
// sets by peer. It stops growing at maxDecodedPeers.
type decoded struct {
	m sync.Map // peerKey → *peer.Workload
	n atomic.Int64
}

type peerKey struct{ id, value string }

const maxDecodedPeers = 1024

// take reads and removes the peer headers (nil when absent or invalid).
func (d *decoded) take(h nethttp.Header) *peer.Workload {
	v, id := h.Get(peer.HeaderMetadata), h.Get(peer.HeaderMetadataID)
	h.Del(peer.HeaderMetadata)
	h.Del(peer.HeaderMetadataID)
	if v == "" {
		return nil
	}
	key := peerKey{id, v}
	if w, ok := d.m.Load(key); ok {
		return w.(*peer.Workload)
	}
	w, err := peer.Decode(id, v)
	if err != nil {
		return nil
	}
	if d.n.Load() < maxDecodedPeers {
		if prev, loaded := d.m.LoadOrStore(key, w); loaded {
			return prev.(*peer.Workload)
		}
		d.n.Add(1)
	}
	return w
}

// writer reads the upstream's peer headers from the response, and adds
// ours, before the response headers are sent.
type writer struct {
	nethttp.ResponseWriter
	cfg       *resource.PeerMetadataConfig
	info      *proxyhttp.Info
	value, id string
	peers     *decoded
	wrote     bool
}

func (w *writer) WriteHeader(code int) {
	if code >= 200 && !w.wrote {
		w.wrote = true
		h := w.Header()
		if w.cfg.UpstreamDiscovery {
			w.info.UpstreamWorkload = w.peers.take(h)
		}
		if w.cfg.DownstreamPropagation {
			h.Set(peer.HeaderMetadata, w.value)
			h.Set(peer.HeaderMetadataID, w.id)
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *writer) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(nethttp.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Flush sends buffered data to the client.
func (w *writer) Flush() {
	if !w.wrote {
		w.WriteHeader(nethttp.StatusOK)
	}
	if f, ok := w.ResponseWriter.(nethttp.Flusher); ok {
		f.Flush()
		return
	}
	_ = nethttp.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach Hijack and friends.
func (w *writer) Unwrap() nethttp.ResponseWriter { return w.ResponseWriter }
