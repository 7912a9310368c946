package cluster

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/stats"
)

// Stats are a cluster's Envoy-style stats (cluster.<name>.*).
type Stats struct {
	RqTotal           *stats.Counter
	RqCodes           *stats.Codes
	RqTimeout         *stats.Counter
	RqRetry           *stats.Counter
	RqPendingOverflow *stats.Counter
	CxTotal           *stats.Counter
	CxActive          *stats.Gauge
	CxConnectFail     *stats.Counter
	CxConnectTimeout  *stats.Counter
	NoHealthyUpstream *stats.Counter
}

func newStats(s *stats.Store, name string) *Stats {
	p := "cluster." + name + "."
	return &Stats{
		RqTotal:           s.Counter(p + "upstream_rq_total"),
		RqCodes:           s.Codes(p + "upstream_rq"),
		RqTimeout:         s.Counter(p + "upstream_rq_timeout"),
		RqRetry:           s.Counter(p + "upstream_rq_retry"),
		RqPendingOverflow: s.Counter(p + "upstream_rq_pending_overflow"),
		CxTotal:           s.Counter(p + "upstream_cx_total"),
		CxActive:          s.Gauge(p + "upstream_cx_active"),
		CxConnectFail:     s.Counter(p + "upstream_cx_connect_fail"),
		CxConnectTimeout:  s.Counter(p + "upstream_cx_connect_timeout"),
		NoHealthyUpstream: s.Counter(p + "upstream_cx_none_healthy"),
	}
}

// defaultIdleTimeout closes pooled upstream connections nobody reuses.
const defaultIdleTimeout = 90 * time.Second

// pool is the http.Transport-backed Upstream of one cluster. Transports are
// created on first use: HTTP/1.1 and h2c (prior knowledge).
type pool struct {
	cfg    *resource.Cluster
	stats  *Stats
	dialer net.Dialer
	active atomic.Int64

	mu     sync.Mutex
	h1, h2 atomic.Pointer[http.Transport]
}

var _ Upstream = (*pool)(nil)

func newPool(cfg *resource.Cluster, st *Stats) *pool {
	return &pool{cfg: cfg, stats: st, dialer: net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}}
}

func (p *pool) transport(h2 bool) *http.Transport {
	slot := &p.h1
	if h2 {
		slot = &p.h2
	}
	if t := slot.Load(); t != nil {
		return t
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if t := slot.Load(); t != nil {
		return t
	}
	t := p.newTransport(h2)
	slot.Store(t)
	return t
}

func (p *pool) newTransport(h2 bool) *http.Transport {
	idle := p.cfg.IdleTimeout
	if idle == 0 {
		idle = defaultIdleTimeout
	}
	t := &http.Transport{
		DialContext:         p.dial,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     idle,
		DisableCompression:  true,
		Protocols:           new(http.Protocols),
	}
	if h2 {
		t.Protocols.SetUnencryptedHTTP2(true)
	} else {
		t.Protocols.SetHTTP1(true)
	}
	return t
}

// RoundTrip picks the transport for the cluster's upstream protocol.
func (p *pool) RoundTrip(req *http.Request) (*http.Response, error) {
	h2 := p.cfg.Protocol == resource.UpstreamHTTP2 ||
		(p.cfg.Protocol == resource.UpstreamDownstream && req.ProtoMajor == 2)
	return p.transport(h2).RoundTrip(req)
}

// Dial opens a TCP connection for the TCP proxy.
func (p *pool) Dial(ctx context.Context, addr string) (net.Conn, error) {
	return p.dial(ctx, "tcp", addr)
}

// dial connects with the cluster's connect_timeout, counting connections.
func (p *pool) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := p.dialer.DialContext(ctx, network, addr)
	if err != nil {
		p.stats.CxConnectFail.Inc()
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			p.stats.CxConnectTimeout.Inc()
		}
		return nil, err
	}
	p.stats.CxTotal.Inc()
	p.stats.CxActive.Inc()
	return &countedConn{Conn: c, active: p.stats.CxActive}, nil
}

// CloseIdle closes idle connections of both transports.
func (p *pool) CloseIdle() {
	for _, t := range []*http.Transport{p.h1.Load(), p.h2.Load()} {
		if t != nil {
			t.CloseIdleConnections()
		}
	}
}

type countedConn struct {
	net.Conn
	active *stats.Gauge
	once   sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(c.active.Dec)
	return c.Conn.Close()
}

// CloseWrite half-closes the connection (TCP proxy).
func (c *countedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Close()
}
