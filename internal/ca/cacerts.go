package ca

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/lateenmesh/lateen/internal/certpem"
)

// loadCACerts reads a plugged-in CA in Istio's cacerts layout:
//
//	ca-cert.pem     the signing (intermediate) certificate
//	ca-key.pem      its key
//	root-cert.pem   the trust bundle: one root, or several during a rotation
//	cert-chain.pem  the chain from ca-cert.pem up (optional; roots in it are dropped)
func loadCACerts(dir string, now time.Time) (*authority, error) {
	files, err := readCACerts(dir)
	if err != nil {
		return nil, err
	}
	a, err := parseCACerts(files, now)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	a.files = files
	return a, nil
}

func readCACerts(dir string) ([4][]byte, error) {
	var files [4][]byte
	for i, name := range []string{CACertFile, CAKeyFile, RootCertFile, CertChainFile} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil && !(name == CertChainFile && errors.Is(err, fs.ErrNotExist)) {
			return files, err
		}
		files[i] = data
	}
	return files, nil
}

func parseCACerts(files [4][]byte, now time.Time) (*authority, error) {
	certs, err := certpem.Parse(files[0])
	if err != nil || len(certs) == 0 {
		return nil, fmt.Errorf("%s: no certificate (%v)", CACertFile, err)
	}
	cert := certs[0]
	key, err := ParsePrivateKey(files[1])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", CAKeyFile, err)
	}
	roots, err := certpem.Parse(files[2])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", RootCertFile, err)
	}
	chain, err := certpem.Parse(files[3])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", CertChainFile, err)
	}
	if !now.Before(cert.NotAfter) {
		return nil, fmt.Errorf("%s expired at %s", CACertFile, cert.NotAfter.UTC().Format(time.RFC3339))
	}
	chain = withoutSelfSigned(chain)
	if !isSelfSigned(cert) && (len(chain) == 0 || !chain[0].Equal(cert)) {
		chain = append([]*x509.Certificate{cert}, chain...)
	}
	return newAuthority(key, cert, dedupe(chain), unexpired(roots, now), now)
}

// reloadCACerts swaps in the cacerts files when they changed and are
// valid; otherwise the current CA keeps signing.
func (c *CA) reloadCACerts() error {
	files, err := readCACerts(c.opts.CACertsDir)
	if err != nil {
		return fmt.Errorf("ca: reload %s: %w", c.opts.CACertsDir, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur := c.cur.Load(); cur != nil && sameFiles(cur.files, files) {
		return nil
	}
	a, err := parseCACerts(files, c.opts.Now())
	if err != nil {
		return fmt.Errorf("ca: reload %s: %w", c.opts.CACertsDir, err)
	}
	a.files = files
	c.swap(a)
	c.log.Info("reloaded the plugged-in CA", "dir", c.opts.CACertsDir, "roots", len(a.roots))
	return nil
}

func sameFiles(a, b [4][]byte) bool {
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
