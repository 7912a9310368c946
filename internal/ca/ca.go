// Package ca is lateen-pilot's certificate authority (Istio's citadel): it
// issues X.509 SVIDs (spiffe://<trust-domain>/ns/<ns>/sa/<sa>) for CSRs,
// from a self-signed root it generates and persists, or from an
// intermediate plugged in with Istio's cacerts files. Service serves it as
// istio.v1.auth.IstioCertificateService.
package ca

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lateenmesh/lateen/internal/spiffe"
)

// Defaults, as Istio's.
const (
	DefaultWorkloadCertTTL    = 24 * time.Hour
	DefaultMaxWorkloadCertTTL = 90 * 24 * time.Hour
	DefaultRootCertTTL        = 10 * 365 * 24 * time.Hour
	DefaultRootGraceRatio     = 0.2
	DefaultCheckInterval      = time.Minute
)

// ErrTTL is returned for a requested lifetime above the maximum.
var ErrTTL = errors.New("requested certificate lifetime exceeds the maximum")

// Options configure a CA. Dir and CACertsDir are exclusive; with neither,
// the root lives in memory only (tests).
type Options struct {
	// TrustDomain of issued identities (default cluster.local).
	TrustDomain string
	// Dir holds the self-signed root: generated on first start, reloaded
	// after (ca-key.pem 0600, ca-cert.pem, root-cert.pem, cert-chain.pem).
	Dir string
	// CACertsDir holds a plugged-in CA in Istio's cacerts layout: ca-cert.pem,
	// ca-key.pem, root-cert.pem, cert-chain.pem. Lateen never writes it and
	// reloads it when the files change.
	CACertsDir string
	// WorkloadCertTTL is the lifetime of a leaf when the request names none
	// (default 24h, or the maximum when lower); MaxWorkloadCertTTL caps
	// requests (default 90 days).
	WorkloadCertTTL    time.Duration
	MaxWorkloadCertTTL time.Duration
	// RootCertTTL is a self-signed root's lifetime (default 10 years); the
	// root is rotated when less than RootGraceRatio of it is left (0.2).
	RootCertTTL    time.Duration
	RootGraceRatio float64
	// CheckInterval paces root expiry checks and cacerts reloads (1m).
	CheckInterval time.Duration
	Metrics       *Metrics
	Logger        *slog.Logger
	// Now is the clock (tests).
	Now func() time.Time
}

// CA issues workload certificates. Its state is swapped atomically on
// rotation or reload; signing never blocks on I/O.
type CA struct {
	opts Options
	log  *slog.Logger
	cur  atomic.Pointer[authority]

	mu   sync.Mutex // serialises Load, RotateRoot and reloads
	subs map[chan struct{}]struct{}
}

// Issued is a signed certificate with what a verifier needs.
type Issued struct {
	// Chain is the leaf followed by the intermediates up to (not
	// including) a root.
	Chain []*x509.Certificate
	// Roots is the trust bundle at issuance.
	Roots []*x509.Certificate
}

