package cluster

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/mtls"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/stats"
)

// ErrOverflow is returned when a circuit breaker refuses a request or a
// connection (Envoy's response flag UO).
var ErrOverflow = errors.New("circuit breaker overflow")

// defaultIdleTimeout is Envoy's upstream idle_timeout (1h).
const defaultIdleTimeout = time.Hour

// pool is a cluster's connection pool, Envoy-style: connections to every
// host of the cluster count against max_connections; a request that finds
// no free connection and may not open one waits as pending (at most
// max_pending_requests, else it fails with ErrOverflow). Each connection is
// an http.ClientConn (HTTP/1.1, or h2c with many streams).
type pool struct {
	cfg    *resource.Cluster
	stats  *Stats
	dialer net.Dialer
	h1, h2 *http.Transport
	// sessions resume upstream TLS sessions; the pool keeps them across
	// configurations that keep its settings.
	sessions *mtls.Sessions

	mu      sync.Mutex
	conns   map[connKey][]*pconn
	total   int // open and dialing connections
	pending int // requests waiting for a connection
	wake    chan struct{}
	closed  bool // CloseIdle was called: drain everything
}

type connKey struct {
	addr string
	h2   bool
	tls  string // TLS settings and server name ("": plaintext)
}

type pconn struct {
	cc       *http.ClientConn
	conn     net.Conn // what dial returned (for httptrace's GotConn)
	key      connKey
	requests uint32
	draining bool // no new requests; closed once idle
	removed  bool
	idle     *time.Timer
}

func newPool(cfg *resource.Cluster, st *Stats) *pool {
	p := &pool{cfg: cfg, stats: st, conns: map[connKey][]*pconn{}, wake: make(chan struct{}),
		dialer: net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: -1}, sessions: mtls.NewSessions(maxSessions)}
	p.dialer.LocalAddr = sourceAddr(cfg) // upstream_bind_config, see originaldst.go
	if ka := cfg.Pool.KeepAlive; ka != nil {
		p.dialer.KeepAliveConfig = net.KeepAliveConfig{Enable: true, Idle: orOS(ka.Time),
			Interval: orOS(ka.Interval), Count: int(ka.Probes)}
		if ka.Probes == 0 {
			p.dialer.KeepAliveConfig.Count = -1
		}
	}
	return p // transports are made on first use: most pools of a large mesh never connect
}

