package http

import (
	"context"
	"errors"
	"log/slog"
	"net"
	nethttp "net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/mtls"
)

// Slot points the connections of one listener filter chain at its current
// ConnManager. The runtime stores a new ConnManager on every swap, so
// requests on kept-alive connections use the new routes while in-flight ones
// finish on the one they started with. A drained slot (its listener or chain
// was removed) keeps its last manager and closes connections after their
// current request.
type Slot struct {
	cm       atomic.Pointer[ConnManager]
	draining atomic.Bool
}

// Store makes cm current.
func (s *Slot) Store(cm *ConnManager) { s.cm.Store(cm) }

// Drain marks the slot's connections to close after their current request.
func (s *Slot) Drain() { s.draining.Store(true) }

// downstreamConn is an accepted connection with what its requests need,
// computed once per connection.
type downstreamConn struct {
	net.Conn
	slot     *Slot
	listener string
	local    string     // local address, host:port
	remote   string     // peer address, host:port
	peerHost string     // peer address without the port
	peerIP   netip.Addr // invalid when peerHost is not an IP
	tls      *mtls.Peer // nil: plaintext
}

func newDownstreamConn(c net.Conn, slot *Slot, listener string) *downstreamConn {
	d := &downstreamConn{Conn: c, slot: slot, listener: listener, local: c.LocalAddr().String(),
		remote: c.RemoteAddr().String(), tls: mtls.PeerOf(c)}
	d.peerHost, _, _ = net.SplitHostPort(d.remote)
	if ip, err := netip.ParseAddr(d.peerHost); err == nil {
		d.peerIP = ip.Unmap()
	}
	return d
}

type connKey struct{}

// ServerOptions configure a Server.
type ServerOptions struct {
	Logger            *slog.Logger
	DrainTimeout      time.Duration // graceful shutdown bound; default 5s
	IdleTimeout       time.Duration // downstream keep-alive; default 1h (Envoy's)
	ReadHeaderTimeout time.Duration // default 60s
}

// Server serves HTTP/1.1 and h2c (prior knowledge) on every connection the
// listeners hand it. One Server serves all HTTP listeners.
type Server struct {
	opts  ServerOptions
	srv   *nethttp.Server
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

// NewServer returns a server; Serve starts it.
func NewServer(opts ServerOptions) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = 5 * time.Second
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = time.Hour
	}
	if opts.ReadHeaderTimeout <= 0 {
		opts.ReadHeaderTimeout = time.Minute
	}
	s := &Server{opts: opts, conns: make(chan net.Conn), done: make(chan struct{})}
	protocols := new(nethttp.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	s.srv = &nethttp.Server{
		Handler:           nethttp.HandlerFunc(s.serveHTTP),
		Protocols:         protocols,
		IdleTimeout:       opts.IdleTimeout,
		ReadHeaderTimeout: opts.ReadHeaderTimeout,
		ErrorLog:          slog.NewLogLogger(opts.Logger.Handler(), slog.LevelDebug),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
	}
	return s
}

// Serve serves until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(&chanListener{s: s}) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Shutdown marks the server as closing before it closes the listener
	// (which closes done), so Serve returns ErrServerClosed, not the
	// listener's ErrClosed.
	sctx, cancel := context.WithTimeout(context.Background(), s.opts.DrainTimeout)
	defer cancel()
	if err := s.srv.Shutdown(sctx); err != nil {
		_ = s.srv.Close()
	}
	s.once.Do(func() { close(s.done) })
	if err := <-errc; err != nil && !errors.Is(err, nethttp.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

// ServeConn hands an accepted connection to the server; it returns once the
// server took it (or closes it when the server is shutting down).
func (s *Server) ServeConn(c net.Conn, slot *Slot, listener string) {
	select {
	case s.conns <- newDownstreamConn(c, slot, listener):
	case <-s.done:
		_ = c.Close()
	}
}

func (s *Server) serveHTTP(w nethttp.ResponseWriter, r *nethttp.Request) {
	c, _ := r.Context().Value(connKey{}).(*downstreamConn)
	if c == nil {
		nethttp.Error(w, "no connection", nethttp.StatusInternalServerError)
		return
	}
	cm := c.slot.cm.Load()
	if cm == nil {
		nethttp.Error(w, "no configuration", nethttp.StatusServiceUnavailable)
		return
	}
	cm.serve(w, r, c, c.slot.draining.Load())
}

// chanListener feeds ServeConn's connections to http.Server.Serve.
type chanListener struct{ s *Server }

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.s.conns:
		return c, nil
	case <-l.s.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.s.once.Do(func() { close(l.s.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return &net.TCPAddr{} }
