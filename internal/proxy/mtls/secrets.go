// Package mtls is the proxy's TLS: it resolves the SDS secrets that
// listeners and clusters name (the workload certificate and trust bundle
// from the identity agent, certificate files, secrets received over ADS),
// builds client and server TLS configurations whose certificates and roots
// are read at every handshake (so rotations apply to new connections while
// established ones continue), resumes sessions, verifies peers (chain,
// subject alternative names, Istio's secure naming) and describes the peer
// of a connection (principal, namespace, x-forwarded-client-cert).
package mtls

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/stats"
)

// Identity is the workload identity as TLS needs it; the proxy's
// identity agent (identity.Provider) is one. Both methods are called at
// every handshake.
type Identity interface {
	Certificate() (*tls.Certificate, error)
	TrustBundle() *x509.CertPool
}

// Options configure a Store.
type Options struct {
	// Identity serves the secrets "default" and "ROOTCA"; nil when the
	// proxy has no workload certificate (handshakes needing them fail).
	Identity Identity
	Stats    *stats.Store
	Logger   *slog.Logger
}

// Store resolves secrets for every configuration of one proxy: it owns
// the certificate file cache and the session ticket key shared by all TLS
// servers, so sessions survive configuration swaps.
type Store struct {
	opts  Options
	log   *slog.Logger
	files *fileCache

	keyOnce sync.Once
	key     [32]byte

	verified chainCache
}

// NewStore returns a store. It does no I/O.
func NewStore(opts Options) *Store {
	if opts.Stats == nil {
		opts.Stats = stats.New()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Store{opts: opts, log: opts.Logger.With("component", "mtls"), files: newFileCache()}
}

// ticketKey is the session ticket key of this proxy's TLS servers.
func (s *Store) ticketKey() [32]byte {
	s.keyOnce.Do(func() { _, _ = rand.Read(s.key[:]) })
	return s.key
}

// Secrets returns the secrets of one configuration: the local ones and
// ads, the secrets received over ADS (parsed once here).
func (s *Store) Secrets(ads map[string]*resource.Secret) *Secrets {
	out := &Secrets{store: s, certs: map[string]certOrErr{}, roots: map[string]rootsOrErr{}}
	for name, sec := range ads {
		if len(sec.CertChain) > 0 {
			c, err := tls.X509KeyPair(sec.CertChain, sec.PrivateKey)
			out.certs[name] = certOrErr{&c, err}
		}
		if len(sec.TrustedCA) > 0 {
			pool := x509.NewCertPool()
			var err error
			if !pool.AppendCertsFromPEM(sec.TrustedCA) {
				err = errors.New("no certificate in trusted_ca")
			}
			out.roots[name] = rootsOrErr{pool, err}
		}
		if len(sec.CertChain) == 0 && len(sec.TrustedCA) == 0 {
			out.missing = append(out.missing, name)
		}
	}
	return out
}

type certOrErr struct {
	cert *tls.Certificate
	err  error
}

type rootsOrErr struct {
	pool *x509.CertPool
	err  error
}

// Secrets resolves the secrets one configuration names. It is immutable;
// local secrets are read when asked for, so they are always current.
type Secrets struct {
	store   *Store
	certs   map[string]certOrErr
	roots   map[string]rootsOrErr
	missing []string
}

// Certificate returns the certificate (chain and key) a secret holds.
func (s *Secrets) Certificate(ref *resource.SecretRef) (*tls.Certificate, error) {
	if ref == nil {
		return nil, errors.New("no certificate configured")
	}
	if !ref.Local {
		c, ok := s.certs[ref.Name]
		if !ok {
			return nil, fmt.Errorf("secret %q: no certificate (credential not found by the control plane)", ref.Name)
		}
		return c.cert, wrapSecret(ref.Name, c.err)
	}
	switch {
	case ref.Name == resource.SecretDefault:
		if s.store.opts.Identity == nil {
			return nil, errors.New("secret \"default\": the proxy has no workload identity (no CA address)")
		}
		c, err := s.store.opts.Identity.Certificate()
		return c, wrapSecret(ref.Name, err)
	case strings.HasPrefix(ref.Name, resource.FileCertPrefix):
		cert, key, _ := strings.Cut(strings.TrimPrefix(ref.Name, resource.FileCertPrefix), "~")
		c, err := s.store.files.keyPair(cert, key)
		return c, wrapSecret(ref.Name, err)
	}
	return nil, fmt.Errorf("secret %q: not a certificate", ref.Name)
}

// Roots returns the trusted CAs a validation secret holds.
func (s *Secrets) Roots(ref *resource.SecretRef) (*x509.CertPool, error) {
	if !ref.Local {
		r, ok := s.roots[ref.Name]
		if !ok {
			return nil, fmt.Errorf("secret %q: no trusted CA (credential not found by the control plane)", ref.Name)
		}
		return r.pool, wrapSecret(ref.Name, r.err)
	}
	switch {
	case ref.Name == resource.SecretRootCA:
		if s.store.opts.Identity == nil {
			return nil, errors.New("secret \"ROOTCA\": the proxy has no workload identity (no CA address)")
		}
		return s.store.opts.Identity.TrustBundle(), nil
	case ref.Name == resource.FileRootPrefix+resource.SystemRoots:
		pool, err := x509.SystemCertPool()
		return pool, wrapSecret(ref.Name, err)
	case strings.HasPrefix(ref.Name, resource.FileRootPrefix):
		pool, err := s.store.files.roots(strings.TrimPrefix(ref.Name, resource.FileRootPrefix))
		return pool, wrapSecret(ref.Name, err)
	}
	return nil, fmt.Errorf("secret %q: not a validation context", ref.Name)
}

// Missing lists the ADS secrets the control plane sent empty (credentials
// it does not have).
func (s *Secrets) Missing() []string { return s.missing }

func wrapSecret(name string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("secret %q: %w", name, err)
}
