// Package listener owns the proxy's listening sockets, keyed by address. A
// configuration swap keeps the socket of every address that stays, swapping
// only its connection handler; new addresses are bound before anything
// changes, so a bind error leaves the running configuration untouched.
// Listeners that are not bound (bind_to_port false) receive the connections
// a use_original_dst listener hands over (see handoff.go).
package listener

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/stats"
)

// Handler serves one accepted connection; it owns and closes it.
type Handler interface {
	ServeConn(c net.Conn)
}

// Spec is one listener to have.
type Spec struct {
	Name    string
	Address string // host:port to bind (unbound: the listener's address)
	Handler Handler
	// Unbound (Envoy's bind_to_port false) opens no socket: the listener
	// only serves connections a UseOriginalDst listener hands over.
	Unbound bool
	// RestoreOriginalDst (the original_dst listener filter) makes a
	// connection's original destination, before iptables REDIRECT, its
	// local address, so filter chains match the port it was sent to.
	RestoreOriginalDst bool
	// UseOriginalDst restores the original destination too, then hands
	// the connection to the listener for that address (exact, else the
	// wildcard address with its port); without one it serves it itself.
	UseOriginalDst bool
}

// Options configure a Manager.
type Options struct {
	Stats  *stats.Store
	Logger *slog.Logger
	// OriginalDst finds a redirected connection's original destination
	// (nil: SOOriginalDst, getsockopt SO_ORIGINAL_DST).
	OriginalDst func(net.Conn) (netip.AddrPort, error)
}

// Manager holds the listening sockets.
type Manager struct {
	opts    Options
	log     *slog.Logger
	mu      sync.Mutex
	sockets map[string]*socket // bound, by address
	unbound map[string]*socket // by address
	// byAddress is every listener by its normalized address, for handoffs
	// (replaced whole on Commit).
	byAddress atomic.Pointer[map[string]*socket]
	wg        sync.WaitGroup
	closed    bool
}

type socket struct {
	name    string
	ln      net.Listener // nil when unbound
	handler atomic.Pointer[handlerBox]
	cxTotal *stats.Counter
	active  *stats.Gauge
}

// handlerBox is what a socket does with a connection: restore its
// original destination (and hand it over), then serve it with h.
type handlerBox struct {
	h              Handler
	restore        bool
	useOriginalDst bool
}

func boxOf(s Spec) *handlerBox {
	return &handlerBox{h: s.Handler, restore: s.RestoreOriginalDst || s.UseOriginalDst, useOriginalDst: s.UseOriginalDst}
}

// NewManager returns an empty manager.
func NewManager(opts Options) *Manager {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Stats == nil {
		opts.Stats = stats.New()
	}
	if opts.OriginalDst == nil {
		opts.OriginalDst = SOOriginalDst
	}
	return &Manager{opts: opts, log: opts.Logger.With("component", "listener"), sockets: map[string]*socket{},
		unbound: map[string]*socket{}}
}

// Pending is an update whose new sockets are bound but not yet serving.
type Pending struct {
	m     *Manager
	specs []Spec
	fresh map[string]*socket
}

// Prepare binds the addresses of specs that are not bound yet. On error the
// sockets it bound are closed and nothing changes.
func (m *Manager) Prepare(specs []Spec) (*Pending, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, errors.New("listener manager closed")
	}
	p := &Pending{m: m, specs: specs, fresh: map[string]*socket{}}
	seen := map[string]string{}
	for _, s := range specs {
		if other, dup := seen[s.Address]; dup {
			p.Abort()
			return nil, fmt.Errorf("listener %q: address %s already used by Listener %q", s.Name, s.Address, other)
		}
		seen[s.Address] = s.Name
		if _, ok := m.sockets[s.Address]; ok || s.Unbound {
			continue
		}
		ln, err := listen(s.Address)
		if err != nil {
			p.Abort()
			return nil, fmt.Errorf("listener %q: address: %w", s.Name, err)
		}
		p.fresh[s.Address] = m.newSocket(s, ln)
	}
	return p, nil
}

func (m *Manager) newSocket(s Spec, ln net.Listener) *socket {
	prefix := "listener." + s.Address + "."
	return &socket{name: s.Name, ln: ln, cxTotal: m.opts.Stats.Counter(prefix + "downstream_cx_total"),
		active: m.opts.Stats.Gauge(prefix + "downstream_cx_active")}
}

