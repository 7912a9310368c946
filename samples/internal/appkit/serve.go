package appkit

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ShutdownGrace bounds how long in-flight requests may take to finish once
// the serving context is cancelled.
const ShutdownGrace = 5 * time.Second

// Listen opens a TCP listener on addr and reports its address to onListen
// when that is non-nil.
func Listen(ctx context.Context, addr string, onListen func(net.Addr)) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if onListen != nil {
		onListen(ln.Addr())
	}
	return ln, nil
}

// ServeHTTP serves h on addr until ctx is cancelled, then shuts the server
// down gracefully and returns nil. It returns an error only when listening
// or serving fails.
func ServeHTTP(ctx context.Context, addr string, h http.Handler, l *slog.Logger, onListen func(net.Addr)) error {
	l = Logger(l)
	ln, err := Listen(ctx, addr, onListen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	l.Info("listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		l.Warn("graceful shutdown incomplete, closing", "err", err)
		srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	l.Info("stopped")
	return nil
}

// WriteJSON writes v as a JSON response with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// WriteRawJSON writes an already encoded JSON body with the given status.
func WriteRawJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
