// Package admin serves the proxy's Envoy-compatible admin endpoints
// (/config_dump, /ready, /stats, /clusters, /listeners, /certs, /logging,
// /quitquitquit), Go's profiles (/debug/pprof/, to loopback clients only)
// and the readiness endpoint (/healthz/ready).
package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/lateenmesh/lateen/internal/httpserve"
	"github.com/lateenmesh/lateen/internal/proxy/runtime"
	"github.com/lateenmesh/lateen/internal/proxy/stats"
)

// Source is the runtime as the admin server sees it.
type Source interface {
	Current() *runtime.Graph
	Ready() <-chan struct{}
}

// Options configure a Server.
type Options struct {
	Address      string // admin, e.g. 127.0.0.1:15000
	ReadyAddress string // readiness, e.g. 127.0.0.1:15021; empty: none
	Source       Source
	Stats        *stats.Store
	Listeners    func() map[string]string // listener name → bound address
	Level        *slog.LevelVar
	Quit         func()     // /quitquitquit
	Certs        CertSource // /certs; nil: no certificates
	Logger       *slog.Logger
}

// Server is the admin and readiness HTTP server.
type Server struct {
	opts    Options
	log     *slog.Logger
	started chan struct{}
	mu      sync.Mutex
	addrs   [2]string
}

// New validates opts; it does no I/O.
func New(opts Options) (*Server, error) {
	if opts.Address == "" || opts.Source == nil || opts.Stats == nil || opts.Level == nil {
		return nil, errors.New("admin: Address, Source, Stats and Level are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Quit == nil {
		opts.Quit = func() {}
	}
	if opts.Listeners == nil {
		opts.Listeners = func() map[string]string { return nil }
	}
	return &Server{opts: opts, log: opts.Logger.With("component", "admin"), started: make(chan struct{})}, nil
}

// Started is closed once both sockets are bound.
func (s *Server) Started() <-chan struct{} { return s.started }

// Addr returns the bound admin address (after Started).
func (s *Server) Addr() string { s.mu.Lock(); defer s.mu.Unlock(); return s.addrs[0] }

// ReadyAddr returns the bound readiness address (after Started).
func (s *Server) ReadyAddr() string { s.mu.Lock(); defer s.mu.Unlock(); return s.addrs[1] }

// Run serves until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	handlers := []http.Handler{s.adminMux()}
	addrs := []string{s.opts.Address}
	if s.opts.ReadyAddress != "" {
		handlers, addrs = append(handlers, s.readyMux()), append(addrs, s.opts.ReadyAddress)
	}
	lns, err := httpserve.Listen(addrs)
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	s.mu.Lock()
	for i, ln := range lns {
		s.addrs[i] = ln.Addr().String()
	}
	s.mu.Unlock()
	close(s.started)
	if err := httpserve.Serve(ctx, lns, handlers); err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	return nil
}

func (s *Server) isReady() bool {
	select {
	case <-s.opts.Source.Ready():
		return true
	default:
		return false
	}
}

func (s *Server) readyMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz/ready", func(w http.ResponseWriter, _ *http.Request) {
		if !s.isReady() {
			http.Error(w, "configuration not received yet", http.StatusServiceUnavailable)
			return
		}
		_, _ = fmt.Fprintln(w, "LIVE")
	})
	return mux
}

func (s *Server) adminMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/ready", func(w http.ResponseWriter, _ *http.Request) {
		if !s.isReady() {
			http.Error(w, "PRE_INITIALIZING", http.StatusServiceUnavailable)
			return
		}
		_, _ = fmt.Fprintln(w, "LIVE")
	})
	mux.HandleFunc("/config_dump", s.configDump)
	mux.HandleFunc("/stats", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		_ = s.opts.Stats.WriteText(w)
	})
	mux.HandleFunc("/clusters", s.clusters)
	mux.HandleFunc("/certs", s.certs)
	mux.HandleFunc("/listeners", s.listeners)
	mux.HandleFunc("/logging", s.logging)
	registerPprof(mux)
	mux.HandleFunc("/quitquitquit", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST required", http.StatusMethodNotAllowed)
			return
		}
		_, _ = fmt.Fprintln(w, "OK")
		s.log.Info("exit requested through /quitquitquit")
		s.opts.Quit()
	})
	return mux
}

func (s *Server) listeners(w http.ResponseWriter, _ *http.Request) {
	addrs := s.opts.Listeners()
	names := make([]string, 0, len(addrs))
	for n := range addrs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		_, _ = fmt.Fprintf(w, "%s::%s\n", n, addrs[n])
	}
}

func (s *Server) logging(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		if lvl := r.URL.Query().Get("level"); lvl != "" {
			var l slog.Level
			if err := l.UnmarshalText([]byte(strings.ToUpper(lvl))); err != nil {
				http.Error(w, "unknown level "+lvl, http.StatusBadRequest)
				return
			}
			s.opts.Level.Set(l)
		}
	}
	_, _ = fmt.Fprintf(w, "active loggers:\n  lateen-proxy: %s\n", strings.ToLower(s.opts.Level.Level().String()))
}
