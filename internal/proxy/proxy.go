// Package proxy is lateen-proxy: one process per workload doing Envoy's job.
// It wires the ADS client, the runtime (listeners, HTTP, TCP, clusters),
// the admin and readiness servers. See README.md for the data flow.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/admin"
	proxyhttp "github.com/lateenmesh/lateen/internal/proxy/http"
	"github.com/lateenmesh/lateen/internal/proxy/identity"
	"github.com/lateenmesh/lateen/internal/proxy/listener"
	"github.com/lateenmesh/lateen/internal/proxy/mtls"
	"github.com/lateenmesh/lateen/internal/proxy/runtime"
	"github.com/lateenmesh/lateen/internal/proxy/stats"
	"github.com/lateenmesh/lateen/internal/proxy/tcp"
	"github.com/lateenmesh/lateen/internal/proxy/telemetry/metrics"
	"github.com/lateenmesh/lateen/internal/proxy/xdsclient"
)

// Options configure a Proxy. Every tunable is here; nothing is read from
// the environment.
type Options struct {
	XDSAddress       string // default 127.0.0.1:15010
	NodeType         string // sidecar (default) or router
	IP               string // the workload's address (required)
	Namespace        string // default "default"
	WorkloadName     string // required
	ServiceAccount   string // default "default"
	Labels           map[string]string
	InterceptionMode string // NONE (default), REDIRECT, TPROXY
	ClusterID        string // default Kubernetes
	DomainSuffix     string // default cluster.local
	MeshID           string // default cluster.local
	WildcardAddress  string // bind address for 0.0.0.0 / :: listeners; default IP
	AdminAddress     string // default <IP>:15000
	ReadyAddress     string // default <IP>:15021
	Logger           *slog.Logger
	LogLevel         *slog.LevelVar // changed by /logging; default info
	DrainTimeout     time.Duration  // graceful shutdown bound; default 5s
	XDSBackoffMax    time.Duration  // default 10s

	// Workload identity (internal/proxy/identity). Without CAAddress the
	// proxy holds no certificate.
	CAAddress    string        // pilot's CA, e.g. 127.0.0.1:15012
	RootCertFile string        // PEM roots that verify pilot (CA and xDS over TLS)
	TokenFile    string        // bootstrap token file
	KeyAlgorithm string        // ECDSA (P-256, default) or RSA (2048)
	CertTTL      time.Duration // certificate lifetime asked for; 0: the CA's default
	TrustDomain  string        // when set, the CSR names the identity
	// Identity, without CAAddress, is the workload identity TLS uses
	// (tests and embedders); nil: none.
	Identity mtls.Identity
	// XDSTLS dials XDSAddress over TLS (pilot's 15012), verifying pilot
	// against RootCertFile and presenting the workload certificate; the
	// stream starts once the first certificate is held. CAAddress defaults
	// to XDSAddress then.
	XDSTLS bool

	// AccessLogStdout receives the access logs written to /dev/stdout
	// (default os.Stdout); TracingFlushInterval is how long spans wait to
	// be batched (default 1s).
	AccessLogStdout      io.Writer
	TracingFlushInterval time.Duration

	// StatsAddress serves Istio's metrics and the proxy's stats in the
	// Prometheus format (default <IP>:15090); MergedStatsAddress the same
	// followed by the application's metrics from AppMetricsURL (default
	// <IP>:15020, "-": none). StatsInclusionPrefixes select the
	// Envoy-style stats exported (nil: the proxy's own health only).
	StatsAddress           string
	MergedStatsAddress     string
	AppMetricsURL          string
	StatsInclusionPrefixes []string

	// Go's garbage collector, for a process that runs one proxy (they are
	// process-wide; see memory.go): GCPercent (0: the runtime's, GOGC or
	// 100) and MemoryLimit in bytes (0: the runtime's, GOMEMLIMIT or none)
	// are set by Run; TrimMemory returns the memory freed by a
	// configuration update to the OS once updates settle (at most every
	// 10s).
	GCPercent   int
	MemoryLimit int64
	TrimMemory  bool
	// Concurrency is how many cores the process runs Go code on at once
	// (GOMAXPROCS), Istio's ProxyConfig concurrency (Envoy's worker
	// threads); 0 leaves the runtime's choice (GOMAXPROCS, the CPUs or the
	// container's CPU limit). Set by Run, process-wide like the GC options.
	Concurrency int
}

