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
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"

	"github.com/lateenmesh/lateen/internal/ca"
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
	// SecureAddress serves ADS and the CA over TLS (default: the xDS host,
	// port 15012, or 0 when the xDS port is 0; "off" disables it).
	SecureAddress string
	// TLSNames are more DNS names or IPs for pilot's serving certificate,
	// beside istiod.<system-namespace>.svc, lateen-pilot and the listen IP.
	TLSNames []string
	// TrustDomain of workload identities (default: the mesh file's
	// trustDomain, else cluster.local).
	TrustDomain string
	// CADir persists the self-signed root; CACertsDir plugs in an
	// intermediate (Istio's cacerts files). With neither, the root lives
	// in memory.
	CADir      string
	CACertsDir string
	// WorkloadCertTTL (default 24h) and MaxWorkloadCertTTL (default 90d).
	WorkloadCertTTL    time.Duration
	MaxWorkloadCertTTL time.Duration
	// WorkloadTokensFile lists bootstrap token hashes and the identity each
	// grants (see authn.Tokens).
	WorkloadTokensFile string
	// Authenticators are tried after the bootstrap token and the client
	// certificate (the seam for Kubernetes ServiceAccount tokens).
	Authenticators []ca.Authenticator
	// CredentialsDir holds the TLS credentials DestinationRules name by
	// credentialName: <namespace>/<name>/{tls.crt,tls.key,ca.crt}, as a
	// Kubernetes TLS Secret's keys (served over ADS as kubernetes://<name>
	// to the proxies of that namespace). Watched for changes.
	CredentialsDir string
	// Sources are read after ConfigDir (tests and embedders).
	Sources []config.Source
	Logger  *slog.Logger
}

// Pilot is the control plane.
type Pilot struct {
	opts     Options
	registry *prometheus.Registry
	metrics  *metrics
	xds      *xds.Server
	mesh     *meshv1alpha1.MeshConfig
	meshRaw  []byte // the mesh file as JSON, merged over Istio's defaults

	ca *ca.CA

	snapshot atomic.Pointer[mesh.Snapshot]
	pubMu    sync.Mutex // serialises publish; guards store
	store    credentialsStore
	ready    atomic.Bool

	mu         sync.Mutex
	xdsAddr    net.Addr
	httpAddr   net.Addr
	secureAddr net.Addr
}

// New checks options and reads the mesh file; it starts nothing.
func New(opts Options) (*Pilot, error) {
	if opts.ConfigDir == "" && len(opts.Sources) == 0 {
		return nil, errors.New("pilot: a config directory or source is required")
	}
	if opts.HTTPAddress == "" {
		opts.HTTPAddress = "127.0.0.1:15014"
	}
	if opts.SecureAddress == "" {
		opts.SecureAddress = secureDefault(opts.XDSAddress)
	}
	if opts.SystemNamespace == "" {
		opts.SystemNamespace = "istio-system"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	p := &Pilot{opts: opts, registry: prometheus.NewRegistry()}
	p.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	p.metrics = newMetrics(p.registry)
	if opts.MeshConfigFile != "" {
		data, err := os.ReadFile(opts.MeshConfigFile)
		if err != nil {
			return nil, fmt.Errorf("pilot: mesh config: %w", err)
		}
		mc, raw, err := config.DecodeMeshConfig("", data)
		if err == nil {
			err = validate.MeshConfig("", mc)
		}
		if err != nil {
			return nil, fmt.Errorf("pilot: mesh config %s: %w", opts.MeshConfigFile, err)
		}
		p.mesh, p.meshRaw = mc, raw
	}
	var err error
	if p.ca, err = p.newCA(); err != nil {
		return nil, err
	}
	return p, nil
}

// Run loads the CA, then serves until ctx is done.
func (p *Pilot) Run(ctx context.Context) error {
	if err := p.ca.Load(); err != nil {
		return fmt.Errorf("pilot: %w", err)
	}
	lis, err := p.listen()
	if err != nil {
		return err
	}
	endpoints, err := p.secureEndpoints(lis.secure)
	if err != nil {
		lis.close()
		return err
	}
	p.mu.Lock()
	p.xdsAddr, p.httpAddr = lis.xds.Addr(), lis.http.Addr()
	if lis.secure != nil {
		p.secureAddr = lis.secure.Addr()
	}
	p.xds = xds.New(xds.Options{Listener: lis.xds, Endpoints: endpoints, Logger: p.opts.Logger,
		Metrics: xds.NewMetrics(p.registry)})
	p.mu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runs := []func(context.Context) error{
		p.xdsServer().Run,
		func(ctx context.Context) error { return p.serveHTTP(ctx, lis.http) },
		func(ctx context.Context) error { return p.ingester().Run(ctx, p.publish) },
		p.runCredentials,
		p.ca.Run,
	}
	errc := make(chan error, len(runs))
	for _, run := range runs {
		go func() { errc <- run(ctx) }()
	}
	var first error
	for range runs {
		if err := <-errc; err != nil && first == nil {
			first = err
			cancel()
		}
	}
	return first
}

type listeners struct{ xds, http, secure net.Listener }

func (l listeners) close() {
	for _, x := range []net.Listener{l.xds, l.http, l.secure} {
		if x != nil {
			x.Close()
		}
	}
}

func (p *Pilot) listen() (listeners, error) {
	var l listeners
	var err error
	if l.xds, err = net.Listen("tcp", p.xdsAddress()); err != nil {
		return l, fmt.Errorf("pilot: xds listen: %w", err)
	}
	if l.http, err = net.Listen("tcp", p.opts.HTTPAddress); err != nil {
		l.close()
		return l, fmt.Errorf("pilot: http listen: %w", err)
	}
	if p.opts.SecureAddress != "off" {
		if l.secure, err = net.Listen("tcp", p.opts.SecureAddress); err != nil {
			l.close()
			return l, fmt.Errorf("pilot: secure listen: %w", err)
		}
	}
	return l, nil
}

// secureDefault puts the secure port next to the plaintext xDS one.
func secureDefault(xdsAddress string) string {
	if xdsAddress == "" {
		return "127.0.0.1:15012"
	}
	host, port, err := net.SplitHostPort(xdsAddress)
	if err != nil {
		return "127.0.0.1:15012"
	}
	if port != "0" {
		port = "15012"
	}
	return net.JoinHostPort(host, port)
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

// publish builds a snapshot from a new config set (nil: the latest again,
// e.g. when credentials changed) and hands it to xDS.
func (p *Pilot) publish(set *config.Set) {
	p.pubMu.Lock()
	defer p.pubMu.Unlock()
	if set = p.latest(set); set == nil {
		return
	}
	start := time.Now()
	snap := mesh.Build(set, mesh.Options{
		DomainSuffix:    p.opts.DomainSuffix,
		SystemNamespace: p.opts.SystemNamespace,
		MeshConfig:      p.meshRaw,
		Credentials:     p.store.creds,
	})
	p.metrics.snapshot(snap, time.Since(start))
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

// SecureAddress returns where ADS and the CA are served over TLS, once Run
// has bound it (nil when disabled).
func (p *Pilot) SecureAddress() net.Addr {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.secureAddr
}

// CA returns the certificate authority.
func (p *Pilot) CA() *ca.CA { return p.ca }

func (p *Pilot) xdsServer() *xds.Server {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.xds
}
