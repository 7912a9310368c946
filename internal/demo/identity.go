package demo

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/lateenmesh/lateen/internal/ca"
	"github.com/lateenmesh/lateen/internal/ca/authn"
)

// The demo's identity material in the state directory:
//
//	ca/                       the self-signed root (kept across runs; ca-key.pem is 0600)
//	identity/<workload>.token one bootstrap token per workload (0600, removed on exit)
//	identity/tokens           sha256(token) → namespace/serviceAccount, read by pilot
//
// Under capture=iptables the sidecars run as ProxyUID: their tokens (owned
// by it) and a copy of the root certificate are in /run/lateen/<network id>.
func (d *demo) caDir() string       { return filepath.Join(d.opts.StateDir, "ca") }
func (d *demo) identityDir() string { return filepath.Join(d.opts.StateDir, "identity") }
func (d *demo) rootCert() string {
	if d.opts.CACertsDir != "" {
		return filepath.Join(d.opts.CACertsDir, ca.RootCertFile)
	}
	return filepath.Join(d.caDir(), ca.RootCertFile)
}

// caFlag and caFlagValue give pilot its CA: the plugged-in cacerts, else
// the demo's self-signed root.
func (d *demo) caFlag() string {
	if d.opts.CACertsDir != "" {
		return "--cacerts-dir"
	}
	return "--ca-dir"
}

func (d *demo) caFlagValue() string {
	if d.opts.CACertsDir != "" {
		return d.opts.CACertsDir
	}
	return d.caDir()
}
func (d *demo) tokenHashes() string { return filepath.Join(d.identityDir(), "tokens") }
func (d *demo) tokenFile(w *Workload) string {
	if w.Netns != "" {
		return filepath.Join(d.net.proxyDir(), w.Name+".token") // readable by the sidecar's user
	}
	return filepath.Join(d.identityDir(), w.Name+".token")
}

// provisionIdentities creates (or reloads) the mesh root and gives every
// workload its own bootstrap token, so that each proxy can obtain its own
// identity and no other.
func (d *demo) provisionIdentities() error {
	if d.opts.CACertsDir == "" {
		c, err := ca.New(ca.Options{Dir: d.caDir(), Logger: d.opts.Logger})
		if err != nil {
			return err
		}
		if err := c.Load(); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(d.identityDir(), 0o700); err != nil {
		return err
	}
	if err := d.makeProxyDir(); err != nil {
		return err
	}
	var hashes strings.Builder
	hashes.WriteString("# lateen demo bootstrap tokens: sha256(token) namespace/serviceAccount\n")
	for _, w := range d.workloads {
		token, err := authn.NewToken()
		if err != nil {
			return err
		}
		if err := d.writeSecret(d.tokenFile(w), token+"\n"); err != nil {
			return err
		}
		hashes.WriteString(authn.TokenLine(token, w.Namespace, w.ServiceAccount))
	}
	if err := d.writeSecret(d.tokenHashes(), hashes.String()); err != nil {
		return err
	}
	return d.shareIdentity()
}

// writeSecret writes a 0600 file the demo removes on exit.
func (d *demo) writeSecret(path, content string) error {
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	d.written = append(d.written, path)
	return os.Chmod(path, 0o600) // an older file keeps its mode on WriteFile
}
