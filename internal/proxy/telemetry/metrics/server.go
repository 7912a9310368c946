package metrics

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/lateenmesh/lateen/internal/httpserve"
	"github.com/lateenmesh/lateen/internal/proxy/stats"
)

// ServerOptions configure the Prometheus endpoints.
type ServerOptions struct {
	// StatsAddress serves /stats/prometheus: Istio's metrics and the
	// included Envoy-style stats (Istio's :15090).
	StatsAddress string
	// MergedAddress, when set, serves /stats/prometheus with the same
	// content followed by the application's own metrics (Istio's :15020).
	MergedAddress string
	Stats         *Stats
	Store         *stats.Store
	// InclusionPrefixes select the Envoy-style stats exported (nil:
	// DefaultInclusionPrefixes).
	InclusionPrefixes []string
	// AppMetricsURL is where the application serves its metrics (from its
	// prometheus.io/port and /path), "" for none.
	AppMetricsURL string
	// Version is the istio_build tag.
	Version string
	// Ready reports whether the proxy holds its first configuration
	// (server.state).
	Ready  func() bool
	Logger *slog.Logger
}

// Server serves the Prometheus endpoints.
type Server struct {
	opts    ServerOptions
	log     *slog.Logger
	start   time.Time
	client  *http.Client
	started chan struct{}
	mu      sync.Mutex
	addrs   [2]string
	scrapes *Series
	failed  *Series
	extra   *Registry
}

// NewServer validates opts; it does no I/O.
func NewServer(opts ServerOptions) (*Server, error) {
	if opts.StatsAddress == "" || opts.Stats == nil || opts.Store == nil {
		return nil, errors.New("metrics: StatsAddress, Stats and Store are required")
	}
	if opts.InclusionPrefixes == nil {
		opts.InclusionPrefixes = DefaultInclusionPrefixes
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Ready == nil {
		opts.Ready = func() bool { return true }
	}
	s := &Server{opts: opts, log: opts.Logger.With("component", "metrics"), start: time.Now(),
		client: &http.Client{Timeout: 5 * time.Second}, started: make(chan struct{}), extra: NewRegistry()}
	s.extra.Family("istio_build", Gauge, nil).With([]Label{{"component", "proxy"}, {"tag", or(opts.Version, unknown)}}).Set(1)
	s.scrapes = s.extra.Family("istio_agent_scrapes_total", Counter, nil).With(nil)
	s.failed = s.extra.Family("istio_agent_scrape_failures_total", Counter, nil).With(nil)
	return s, nil
}

// Started is closed once the sockets are bound.
func (s *Server) Started() <-chan struct{} { return s.started }

// Addrs returns the bound stats and merged addresses (after Started).
func (s *Server) Addrs() (statsAddr, mergedAddr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addrs[0], s.addrs[1]
}

// Run serves until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	handlers := []http.Handler{statsMux(s.serveStats)}
	addrs := []string{s.opts.StatsAddress}
	if s.opts.MergedAddress != "" {
		handlers, addrs = append(handlers, statsMux(s.serveMerged)), append(addrs, s.opts.MergedAddress)
	}
	lns, err := httpserve.Listen(addrs)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	s.mu.Lock()
	for i, ln := range lns {
		s.addrs[i] = ln.Addr().String()
	}
	s.mu.Unlock()
	close(s.started)
	if err := httpserve.Serve(ctx, lns, handlers); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}

// statsMux serves h on /stats/prometheus.
func statsMux(h http.HandlerFunc) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stats/prometheus", h)
	return mux
}

const textFormat = "text/plain; version=0.0.4; charset=utf-8"

func (s *Server) serveStats(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", textFormat)
	if err := s.writeProxy(w); err != nil {
		s.log.Debug("writing /stats/prometheus", "err", err)
	}
}

// serveMerged writes the proxy's metrics, then the application's (Istio's
// merged endpoint): a failed application scrape leaves them out.
func (s *Server) serveMerged(w http.ResponseWriter, r *http.Request) {
	var app []byte
	if s.opts.AppMetricsURL != "" {
		s.scrapes.Add(1)
		var err error
		if app, err = s.scrapeApp(r.Context()); err != nil {
			s.failed.Add(1)
			s.log.Debug("scraping application metrics", "url", s.opts.AppMetricsURL, "err", err)
		}
	}
	w.Header().Set("Content-Type", textFormat)
	if err := s.writeProxy(w); err != nil {
		return
	}
	if len(app) > 0 {
		_, _ = w.Write(app)
		if app[len(app)-1] != '\n' {
			_, _ = io.WriteString(w, "\n")
		}
	}
}

func (s *Server) scrapeApp(ctx context.Context) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.opts.AppMetricsURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 16<<20))
}

// writeProxy writes Istio's metrics, the proxy's build and scrape
// counters, and the included Envoy-style stats.
func (s *Server) writeProxy(w io.Writer) error {
	s.refreshHealth()
	var buf bytes.Buffer
	if err := s.opts.Stats.Registry().WriteText(&buf); err != nil {
		return err
	}
	if err := s.extra.WriteText(&buf); err != nil {
		return err
	}
	if err := WriteEnvoyStats(&buf, s.opts.Store.Snapshot(), s.opts.InclusionPrefixes); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// refreshHealth updates the stats computed at scrape time: uptime,
// initialization state and days until the workload certificate expires.
func (s *Server) refreshHealth() {
	st := s.opts.Store
	st.Gauge("server.uptime").Set(int64(time.Since(s.start) / time.Second))
	state := int64(2) // PRE_INITIALIZING
	if s.opts.Ready() {
		state = 0 // LIVE
	}
	st.Gauge("server.state").Set(state)
	if exp, ok := st.Value("ssl.certificate.default.expiration_unix_time_seconds"); ok && exp > 0 {
		st.Gauge("server.days_until_first_cert_expiring").Set(max(0, (exp-time.Now().Unix())/86400))
		st.Gauge("server.seconds_until_first_cert_expiring").Set(max(0, exp-time.Now().Unix()))
	}
}
