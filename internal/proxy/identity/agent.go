// Package identity is the proxy's certificate agent (Istio's pilot-agent
// SDS side): it generates the workload key, sends a CSR to the control
// plane's CA (istio.v1.auth.IstioCertificateService over TLS), keeps the
// issued chain and the key in memory only, and rotates the certificate at
// half of its lifetime. The rest of the proxy reads the current
// certificate through Provider at every TLS handshake.
package identity

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/stats"
	"github.com/lateenmesh/lateen/internal/spiffe"
)

// Provider is how the rest of the proxy sees the workload identity. TLS
// configurations call it from their per-handshake callbacks, so a rotated
// certificate applies to the next handshake without rebuilding listeners.
type Provider interface {
	// Certificate returns the current certificate (chain and key).
	Certificate() (*tls.Certificate, error)
	// TrustBundle returns the current roots of the mesh.
	TrustBundle() *x509.CertPool
	// Subscribe returns a channel told of every rotation (one pending
	// signal, never blocking the agent) and a cancel function.
	Subscribe() (<-chan struct{}, func())
}

// ErrNoCertificate is returned before the first certificate arrives.
var ErrNoCertificate = errors.New("identity: no workload certificate yet")

// Key algorithms.
const (
	ECDSA = "ECDSA" // P-256 (default)
	RSA   = "RSA"   // 2048 bits
)

// Options configure an Agent.
type Options struct {
	// CAAddress is the CA's host:port (pilot's 15012).
	CAAddress string
	// ServerName is verified in the CA's certificate (default: the host of
	// CAAddress).
	ServerName string
	// RootCertFile holds the PEM roots that verify the control plane; it
	// is required (no trust on first use) and read again at each request.
	RootCertFile string
	// TokenFile holds the bootstrap token, sent as "authorization: Bearer"
	// when the file exists; renewals also present the current certificate.
	TokenFile string
	// TrustDomain, Namespace and ServiceAccount name the identity this
	// proxy expects; the issued certificate must match. With TrustDomain
	// set, the CSR names the identity too.
	TrustDomain    string
	Namespace      string
	ServiceAccount string
	// KeyAlgorithm is ECDSA (P-256, default) or RSA (2048 bits).
	KeyAlgorithm string
	// CertTTL is the lifetime asked for (0: the CA's default).
	CertTTL time.Duration
	// GraceRatio: rotate when this fraction of the lifetime is left
	// (default 0.5, Istio's SECRET_GRACE_PERIOD_RATIO), ± Jitter (0.01).
	GraceRatio float64
	Jitter     float64
	// BackoffMin/Max pace retries after a failed request (200ms, 30s);
	// RequestTimeout bounds one request (10s).
	BackoffMin     time.Duration
	BackoffMax     time.Duration
	RequestTimeout time.Duration
	Stats          *stats.Store
	Logger         *slog.Logger
	Now            func() time.Time
}

// Credential is one issued certificate with its key and trust bundle.
type Credential struct {
	Identity    spiffe.Identity
	Certificate *tls.Certificate    // leaf + intermediates, with the key
	Chain       []*x509.Certificate // leaf first
	Roots       []*x509.Certificate
	RootPool    *x509.CertPool
	RenewAt     time.Time
}

// Agent obtains and rotates the workload certificate.
type Agent struct {
	opts  Options
	log   *slog.Logger
	cur   atomic.Pointer[Credential]
	files atomic.Pointer[x509.CertPool] // roots from RootCertFile, last read
	ready chan struct{}
	once  sync.Once

	mu   sync.Mutex
	subs map[chan struct{}]struct{}
}

var _ Provider = (*Agent)(nil)

// New checks opts; it does no I/O.
func New(opts Options) (*Agent, error) {
	if opts.CAAddress == "" {
		return nil, errors.New("identity: CAAddress is required")
	}
	if opts.RootCertFile == "" {
		return nil, errors.New("identity: RootCertFile is required to verify the CA (no trust on first use)")
	}
	if opts.ServerName == "" {
		host, _, err := net.SplitHostPort(opts.CAAddress)
		if err != nil {
			return nil, fmt.Errorf("identity: CAAddress %q: %w", opts.CAAddress, err)
		}
		opts.ServerName = host
	}
	switch opts.KeyAlgorithm {
	case "":
		opts.KeyAlgorithm = ECDSA
	case ECDSA, RSA:
	default:
		return nil, fmt.Errorf("identity: key algorithm %q: want ECDSA or RSA", opts.KeyAlgorithm)
	}
	if opts.TrustDomain != "" {
		if err := spiffe.ValidateTrustDomain(opts.TrustDomain); err != nil {
			return nil, fmt.Errorf("identity: %w", err)
		}
	}
	opts.defaults()
	return &Agent{opts: opts, log: opts.Logger.With("component", "identity"), ready: make(chan struct{}),
		subs: map[chan struct{}]struct{}{}}, nil
}

