// Package listener owns the proxy's listening sockets, keyed by address. A
// configuration swap keeps the socket of every address that stays, swapping
// only its connection handler; new addresses are bound before anything
// changes, so a bind error leaves the running configuration untouched.
package listener

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
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
	Address string // host:port to bind
	Handler Handler
}

// Options configure a Manager.
type Options struct {
	Stats  *stats.Store
	Logger *slog.Logger
}

// Manager holds the listening sockets.
type Manager struct {
	opts    Options
	log     *slog.Logger
	mu      sync.Mutex
	sockets map[string]*socket // by address
	wg      sync.WaitGroup
	closed  bool
}

type socket struct {
	name    string
	ln      net.Listener
	handler atomic.Pointer[handlerBox]
	cxTotal *stats.Counter
	active  *stats.Gauge
}

type handlerBox struct{ h Handler }

// NewManager returns an empty manager.
func NewManager(opts Options) *Manager {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Stats == nil {
		opts.Stats = stats.New()
	}
	return &Manager{opts: opts, log: opts.Logger.With("component", "listener"), sockets: map[string]*socket{}}
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
			return nil, fmt.Errorf("Listener %q: address %s already used by Listener %q", s.Name, s.Address, other)
		}
		seen[s.Address] = s.Name
		if _, ok := m.sockets[s.Address]; ok {
			continue
		}
		ln, err := net.Listen("tcp", s.Address)
		if err != nil {
			p.Abort()
			return nil, fmt.Errorf("Listener %q: address: %w", s.Name, err)
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

// Commit swaps handlers of kept sockets, starts serving new ones and closes
// the sockets no spec names (their open connections drain on their own).
func (p *Pending) Commit() {
	m := p.m
	m.mu.Lock()
	defer m.mu.Unlock()
	want := map[string]bool{}
	for _, s := range p.specs {
		want[s.Address] = true
		sock := m.sockets[s.Address]
		if sock == nil {
			sock = p.fresh[s.Address]
			m.sockets[s.Address] = sock
			sock.handler.Store(&handlerBox{s.Handler})
			m.wg.Add(1)
			go m.accept(sock)
			continue
		}
		sock.name = s.Name
		sock.handler.Store(&handlerBox{s.Handler})
	}
	for addr, sock := range m.sockets {
		if !want[addr] {
			_ = sock.ln.Close()
			delete(m.sockets, addr)
		}
	}
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
		s.cxTotal.Inc()
		s.active.Inc()
		go s.handler.Load().h.ServeConn(&trackedConn{Conn: c, active: s.active})
	}
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
