// Package httpserve runs small HTTP servers (admin, readiness, metrics) on
// several addresses for as long as a context lives.
package httpserve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// shutdownGrace bounds how long a server waits for its requests when the
// context ends.
const shutdownGrace = time.Second

// Listen binds every address, in order. On error it closes what it bound.
func Listen(addrs []string) ([]net.Listener, error) {
	lns := make([]net.Listener, 0, len(addrs))
	for _, a := range addrs {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			for _, l := range lns {
				_ = l.Close()
			}
			return nil, fmt.Errorf("listen %s: %w", a, err)
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

// Serve serves handlers[i] on lns[i] until ctx ends, then shuts every
// server down and returns the first error one of them met.
func Serve(ctx context.Context, lns []net.Listener, handlers []http.Handler) error {
	errc := make(chan error, len(lns))
	servers := make([]*http.Server, len(lns))
	for i, ln := range lns {
		servers[i] = &http.Server{Handler: handlers[i], ReadHeaderTimeout: 10 * time.Second}
		go func() { errc <- servers[i].Serve(ln) }()
	}
	<-ctx.Done()
	for _, srv := range servers {
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		_ = srv.Shutdown(sctx)
		cancel()
	}
	var first error
	for range servers {
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) && first == nil {
			first = err
		}
	}
	return first
}