// Proxy is a running lateen-proxy.
type Proxy struct {
	opts      Options
	log       *slog.Logger
	stats     *stats.Store
	listeners *listener.Manager
	http      *proxyhttp.Server
	runtime   *runtime.Runtime
	xds       *xdsclient.Client
	identity  *identity.Agent // nil without CAAddress
	admin     *admin.Server
	logs      logsAndTraces
	metrics   *metrics.Server
	trim      *trimmingApplier // nil unless Options.TrimMemory
	quit      chan struct{}
	quitOnce  sync.Once
}

// New validates opts and builds the proxy. It does no I/O.
func New(opts Options) (*Proxy, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	p := &Proxy{opts: opts, log: opts.Logger.With("component", "proxy"), stats: stats.New(), quit: make(chan struct{})}
	p.stats.Gauge("server.live").Set(1)
	p.listeners = listener.NewManager(listener.Options{Stats: p.stats, Logger: opts.Logger})
	p.http = proxyhttp.NewServer(proxyhttp.ServerOptions{Logger: opts.Logger.With("component", "http"), DrainTimeout: opts.DrainTimeout})
	if err := p.newIdentity(); err != nil {
		return nil, err
	}
	filters, tcpFilters := proxyhttp.NewFilters(), tcp.NewFilters()
	p.newLogsAndTraces(filters, tcpFilters)
	if err := p.newMetrics(filters, tcpFilters); err != nil {
		return nil, err
	}
	var err error
	if p.runtime, err = runtime.New(runtime.Options{WildcardAddress: opts.WildcardAddress, Stats: p.stats,
		Logger: opts.Logger, Listeners: p.listeners, HTTP: p.http, TLS: p.tlsStore(),
		Filters: filters, TCPFilters: tcpFilters}); err != nil {
		return nil, err
	}
	if err := p.newXDS(); err != nil {
		return nil, err
	}
	aopts := admin.Options{Address: opts.AdminAddress, ReadyAddress: opts.ReadyAddress,
		Source: p.runtime, Stats: p.stats, Listeners: p.listeners.Addresses, Level: opts.LogLevel,
		Quit: p.Quit, Logger: opts.Logger}
	if p.identity != nil {
		aopts.Certs = p.identity
	}
	if p.admin, err = admin.New(aopts); err != nil {
		return nil, err
	}
	return p, nil
}

// tlsStore resolves transport socket secrets; "default" and "ROOTCA"
// come from the identity agent (or Options.Identity).
func (p *Proxy) tlsStore() *mtls.Store {
	opts := mtls.Options{Identity: p.opts.Identity, Stats: p.stats, Logger: p.opts.Logger}
	if p.identity != nil {
		opts.Identity = p.identity
	}
	return mtls.NewStore(opts)
}

func (p *Proxy) newIdentity() error {
	o := p.opts
	if o.CAAddress == "" {
		return nil
	}
	var err error
	p.identity, err = identity.New(identity.Options{CAAddress: o.CAAddress, RootCertFile: o.RootCertFile,
		TokenFile: o.TokenFile, TrustDomain: o.TrustDomain, Namespace: o.Namespace, ServiceAccount: o.ServiceAccount,
		KeyAlgorithm: o.KeyAlgorithm, CertTTL: o.CertTTL, Stats: p.stats, Logger: o.Logger})
	return err
}

func (p *Proxy) newXDS() error {
	o := p.opts
	var applier xdsclient.Applier = p.runtime
	if o.TrimMemory {
		p.trim = newTrimmingApplier(p.runtime)
		applier = p.trim
	}
	xo := xdsclient.Options{Address: o.XDSAddress, Node: xdsclient.Node(p.nodeInfo()), Applier: applier,
		Logger: o.Logger, BackoffMax: o.XDSBackoffMax, Stats: p.stats}
	if o.XDSTLS {
		host, _, err := net.SplitHostPort(o.XDSAddress)
		if err != nil {
			return fmt.Errorf("proxy: xDS address %q: %w", o.XDSAddress, err)
		}
		xo.TLS = p.identity.ControlPlaneTLS(host)
	}
	var err error
	p.xds, err = xdsclient.New(xo)
	return err
}

