package ca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/lateenmesh/lateen/internal/certpem"
)

// Istio's cacerts file names, also used for the self-signed state.
const (
	CACertFile    = "ca-cert.pem"
	CAKeyFile     = "ca-key.pem"
	RootCertFile  = "root-cert.pem"
	CertChainFile = "cert-chain.pem"
)

// loadSelfSigned loads the persisted root or creates one. An expired root
// is replaced.
func (c *CA) loadSelfSigned() (*authority, error) {
	now := c.opts.Now()
	if c.opts.Dir == "" {
		c.log.Warn("the CA root lives in memory only; set a CA directory to persist it")
		return c.newRoot(now, nil)
	}
	keyPEM, kerr := os.ReadFile(filepath.Join(c.opts.Dir, CAKeyFile))
	certPEM, cerr := os.ReadFile(filepath.Join(c.opts.Dir, CACertFile))
	if errors.Is(kerr, fs.ErrNotExist) && errors.Is(cerr, fs.ErrNotExist) {
		a, err := c.newRoot(now, nil)
		if err != nil {
			return nil, err
		}
		c.log.Info("generated a self-signed root", "dir", c.opts.Dir)
		return a, c.persist(a)
	}
	if err := errors.Join(kerr, cerr); err != nil {
		return nil, err
	}
	a, err := parseSelfSigned(c.opts.Dir, keyPEM, certPEM, now)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.opts.Dir, err)
	}
	if !now.Before(a.cert.NotAfter) {
		c.log.Warn("the persisted root has expired; generating a new one", "expired", a.cert.NotAfter)
		if a, err = c.newRoot(now, nil); err != nil {
			return nil, err
		}
		return a, c.persist(a)
	}
	return a, nil
}

func parseSelfSigned(dir string, keyPEM, certPEM []byte, now time.Time) (*authority, error) {
	key, err := ParsePrivateKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", CAKeyFile, err)
	}
	certs, err := certpem.Parse(certPEM)
	if err != nil || len(certs) == 0 {
		return nil, fmt.Errorf("%s: no certificate (%v)", CACertFile, err)
	}
	cert := certs[0]
	if !isSelfSigned(cert) {
		return nil, fmt.Errorf("%s is not a self-signed root (plug an intermediate in as cacerts instead)", CACertFile)
	}
	if !now.Before(cert.NotAfter) {
		return &authority{key: key, cert: cert}, nil // caller replaces it
	}
	bundle, err := readOptionalCerts(filepath.Join(dir, RootCertFile))
	if err != nil {
		return nil, err
	}
	chain, err := readOptionalCerts(filepath.Join(dir, CertChainFile))
	if err != nil {
		return nil, err
	}
	roots := dedupe(append([]*x509.Certificate{cert}, unexpired(bundle, now)...))
	return newAuthority(key, cert, unexpired(chain, now), roots, now)
}

func readOptionalCerts(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	certs, err := certpem.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return certs, nil
}

// newRoot generates a self-signed ECDSA P-256 root. With prev, the new root
// is also cross-signed by prev's key, and that cross certificate follows
// every new leaf: a peer that still trusts only the old root verifies new
// leaves through it, while the bundle (new root first, then the old ones)
// lets updated peers verify old leaves.
func (c *CA) newRoot(now time.Time, prev *authority) (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{Organization: []string{c.opts.TrustDomain},
			CommonName: "Lateen root CA " + now.UTC().Format("2006-01-02T15:04:05Z")},
		NotBefore:             now,
		NotAfter:              now.Add(c.opts.RootCertTTL),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	root, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	roots, chain := []*x509.Certificate{root}, []*x509.Certificate(nil)
	if prev != nil && now.Before(prev.cert.NotAfter) {
		cross, err := crossSign(root, prev)
		if err != nil {
			return nil, err
		}
		chain = []*x509.Certificate{cross}
		roots = append(roots, unexpired(prev.roots, now)...)
	}
	return newAuthority(key, root, chain, roots, now)
}

// crossSign issues root's subject and key again, signed by prev, valid
// while prev's root is.
func crossSign(root *x509.Certificate, prev *authority) (*x509.Certificate, error) {
	serial, err := serialNumber()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: root.Subject, SubjectKeyId: root.SubjectKeyId,
		NotBefore: root.NotBefore, NotAfter: prev.cert.NotAfter,
		KeyUsage: root.KeyUsage, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, prev.cert, root.PublicKey, prev.key)
	if err != nil {
		return nil, fmt.Errorf("cross-sign the new root: %w", err)
	}
	return x509.ParseCertificate(der)
}

// persist writes a to Dir: the key 0600, certificates 0644.
func (c *CA) persist(a *authority) error {
	if c.opts.Dir == "" {
		return nil
	}
	if err := os.MkdirAll(c.opts.Dir, 0o700); err != nil {
		return err
	}
	keyPEM, err := EncodePrivateKey(a.key)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
		perm os.FileMode
	}{
		{RootCertFile, a.pem, 0o644},
		{CertChainFile, certpem.Encode(a.chain...), 0o644},
		{CAKeyFile, keyPEM, 0o600},
		{CACertFile, certpem.Encode(a.cert), 0o644},
	} {
		if err := writeFileAtomic(filepath.Join(c.opts.Dir, f.name), f.data, f.perm); err != nil {
			return err
		}
	}
	return nil
}

func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// RotateRoot replaces a self-signed root now: new leaves are signed by the
// new root, and the bundle keeps the old roots until they expire.
func (c *CA) RotateRoot() error {
	if c.opts.CACertsDir != "" {
		return errors.New("ca: a plugged-in CA rotates by replacing its cacerts files")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rotateLocked(c.opts.Now())
}

func (c *CA) rotateLocked(now time.Time) error {
	prev, err := c.authority()
	if err != nil {
		return err
	}
	a, err := c.newRoot(now, prev)
	if err != nil {
		return fmt.Errorf("ca: rotate root: %w", err)
	}
	if err := c.persist(a); err != nil {
		return fmt.Errorf("ca: rotate root: %w", err)
	}
	c.swap(a)
	c.log.Info("rotated the self-signed root", "roots", len(a.roots), "expires", a.cert.NotAfter.UTC().Format(time.RFC3339))
	return nil
}

// checkSelfSigned rotates a root within its grace period and drops expired
// roots and cross certificates from the bundle and chain.
func (c *CA) checkSelfSigned() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, err := c.authority()
	if err != nil {
		return err
	}
	now := c.opts.Now()
	life := a.cert.NotAfter.Sub(a.cert.NotBefore)
	if a.cert.NotAfter.Sub(now) < time.Duration(float64(life)*c.opts.RootGraceRatio) {
		return c.rotateLocked(now)
	}
	roots, chain := unexpired(a.roots, now), unexpired(a.chain, now)
	if len(roots) == len(a.roots) && len(chain) == len(a.chain) {
		return nil
	}
	next, err := newAuthority(a.key, a.cert, chain, roots, now)
	if err != nil {
		return err
	}
	if err := c.persist(next); err != nil {
		return err
	}
	c.swap(next)
	return nil
}
