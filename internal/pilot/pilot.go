// Package pilot is lateen-pilot, the control plane: it ingests Istio
// configuration, builds mesh snapshots and serves them to proxies over ADS,
// with debug and metrics endpoints beside.
package pilot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"

	"github.com/lateenmesh/lateen/internal/config"
	"github.com/lateenmesh/lateen/internal/config/file"
	"github.com/lateenmesh/lateen/internal/config/ingest"
	"github.com/lateenmesh/lateen/internal/config/validate"
	"github.com/lateenmesh/lateen/internal/mesh"
	"github.com/lateenmesh/lateen/internal/xds"
)

// Options configure the control plane.
type Options struct {
	// ConfigDir is watched for Istio YAML.
	ConfigDir string
	// MeshConfigFile optionally holds MeshConfig (Istio's mesh file format).
	MeshConfigFile string
	// XDSAddress serves plaintext ADS (default 127.0.0.1:15010).
	XDSAddress string
	// HTTPAddress serves /ready, /metrics and /debug (default 127.0.0.1:15014).
	HTTPAddress string
	// DomainSuffix of service names (default cluster.local).
	DomainSuffix string
	// SystemNamespace is where the mesh ConfigMap lives (default istio-system).
	SystemNamespace string
	// Sources are read after ConfigDir (tests and embedders).
	Sources []config.Source
	Logger  *slog.Logger
}

// Pilot is the control plane.
type Pilot struct {
	opts     Options
	registry *prometheus.Registry
	xds      *xds.Server
	mesh     *meshv1alpha1.MeshConfig

	snapshot atomic.Pointer[mesh.Snapshot]
	ready    atomic.Bool

	mu       sync.Mutex
	xdsAddr  net.Addr
	httpAddr net.Addr
}

// New checks options and reads the mesh file; it starts nothing.
func New(opts Options) (*Pilot, error) {
	if opts.ConfigDir == "" && len(opts.Sources) == 0 {
		return nil, errors.New("pilot: a config directory or source is required")
	}
	if opts.HTTPAddress == "" {
		opts.HTTPAddress = "127.0.0.1:15014"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	p := &Pilot{opts: opts, registry: prometheus.NewRegistry()}
	p.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if opts.MeshConfigFile != "" {
		data, err := os.ReadFile(opts.MeshConfigFile)
		if err != nil {
			return nil, fmt.Errorf("pilot: mesh config: %w", err)
		}
		mc, err := config.DecodeMeshConfig("", data)
		if err == nil {
			err = validate.MeshConfig("", mc)
		}
		if err != nil {
			return nil, fmt.Errorf("pilot: mesh config %s: %w", opts.MeshConfigFile, err)
		}
		p.mesh = mc
	}
	return p, nil
}

// Run serves until ctx is done.
func (p *Pilot) Run(ctx context.Context) error {
	xdsLis, err := net.Listen("tcp", p.xdsAddress())
	if err != nil {
		return fmt.Errorf("pilot: xds listen: %w", err)
	}
	httpLis, err := net.Listen("tcp", p.opts.HTTPAddress)
	if err != nil {
		xdsLis.Close()
		return fmt.Errorf("pilot: http listen: %w", err)
	}
	p.mu.Lock()
	p.xdsAddr, p.httpAddr = xdsLis.Addr(), httpLis.Addr()
	p.xds = xds.New(xds.Options{Listener: xdsLis, Logger: p.opts.Logger, Metrics: xds.NewMetrics(p.registry)})
	p.mu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 3)
	go func() { errc <- p.xdsServer().Run(ctx) }()
	go func() { errc <- p.serveHTTP(ctx, httpLis) }()
	go func() { errc <- p.ingester().Run(ctx, p.publish) }()
	var first error
	for range 3 {
		if err := <-errc; err != nil && first == nil {
			first = err
			cancel()
		}
	}
	return first
}

func (p *Pilot) xdsAddress() string {
	if p.opts.XDSAddress == "" {
		return "127.0.0.1:15010"
	}
	return p.opts.XDSAddress
}

func (p *Pilot) ingester() *ingest.Ingester {
	var sources []config.Source
	if p.opts.ConfigDir != "" {
		sources = append(sources, file.New(file.Options{Dir: p.opts.ConfigDir, Logger: p.opts.Logger}))
	}
	sources = append(sources, p.opts.Sources...)
	return ingest.New(ingest.Options{Sources: sources, Validate: validate.Object, Logger: p.opts.Logger})
}

// publish builds a snapshot from a new config set and hands it to xDS.
func (p *Pilot) publish(set *config.Set) {
	snap := mesh.Build(set, mesh.Options{
		DomainSuffix:    p.opts.DomainSuffix,
		SystemNamespace: p.opts.SystemNamespace,
		MeshConfig:      p.mesh,
	})
	p.snapshot.Store(snap)
	p.xdsServer().Update(snap)
	p.ready.Store(true)
}

// Addresses returns where xDS and HTTP are served, once Run has bound them.
func (p *Pilot) Addresses() (xdsAddr, httpAddr net.Addr) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.xdsAddr, p.httpAddr
}

func (p *Pilot) xdsServer() *xds.Server {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.xds
}
