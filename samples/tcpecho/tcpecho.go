// Package tcpecho reproduces Istio's "tcp-echo" sample: a TCP server that
// answers every line it receives with the same line behind a prefix, so a
// client can tell which version (prefix "one" or "two") served it.
package tcpecho

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"

	"github.com/lateenmesh/lateen/samples/internal/appkit"
)

// maxLine bounds the length of one received line.
const maxLine = 1 << 20

// Options configures the echo server.
type Options struct {
	// Addr is the host:port to listen on.
	Addr string
	// Prefix is put, followed by a space, before every echoed line; when
	// empty the line is echoed unchanged.
	Prefix string
	// Logger receives connection logs; nil discards them.
	Logger *slog.Logger
	// OnListen, when set, is told the bound address once listening.
	OnListen func(net.Addr)
}

// Run serves on opts.Addr until ctx is cancelled, then closes the listener
// and every open connection and returns nil once they are all done.
func Run(ctx context.Context, opts Options) error {
	l := appkit.Logger(opts.Logger).With("app", "tcp-echo", "prefix", opts.Prefix)
	ln, err := appkit.Listen(ctx, opts.Addr, opts.OnListen)
	if err != nil {
		return err
	}
	l.Info("listening", "addr", ln.Addr().String())
	s := &server{prefix: opts.Prefix, logger: l, conns: map[net.Conn]struct{}{}}
	stop := context.AfterFunc(ctx, func() { s.close(ln) })
	defer stop()
	err = s.accept(ln)
	s.close(ln)
	s.wg.Wait()
	if ctx.Err() != nil {
		l.Info("stopped")
		return nil
	}
	return err
}

type server struct {
	prefix string
	logger *slog.Logger
	wg     sync.WaitGroup

	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]struct{}
}

func (s *server) accept(ln net.Listener) error {
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		if !s.track(conn) {
			conn.Close()
			return nil
		}
		s.wg.Go(func() {
			defer s.untrack(conn)
			s.handle(conn)
		})
	}
}

// close stops the listener and every tracked connection; it is idempotent.
func (s *server) close(ln net.Listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	ln.Close()
	for c := range s.conns {
		c.Close()
	}
}

func (s *server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
}

// handle echoes each line of conn back with the prefix until the peer
// closes it or the server stops.
func (s *server) handle(conn net.Conn) {
	remote := conn.RemoteAddr().String()
	s.logger.Info("connection opened", "remote", remote)
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 4096), maxLine)
	w := bufio.NewWriter(conn)
	for sc.Scan() {
		reply := sc.Text() + "\n"
		if s.prefix != "" {
			reply = s.prefix + " " + reply
		}
		if _, err := io.WriteString(w, reply); err != nil || w.Flush() != nil {
			break
		}
		s.logger.Debug("echoed", "remote", remote, "request", sc.Text())
	}
	if err := sc.Err(); err != nil && !errors.Is(err, net.ErrClosed) {
		s.logger.Warn("reading connection", "remote", remote, "err", err)
	}
	s.logger.Info("connection closed", "remote", remote)
}