// orOS maps an unset keepalive setting to "leave the OS default".
func orOS(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// transport returns the HTTP/1.1 or h2c transport, made on first use.
func (p *pool) transport(h2 bool) *http.Transport {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := &p.h1
	if h2 {
		t = &p.h2
	}
	if *t == nil {
		*t = p.newTransport(h2)
	}
	return *t
}

func (p *pool) newTransport(h2 bool) *http.Transport {
	t := &http.Transport{DialContext: p.dial, DisableCompression: true, Protocols: new(http.Protocols),
		IdleConnTimeout: p.idleTimeout()}
	if h2 {
		t.Protocols.SetUnencryptedHTTP2(true)
	} else {
		t.Protocols.SetHTTP1(true)
	}
	return t
}

func (p *pool) idleTimeout() time.Duration {
	if p.cfg.Pool.IdleTimeout > 0 {
		return p.cfg.Pool.IdleTimeout
	}
	return defaultIdleTimeout
}

// maxSessions bounds a pool's TLS session cache.
const maxSessions = 1024

// RoundTrip sends req to req.URL.Host over a pooled connection, over TLS
// with t (nil: plaintext).
func (p *pool) RoundTrip(req *http.Request, t *mtls.Client) (*http.Response, error) {
	h2 := p.cfg.Protocol == resource.UpstreamHTTP2 ||
		(p.cfg.Protocol == resource.UpstreamDownstream && req.ProtoMajor == 2)
	key := connKey{addr: req.URL.Host, h2: h2}
	ctx := req.Context()
	if t != nil {
		sni := t.ServerName(req.Host)
		key.tls = t.Key() + "|" + sni
		ctx = withTLS(ctx, t, sni)
	}
	pc, err := p.acquire(ctx, key)
	if err != nil {
		return nil, err
	}
	if trace := httptrace.ContextClientTrace(ctx); trace != nil && trace.GotConn != nil && pc.conn != nil {
		trace.GotConn(httptrace.GotConnInfo{Conn: pc.conn})
	}
	return pc.cc.RoundTrip(req)
}

// dialedKey carries a *net.Conn in which dial stores the connection it
// made: http.ClientConn does not tell.
type dialedKey struct{}

// dialTLS is what dial needs to add TLS to a new connection.
type dialTLS struct {
	client *mtls.Client
	sni    string
}

type dialTLSKey struct{}

func withTLS(ctx context.Context, t *mtls.Client, sni string) context.Context {
	return context.WithValue(ctx, dialTLSKey{}, dialTLS{client: t, sni: sni})
}

// acquire returns a connection with a reserved request slot. Methods of
// http.ClientConn that may run its state hook (Reserve, Release, Close,
// RoundTrip) are never called with p.mu held: the hook takes p.mu.
func (p *pool) acquire(ctx context.Context, key connKey) (*pconn, error) {
	if pc := p.reserve(key); pc != nil {
		return pc, nil
	}
	if !p.enterPending() {
		return nil, ErrOverflow
	}
	defer p.leavePending()
	overflowed := false
	for {
		p.mu.Lock()
		wake := p.wake // any later change closes it
		p.mu.Unlock()
		if pc := p.reserve(key); pc != nil {
			return pc, nil
		}
		p.mu.Lock()
		if p.total < int(p.cfg.Limits.MaxConnections) {
			p.total++
			p.updateBreakers()
			p.mu.Unlock()
			return p.connect(ctx, key)
		}
		if victim := p.idleOther(key); victim != nil {
			p.remove(victim)
			p.mu.Unlock()
			victim.cc.Close() //nolint:errcheck // an idle connection
			continue
		}
		if !overflowed {
			overflowed = true
			p.stats.CxOverflow.Inc()
		}
		p.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// enterPending counts a request waiting for a connection, under
// max_pending_requests.
func (p *pool) enterPending() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pending >= int(p.cfg.Limits.MaxPendingRequests) {
		p.stats.RqPendingOverflow.Inc()
		return false
	}
	p.pending++
	p.stats.RqPendingTotal.Inc()
	p.stats.RqPendingActive.Inc()
	p.updateBreakers()
	return true
}

func (p *pool) leavePending() {
	p.mu.Lock()
	p.pending--
	p.stats.RqPendingActive.Dec()
	p.updateBreakers()
	p.mu.Unlock()
}

// reserve finds a usable connection for key and reserves a request slot.
func (p *pool) reserve(key connKey) *pconn {
	p.mu.Lock()
	candidates := make([]*pconn, 0, len(p.conns[key]))
	for _, pc := range p.conns[key] {
		if !pc.draining && !pc.removed {
			candidates = append(candidates, pc)
		}
	}
	p.mu.Unlock()
	for _, pc := range candidates {
		if n := p.cfg.Pool.MaxConcurrentStreams; key.h2 && n > 0 && pc.cc.InFlight() >= int(n) {
			continue
		}
		if pc.cc.Reserve() != nil {
			continue
		}
		p.mu.Lock()
		ok := !pc.removed && !pc.draining
		if ok {
			p.use(pc)
		}
		p.mu.Unlock()
		if ok {
			return pc
		}
		pc.cc.Release()
	}
	return nil
}

// use accounts one request on pc. p.mu is held.
func (p *pool) use(pc *pconn) {
	pc.requests++
	if pc.idle != nil {
		pc.idle.Stop()
		pc.idle = nil
	}
	if n := p.cfg.Pool.MaxRequestsPerConnection; n > 0 && pc.requests >= n {
		pc.draining = true
		p.stats.CxMaxRequests.Inc()
	}
}

// idleOther finds an idle connection to another host, to be closed so that
// a pending request may connect (max_connections is cluster-wide). p.mu is
// held.
func (p *pool) idleOther(key connKey) *pconn {
	for k, list := range p.conns {
		if k == key {
			continue
		}
		for _, pc := range list {
			if !pc.removed && pc.cc.InFlight() == 0 {
				return pc
			}
		}
	}
	return nil
}

// connect opens a connection for key (p.total already counts it) and
// reserves its first request slot.
func (p *pool) connect(ctx context.Context, key connKey) (*pconn, error) {
	dialed := new(net.Conn)
	cc, err := p.transport(key.h2).NewClientConn(context.WithValue(ctx, dialedKey{}, dialed), "http", key.addr)
	if err == nil {
		err = cc.Reserve() // no state hook yet: safe in any order
		if err != nil {
			cc.Close() //nolint:errcheck
		}
	}
	p.mu.Lock()
	if err != nil {
		p.total--
		p.updateBreakers()
		p.signal()
		p.mu.Unlock()
		return nil, err
	}
	pc := &pconn{cc: cc, key: key, conn: *dialed}
	p.conns[key] = append(p.conns[key], pc)
	p.use(pc)
	if d := p.cfg.Pool.MaxConnectionDuration; d > 0 {
		time.AfterFunc(d, func() { p.expire(pc) })
	}
	p.mu.Unlock()
	cc.SetStateHook(func(*http.ClientConn) { p.onState(pc) })
	return pc, nil
}

// onState reacts to a connection's state change: a closed connection leaves
// the pool, an idle one is closed when draining or gets its idle timer,
// and waiters are woken.
func (p *pool) onState(pc *pconn) {
	p.mu.Lock()
	closeNow := false
	switch {
	case pc.removed:
	case pc.cc.Err() != nil:
		p.remove(pc)
	case pc.cc.InFlight() == 0 && (pc.draining || p.closed):
		p.remove(pc)
		closeNow = true
	case pc.cc.InFlight() == 0 && pc.idle == nil:
		pc.idle = time.AfterFunc(p.idleTimeout(), func() { p.idleTimedOut(pc) })
	}
	p.signal()
	p.mu.Unlock()
	if closeNow {
		pc.cc.Close() //nolint:errcheck
	}
}

func (p *pool) idleTimedOut(pc *pconn) {
	p.mu.Lock()
	if pc.removed || pc.cc.InFlight() > 0 {
		p.mu.Unlock()
		return
	}
	p.stats.CxIdleTimeout.Inc()
	p.remove(pc)
	p.mu.Unlock()
	pc.cc.Close() //nolint:errcheck
}

// expire ends a connection at max_connection_duration: drained, then closed.
func (p *pool) expire(pc *pconn) {
	p.mu.Lock()
	if pc.removed {
		p.mu.Unlock()
		return
	}
	p.stats.CxMaxDurationReached.Inc()
	pc.draining = true
	idle := pc.cc.InFlight() == 0
	if idle {
		p.remove(pc)
	}
	p.mu.Unlock()
	if idle {
		pc.cc.Close() //nolint:errcheck
	}
}

// remove takes pc out of the pool. p.mu is held.
func (p *pool) remove(pc *pconn) {
	if pc.removed {
		return
	}
	pc.removed = true
	if pc.idle != nil {
		pc.idle.Stop()
	}
	list := p.conns[pc.key]
	for i, c := range list {
		if c == pc {
			p.conns[pc.key] = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(p.conns[pc.key]) == 0 {
		delete(p.conns, pc.key)
	}
	p.total--
	p.updateBreakers()
	p.signal()
}

// signal wakes every pending request. p.mu is held.
func (p *pool) signal() {
	close(p.wake)
	p.wake = make(chan struct{})
}

// updateBreakers publishes the circuit breaker gauges. p.mu is held.
func (p *pool) updateBreakers() {
	l := p.cfg.Limits
	p.stats.breaker(p.stats.CxOpen, p.stats.RemainingCx, p.total, l.MaxConnections, p.cfg.TrackRemaining)
	p.stats.breaker(p.stats.RqPendingOpen, p.stats.RemainingPending, p.pending, l.MaxPendingRequests, p.cfg.TrackRemaining)
}

// Dial opens a TCP connection for the TCP proxy, under max_connections,
// over TLS with t (nil: plaintext).
func (p *pool) Dial(ctx context.Context, addr string, t *mtls.Client) (net.Conn, error) {
	if t != nil {
		ctx = withTLS(ctx, t, t.ServerName(""))
	}
	p.mu.Lock()
	if p.total >= int(p.cfg.Limits.MaxConnections) {
		p.stats.CxOverflow.Inc()
		p.mu.Unlock()
		return nil, ErrOverflow
	}
	p.total++
	p.updateBreakers()
	p.mu.Unlock()
	c, err := p.dial(ctx, "tcp", addr)
	if err != nil {
		p.release()
		return nil, err
	}
	cc := c.(countedOf)
	cc.counted().onClose = p.release
	return c, nil
}

// countedOf is a dialed connection (plaintext or TLS) with its counted
// TCP connection.
type countedOf interface{ counted() *countedConn }

func (c *countedConn) counted() *countedConn { return c }

func (p *pool) release() {
	p.mu.Lock()
	p.total--
	p.updateBreakers()
	p.signal()
	p.mu.Unlock()
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
	var conn net.Conn = &countedConn{Conn: c, active: p.stats.CxActive}
	if t, ok := ctx.Value(dialTLSKey{}).(dialTLS); ok {
		if conn, err = p.handshake(ctx, conn.(*countedConn), t, addr); err != nil {
			return nil, err
		}
	}
	if slot, ok := ctx.Value(dialedKey{}).(*net.Conn); ok {
		*slot = conn
	}
	return conn, nil
}

// handshake adds TLS to a new upstream connection. A failure is a dial
// error (503 UF) whose reason is the TLS error.
func (p *pool) handshake(ctx context.Context, cc *countedConn, t dialTLS, addr string) (net.Conn, error) {
	hctx, cancel := context.WithTimeout(ctx, p.cfg.ConnectTimeout)
	defer cancel()
	tc, err := t.client.Handshake(hctx, cc, t.sni, p.sessions)
	if err != nil {
		p.stats.SSL.ConnectionError.Inc()
		if errors.Is(err, mtls.ErrSAN) {
			p.stats.SSL.FailVerifySAN.Inc()
		}
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: tcpAddr(addr), Err: err}
	}
	p.stats.SSL.Handshake.Inc()
	if tc.ConnectionState().DidResume {
		p.stats.SSL.SessionReused.Inc()
	}
	return &tlsConn{Conn: tc, cc: cc}, nil
}

func tcpAddr(addr string) net.Addr {
	if a, err := net.ResolveTCPAddr("tcp", addr); err == nil {
		return a
	}
	return nil
}

// tlsConn is an upstream TLS connection over a counted one; its Peer is
// the server (mtls.PeerOf).
type tlsConn struct {
	*mtls.Conn
	cc *countedConn
}

func (c *tlsConn) counted() *countedConn { return c.cc }

// CloseIdle closes idle connections and drains the others (they close when
// their requests finish).
func (p *pool) CloseIdle() {
	p.mu.Lock()
	p.closed = true
	var idle []*pconn
	for _, list := range p.conns {
		for _, pc := range list {
			pc.draining = true
			if pc.cc.InFlight() == 0 {
				idle = append(idle, pc)
			}
		}
	}
	for _, pc := range idle {
		p.remove(pc)
	}
	p.mu.Unlock()
	for _, pc := range idle {
		pc.cc.Close() //nolint:errcheck
	}
}

type countedConn struct {
	net.Conn
	active  *stats.Gauge
	onClose func()
	once    sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() {
		c.active.Dec()
		if c.onClose != nil {
			c.onClose()
		}
	})
	return c.Conn.Close()
}

// CloseWrite half-closes the connection (TCP proxy).
func (c *countedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Close()
}