// New checks opts; it does no I/O. Call Load before signing.
func New(opts Options) (*CA, error) {
	if opts.Dir != "" && opts.CACertsDir != "" {
		return nil, errors.New("ca: Dir (self-signed) and CACertsDir (plugged-in) are exclusive")
	}
	if opts.TrustDomain == "" {
		opts.TrustDomain = spiffe.DefaultTrustDomain
	}
	if err := spiffe.ValidateTrustDomain(opts.TrustDomain); err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	setDuration(&opts.MaxWorkloadCertTTL, DefaultMaxWorkloadCertTTL)
	setDuration(&opts.WorkloadCertTTL, min(DefaultWorkloadCertTTL, opts.MaxWorkloadCertTTL))
	setDuration(&opts.RootCertTTL, DefaultRootCertTTL)
	setDuration(&opts.CheckInterval, DefaultCheckInterval)
	if opts.WorkloadCertTTL > opts.MaxWorkloadCertTTL {
		return nil, fmt.Errorf("ca: workload certificate TTL %s exceeds the maximum %s", opts.WorkloadCertTTL, opts.MaxWorkloadCertTTL)
	}
	if opts.RootGraceRatio <= 0 || opts.RootGraceRatio >= 1 {
		opts.RootGraceRatio = DefaultRootGraceRatio
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(nil)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &CA{opts: opts, log: opts.Logger.With("component", "ca"), subs: map[chan struct{}]struct{}{}}, nil
}

func setDuration(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// TrustDomain returns the trust domain of issued identities.
func (c *CA) TrustDomain() string { return c.opts.TrustDomain }

// Load reads (or, self-signed, creates) the CA's key and certificates.
func (c *CA) Load() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var (
		a   *authority
		err error
	)
	switch {
	case c.opts.CACertsDir != "":
		a, err = loadCACerts(c.opts.CACertsDir, c.opts.Now())
	default:
		a, err = c.loadSelfSigned()
	}
	if err != nil {
		return fmt.Errorf("ca: %w", err)
	}
	c.swap(a)
	c.log.Info("CA loaded", "mode", c.mode(), "root_expires", a.roots[0].NotAfter.UTC().Format(time.RFC3339),
		"roots", len(a.roots), "trust_domain", c.opts.TrustDomain)
	return nil
}

func (c *CA) mode() string {
	if c.opts.CACertsDir != "" {
		return "plugged-in"
	}
	return "self-signed"
}

// swap publishes a and tells subscribers; callers hold c.mu.
func (c *CA) swap(a *authority) {
	if old := c.cur.Load(); old != nil {
		a.gen = old.gen + 1
	}
	c.cur.Store(a)
	c.opts.Metrics.rootExpiry.Set(float64(a.roots[0].NotAfter.Unix()))
	c.opts.Metrics.chainExpiry.Set(float64(a.cert.NotAfter.Unix()))
	for ch := range c.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Subscribe returns a channel told (without blocking; one pending signal)
// whenever the roots or the signing certificate change, and a cancel.
func (c *CA) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	c.mu.Lock()
	c.subs[ch] = struct{}{}
	c.mu.Unlock()
	return ch, func() {
		c.mu.Lock()
		delete(c.subs, ch)
		c.mu.Unlock()
	}
}

func (c *CA) authority() (*authority, error) {
	a := c.cur.Load()
	if a == nil {
		return nil, errors.New("ca: not loaded")
	}
	return a, nil
}

// Roots returns the trust bundle, current root first (nil before Load).
func (c *CA) Roots() []*x509.Certificate {
	if a := c.cur.Load(); a != nil {
		return a.roots
	}
	return nil
}

// RootsPEM returns the trust bundle as PEM.
func (c *CA) RootsPEM() []byte {
	if a := c.cur.Load(); a != nil {
		return a.pem
	}
	return nil
}

// TrustPool returns the trust bundle as a pool (empty before Load).
func (c *CA) TrustPool() *x509.CertPool {
	if a := c.cur.Load(); a != nil {
		return a.pool
	}
	return x509.NewCertPool()
}

// Generation changes whenever the CA state is swapped.
func (c *CA) Generation() uint64 {
	if a := c.cur.Load(); a != nil {
		return a.gen
	}
	return 0
}

// Sign issues a workload certificate for id to the key of csr, valid for
// ttl (0: the default). The caller has authenticated id and checked that
// the CSR asks for nothing else.
func (c *CA) Sign(csr *x509.CertificateRequest, id spiffe.Identity, ttl time.Duration) (*Issued, error) {
	if ttl <= 0 {
		ttl = c.opts.WorkloadCertTTL
	}
	if ttl > c.opts.MaxWorkloadCertTTL {
		return nil, fmt.Errorf("%w: %s > %s", ErrTTL, ttl, c.opts.MaxWorkloadCertTTL)
	}
	if id.TrustDomain != c.opts.TrustDomain {
		return nil, fmt.Errorf("ca: identity %s is outside trust domain %s", id, c.opts.TrustDomain)
	}
	tmpl, err := leafTemplate(csr.PublicKey, c.opts.Now(), ttl)
	if err != nil {
		return nil, err
	}
	tmpl.URIs = append(tmpl.URIs, id.URL())
	return c.issue(tmpl, csr.PublicKey)
}

// IssueServing issues a server certificate (DNS and IP SANs) for pub, for
// the control plane's own TLS endpoints.
func (c *CA) IssueServing(pub crypto.PublicKey, dnsNames []string, ips []net.IP, ttl time.Duration) (*Issued, error) {
	tmpl, err := leafTemplate(pub, c.opts.Now(), ttl)
	if err != nil {
		return nil, err
	}
	tmpl.DNSNames, tmpl.IPAddresses = dnsNames, ips
	return c.issue(tmpl, pub)
}

func (c *CA) issue(tmpl *x509.Certificate, pub crypto.PublicKey) (*Issued, error) {
	a, err := c.authority()
	if err != nil {
		return nil, err
	}
	leaf, err := a.sign(tmpl, pub)
	if err != nil {
		return nil, fmt.Errorf("ca: sign: %w", err)
	}
	return &Issued{Chain: append([]*x509.Certificate{leaf}, a.chain...), Roots: a.roots}, nil
}

func leafTemplate(pub crypto.PublicKey, now time.Time, ttl time.Duration) (*x509.Certificate, error) {
	serial, err := serialNumber()
	if err != nil {
		return nil, err
	}
	usage := x509.KeyUsageDigitalSignature
	if _, ok := pub.(*rsa.PublicKey); ok {
		usage |= x509.KeyUsageKeyEncipherment
	}
	return &x509.Certificate{
		SerialNumber:          serial,
		NotBefore:             now,
		NotAfter:              now.Add(ttl),
		KeyUsage:              usage,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}, nil
}

// Run checks the CA every CheckInterval until ctx is done: a self-signed
// root close to expiry is rotated, changed cacerts files are reloaded.
// Errors are logged and the current state keeps serving.
func (c *CA) Run(ctx context.Context) error {
	t := time.NewTicker(c.opts.CheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := c.Check(); err != nil {
			c.log.Error("CA check failed; keeping the current state", "error", err)
		}
	}
}

// Check runs one round of Run's checks.
func (c *CA) Check() error {
	if c.opts.CACertsDir != "" {
		return c.reloadCACerts()
	}
	return c.checkSelfSigned()
}