func (o *Options) defaults() {
	if o.GraceRatio <= 0 || o.GraceRatio >= 1 {
		o.GraceRatio = 0.5
	}
	if o.Jitter <= 0 || o.Jitter >= o.GraceRatio {
		o.Jitter = min(0.01, o.GraceRatio/2)
	}
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	set(&o.BackoffMin, 200*time.Millisecond)
	set(&o.BackoffMax, 30*time.Second)
	set(&o.RequestTimeout, 10*time.Second)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Ready is closed once the first certificate is held.
func (a *Agent) Ready() <-chan struct{} { return a.ready }

// Current returns the current credential, or nil before the first one.
func (a *Agent) Current() *Credential { return a.cur.Load() }

// Certificate implements Provider.
func (a *Agent) Certificate() (*tls.Certificate, error) {
	c := a.cur.Load()
	if c == nil {
		return nil, ErrNoCertificate
	}
	return c.Certificate, nil
}

// TrustBundle implements Provider: the roots the CA returned last (empty
// before the first certificate).
func (a *Agent) TrustBundle() *x509.CertPool {
	if c := a.cur.Load(); c != nil {
		return c.RootPool
	}
	return x509.NewCertPool()
}

// Certificates returns the workload chain and the trust bundle, for the
// admin /certs endpoint.
func (a *Agent) Certificates() (chain, roots []*x509.Certificate) {
	if c := a.cur.Load(); c != nil {
		return c.Chain, c.Roots
	}
	return nil, nil
}

// Subscribe implements Provider.
func (a *Agent) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	a.mu.Lock()
	a.subs[ch] = struct{}{}
	a.mu.Unlock()
	return ch, func() {
		a.mu.Lock()
		delete(a.subs, ch)
		a.mu.Unlock()
	}
}

// Run obtains the first certificate, then rotates it when its grace
// period starts, retrying failures with backoff, until ctx is done.
func (a *Agent) Run(ctx context.Context) error {
	backoff := a.opts.BackoffMin
	for {
		cred, err := a.fetch(ctx)
		if ctx.Err() != nil {
			return nil
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		if err != nil {
			a.count("identity.csr_failure")
			a.log.Warn("certificate request failed; retrying", "error", err, "after", wait)
			backoff = min(2*backoff, a.opts.BackoffMax)
		} else {
			a.store(cred)
			backoff = a.opts.BackoffMin
			wait = max(0, cred.RenewAt.Sub(a.opts.Now()))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// store publishes a new credential and tells subscribers.
func (a *Agent) store(c *Credential) {
	a.cur.Store(c)
	a.once.Do(func() { close(a.ready) })
	leaf := c.Chain[0]
	a.count("identity.csr_success")
	if a.opts.Stats != nil {
		a.opts.Stats.Gauge("ssl.certificate.default.expiration_unix_time_seconds").Set(leaf.NotAfter.Unix())
		a.opts.Stats.Gauge("ssl.certificate.ROOTCA.expiration_unix_time_seconds").Set(earliestExpiry(c.Roots).Unix())
	}
	a.log.Info("workload certificate issued", "identity", c.Identity.String(), "serial", leaf.SerialNumber.Text(16),
		"expires", leaf.NotAfter.UTC().Format(time.RFC3339), "renew_at", c.RenewAt.UTC().Format(time.RFC3339Nano))
	a.mu.Lock()
	defer a.mu.Unlock()
	for ch := range a.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (a *Agent) count(name string) {
	if a.opts.Stats != nil {
		a.opts.Stats.Counter(name).Inc()
	}
}

func earliestExpiry(certs []*x509.Certificate) time.Time {
	var t time.Time
	for _, c := range certs {
		if t.IsZero() || c.NotAfter.Before(t) {
			t = c.NotAfter
		}
	}
	return t
}

// renewAt is when the grace period starts: GraceRatio (± Jitter) of the
// lifetime before expiry.
func (a *Agent) renewAt(leaf *x509.Certificate) time.Time {
	life := leaf.NotAfter.Sub(leaf.NotBefore)
	grace := a.opts.GraceRatio + (rand.Float64()*2-1)*a.opts.Jitter
	return leaf.NotAfter.Add(-time.Duration(grace * float64(life)))
}