// Abort closes the sockets Prepare bound.
func (p *Pending) Abort() {
	for _, s := range p.fresh {
		_ = s.ln.Close()
	}
	p.fresh = nil
}

// listen binds a TCP address. 0.0.0.0 gets an IPv4 socket, as Envoy binds
// it and as SO_ORIGINAL_DST needs (Go would make it a dual-stack IPv6
// socket); other IPv4 addresses get one anyway.
func listen(addr string) (net.Listener, error) {
	if ap, err := netip.ParseAddrPort(addr); err == nil && ap.Addr() == netip.IPv4Unspecified() {
		return net.Listen("tcp4", addr)
	}
	return net.Listen("tcp", addr)
}

// Commit swaps handlers of kept sockets, starts serving new ones and closes
// the sockets no spec names (their open connections drain on their own).
// After Close (the proxy stopping between Prepare and Commit) it only
// closes the sockets Prepare bound.
func (p *Pending) Commit() {
	m := p.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		p.Abort()
		return
	}
	want := map[string]bool{} // address → unbound
	for _, s := range p.specs {
		want[s.Address] = s.Unbound
		if s.Unbound {
			m.commitUnbound(s)
			continue
		}
		sock := m.sockets[s.Address]
		if sock == nil {
			sock = p.fresh[s.Address]
			m.sockets[s.Address] = sock
			sock.handler.Store(boxOf(s))
			m.wg.Add(1)
			go m.accept(sock)
			continue
		}
		sock.name = s.Name
		sock.handler.Store(boxOf(s))
	}
	for addr, sock := range m.sockets {
		if unbound, ok := want[addr]; !ok || unbound {
			_ = sock.ln.Close()
			delete(m.sockets, addr)
		}
	}
	for addr := range m.unbound {
		if unbound, ok := want[addr]; !ok || !unbound {
			delete(m.unbound, addr)
		}
	}
	m.publish()
}

// commitUnbound keeps (or creates) the unbound listener of s.
func (m *Manager) commitUnbound(s Spec) {
	sock := m.unbound[s.Address]
	if sock == nil {
		sock = m.newSocket(s, nil)
		m.unbound[s.Address] = sock
	}
	sock.name = s.Name
	sock.handler.Store(boxOf(s))
}

func (m *Manager) accept(s *socket) {
	defer m.wg.Done()
	var delay time.Duration
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			m.log.Warn("accept failed", "address", s.ln.Addr().String(), "err", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		go m.serve(s, c)
	}
}

// serve runs a connection accepted on s through its original destination
// handling, then the handler of the listener that takes it.
func (m *Manager) serve(s *socket, c net.Conn) {
	target, box := s, s.handler.Load()
	if box.restore {
		c = m.restore(c)
	}
	if box.useOriginalDst {
		if t := m.lookup(c.LocalAddr()); t != nil && t != s {
			target, box = t, t.handler.Load()
		}
	}
	target.cxTotal.Inc()
	target.active.Inc()
	box.h.ServeConn(&trackedConn{Conn: c, active: target.active})
}

// Addresses returns the bound addresses (as bound, with the real port) by
// listener name.
func (m *Manager) Addresses() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]string, len(m.sockets))
	for _, s := range m.sockets {
		out[s.name] = s.ln.Addr().String()
	}
	return out
}

// Run blocks until ctx ends, then closes every socket and waits for the
// accept loops to stop.
func (m *Manager) Run(ctx context.Context) error {
	<-ctx.Done()
	m.Close()
	return nil
}

// Close closes every socket and waits for the accept loops.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	for addr, s := range m.sockets {
		_ = s.ln.Close()
		delete(m.sockets, addr)
	}
	clear(m.unbound)
	m.publish()
	m.mu.Unlock()
	m.wg.Wait()
}

// trackedConn keeps downstream_cx_active right whoever closes the conn.
type trackedConn struct {
	net.Conn
	active *stats.Gauge
	once   sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(c.active.Dec)
	return c.Conn.Close()
}

// CloseWrite half-closes the connection (TCP proxy).
func (c *trackedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Close()
}
