// Package tcp is the TCP proxy network filter: it connects each downstream
// connection to an endpoint of its cluster and copies bytes both ways with
// half-close.
package tcp

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/cluster"
	"github.com/lateenmesh/lateen/internal/proxy/lb"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/stats"
)

// defaultIdleTimeout is Envoy's TCP proxy idle timeout when none is set.
const defaultIdleTimeout = time.Hour

// Proxy is a built TCP proxy filter. It is immutable once serving.
type Proxy struct {
	cfg      *resource.TCPProxy
	clusters *cluster.Set
	idle     time.Duration
	log      *slog.Logger
	cxTotal  *stats.Counter
	rx, tx   *stats.Counter
	// Listener names the listener in ConnInfo; Observers follow every
	// connection and Exchanger, when set, wraps both sides (metadata
	// exchange). The runtime sets them before serving.
	Listener  string
	Observers []Observer
	Exchanger Exchanger
}

// New builds a TCP proxy over clusters.
func New(cfg *resource.TCPProxy, clusters *cluster.Set, store *stats.Store, log *slog.Logger) *Proxy {
	idle := defaultIdleTimeout
	if cfg.IdleTimeoutSet {
		idle = cfg.IdleTimeout // 0 disables
	}
	p := "tcp." + cfg.StatPrefix + "."
	return &Proxy{cfg: cfg, clusters: clusters, idle: idle, log: log,
		cxTotal: store.Counter(p + "downstream_cx_total"),
		rx:      store.Counter(p + "downstream_cx_rx_bytes_total"),
		tx:      store.Counter(p + "downstream_cx_tx_bytes_total")}
}

func (p *Proxy) pickCluster() string {
	if p.cfg.Cluster != "" {
		return p.cfg.Cluster
	}
	var total uint64
	for _, wc := range p.cfg.WeightedClusters {
		total += uint64(wc.Weight)
	}
	if total == 0 {
		return p.cfg.WeightedClusters[0].Name
	}
	n := rand.Uint64N(total)
	for _, wc := range p.cfg.WeightedClusters {
		if n < uint64(wc.Weight) {
			return wc.Name
		}
		n -= uint64(wc.Weight)
	}
	return p.cfg.WeightedClusters[0].Name
}

// ServeConn proxies c until both directions are closed.
func (p *Proxy) ServeConn(c net.Conn) {
	defer c.Close()
	info := newConnInfo(c, p.Listener, p.pickCluster())
	p.cxTotal.Inc()
	defer p.begin(info)()
	cl := p.clusters.Get(info.Cluster)
	if cl == nil {
		info.Failed = true
		return
	}
	ep, ok := cl.Pick(&lb.Request{OriginalDst: c.LocalAddr().String()})
	if !ok {
		cl.Stats.NoHealthyUpstream.Inc()
		info.Failed = true
		return
	}
	info.setUpstreamHost(ep.Address)
	up, err := cl.Upstream.Dial(context.Background(), ep.Address)
	if err != nil {
		p.log.Debug("upstream connect failed", "cluster", info.Cluster, "host", ep.Address, "err", err)
		info.Failed = true
		return
	}
	defer up.Close()
	info.setUpstream(up)
	if p.Exchanger != nil {
		c, up = p.Exchanger.WrapDownstream(c, info), p.Exchanger.WrapUpstream(up, info)
	}
	p.pipe(c, up, info)
}

// pipe copies both ways; EOF on one side half-closes the other; the idle
// timeout closes both when no byte moved either way for that long.
func (p *Proxy) pipe(down, up net.Conn, info *ConnInfo) {
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		p.copy(up, down, &last, &info.BytesReceived, p.rx)
	}()
	go func() {
		defer wg.Done()
		p.copy(down, up, &last, &info.BytesSent, p.tx)
	}()
	wg.Wait()
}

// copy moves bytes from src to dst, counting them as they go (so that
// telemetry can report long connections periodically).
func (p *Proxy) copy(dst, src net.Conn, last, count *atomic.Int64, stat *stats.Counter) {
	buf := make([]byte, 32*1024)
	for {
		if p.idle > 0 {
			_ = src.SetReadDeadline(time.Now().Add(p.idle))
		}
		n, err := src.Read(buf)
		if n > 0 {
			last.Store(time.Now().UnixNano())
			if _, werr := dst.Write(buf[:n]); werr != nil {
				_ = src.Close()
				return
			}
			count.Add(int64(n))
			stat.Add(uint64(n))
		}
		if errors.Is(err, os.ErrDeadlineExceeded) && time.Since(time.Unix(0, last.Load())) < p.idle {
			continue // the other direction is active
		}
		if err != nil {
			if err == io.EOF {
				closeWrite(dst)
			} else {
				_ = dst.Close()
				_ = src.Close()
			}
			return
		}
	}
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		return
	}
	_ = c.Close()
}