func (o *Options) defaults() error {
	if o.IP == "" || net.ParseIP(o.IP) == nil {
		return fmt.Errorf("proxy: IP %q is not an IP address", o.IP)
	}
	if o.WorkloadName == "" {
		return errors.New("proxy: WorkloadName is required")
	}
	if o.NodeType == "" {
		o.NodeType = "sidecar"
	}
	if o.NodeType != "sidecar" && o.NodeType != "router" {
		return fmt.Errorf("proxy: NodeType %q: want sidecar or router", o.NodeType)
	}
	switch o.InterceptionMode {
	case "":
		o.InterceptionMode = "NONE"
	case "NONE", "REDIRECT", "TPROXY":
	default:
		return fmt.Errorf("proxy: InterceptionMode %q: want NONE, REDIRECT or TPROXY", o.InterceptionMode)
	}
	set := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	set(&o.XDSAddress, "127.0.0.1:15010")
	if o.XDSTLS {
		set(&o.CAAddress, o.XDSAddress) // as Istio's CA_ADDR: the workload certificate authenticates xDS
	}
	set(&o.Namespace, "default")
	set(&o.ServiceAccount, "default")
	set(&o.WildcardAddress, o.IP)
	set(&o.AdminAddress, net.JoinHostPort(o.IP, "15000"))
	set(&o.ReadyAddress, net.JoinHostPort(o.IP, "15021"))
	o.metricsDefaults()
	if o.LogLevel == nil {
		o.LogLevel = new(slog.LevelVar)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Quit asks Run to exit gracefully (as /quitquitquit does).
func (p *Proxy) Quit() { p.quitOnce.Do(func() { close(p.quit) }) }

// Stats returns the proxy's stats store.
func (p *Proxy) Stats() *stats.Store { return p.stats }

// Ready is closed once the first complete configuration is applied.
func (p *Proxy) Ready() <-chan struct{} { return p.runtime.Ready() }

// AdminAddr waits until the admin server is bound and returns its address.
func (p *Proxy) AdminAddr(ctx context.Context) (string, error) {
	select {
	case <-p.admin.Started():
		return p.admin.Addr(), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// ReadyAddr waits until the readiness server is bound and returns its address.
func (p *Proxy) ReadyAddr(ctx context.Context) (string, error) {
	if _, err := p.AdminAddr(ctx); err != nil {
		return "", err
	}
	return p.admin.ReadyAddr(), nil
}

// ListenerAddresses returns the bound address of every active listener.
func (p *Proxy) ListenerAddresses() map[string]string { return p.listeners.Addresses() }

// Run runs the proxy until ctx ends or Quit is called, then stops accepting,
// drains in-flight requests (bounded by DrainTimeout) and returns nil. An
// error of one component stops the others.
func (p *Proxy) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-p.quit:
			cancel()
		case <-ctx.Done():
		}
	}()
	defer p.runtime.Close()
	p.opts.applyGC()
	p.log.Info("starting", "xds", p.opts.XDSAddress, "xds_tls", p.opts.XDSTLS, "ca", p.opts.CAAddress,
		"admin", p.opts.AdminAddress, "node_type", p.opts.NodeType)
	fns := []func(context.Context) error{p.runXDS, p.admin.Run, p.http.Serve, p.listeners.Run,
		p.logs.writer.Run, p.logs.tracer.Run, p.metrics.Run}
	if p.identity != nil {
		fns = append(fns, p.identity.Run)
	}
	if p.trim != nil {
		fns = append(fns, p.trim.run)
	}
	return runAll(ctx, cancel, fns...)
}

// runXDS follows the ADS stream; over TLS it first waits for the workload
// certificate that authenticates the proxy to pilot.
func (p *Proxy) runXDS(ctx context.Context) error {
	if p.opts.XDSTLS {
		select {
		case <-p.identity.Ready():
		case <-ctx.Done():
			return nil
		}
	}
	return p.xds.Run(ctx)
}

// Identity returns the certificate agent (nil without a CA address).
func (p *Proxy) Identity() *identity.Agent { return p.identity }

// runAll runs fns until all return; the first error cancels the rest.
func runAll(ctx context.Context, cancel context.CancelFunc, fns ...func(context.Context) error) error {
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for _, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(ctx); err != nil {
				once.Do(func() { first = err })
				cancel()
			}
		}()
	}
	wg.Wait()
	return first
}
