package identity

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/lateenmesh/lateen/internal/certpem"
	"github.com/lateenmesh/lateen/internal/spiffe"
)

// loadRootFile reads RootCertFile; a read error keeps the last good roots
// when there are some.
func (a *Agent) loadRootFile() error {
	data, err := os.ReadFile(a.opts.RootCertFile)
	var certs []*x509.Certificate
	if err == nil {
		certs, err = certpem.Parse(data)
		if err == nil && len(certs) == 0 {
			err = errors.New("no certificate")
		}
	}
	if err != nil {
		if a.files.Load() != nil {
			a.log.Warn("root certificate file unreadable; keeping the roots read before", "file", a.opts.RootCertFile, "error", err)
			return nil
		}
		return fmt.Errorf("identity: root certificate file %s: %w", a.opts.RootCertFile, err)
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	a.files.Store(pool)
	return nil
}

// controlPlaneRoots are the roots from RootCertFile plus the mesh's
// current trust bundle (which carries rotated roots).
func (a *Agent) controlPlaneRoots() *x509.CertPool {
	pool := x509.NewCertPool()
	if p := a.files.Load(); p != nil {
		pool = p.Clone()
	}
	if c := a.cur.Load(); c != nil {
		for _, r := range c.Roots {
			pool.AddCert(r)
		}
	}
	return pool
}

// ControlPlaneTLS returns a client configuration for pilot (CA and xDS on
// 15012): the server must present a certificate for serverName (empty: the
// CA's ServerName) that verifies against the root file or the current
// trust bundle, and the workload certificate is presented when there is
// one. Both are read at every handshake.
func (a *Agent) ControlPlaneTLS(serverName string) *tls.Config {
	if serverName == "" {
		serverName = a.opts.ServerName
	}
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         serverName,
		InsecureSkipVerify: true, // verified in VerifyConnection against roots read per handshake
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("identity: control plane presented no certificate")
			}
			return verifyChain(cs.PeerCertificates, a.controlPlaneRoots(), serverName, x509.ExtKeyUsageServerAuth, a.opts.Now())
		},
		GetClientCertificate: func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
			// Without a certificate the server still accepts; the token
			// authenticates instead. Send none rather than one it would refuse.
			c := a.cur.Load()
			if c == nil || !a.opts.Now().Before(c.Chain[0].NotAfter) || cri.SupportsCertificate(c.Certificate) != nil {
				return &tls.Certificate{}, nil
			}
			return c.Certificate, nil
		},
	}
}

// ServerTLS returns a mutual TLS server configuration for mesh traffic: it
// presents p's current certificate, requires a client certificate that
// verifies against p's current trust bundle, and passes the client's
// identity to authorize (nil: any identity of the bundle). Rotations
// apply at the next handshake.
func ServerTLS(p Provider, authorize func(spiffe.Identity) error) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return p.Certificate() },
		ClientAuth:     tls.RequireAnyClientCert, // verified in VerifyConnection against the current bundle
		VerifyConnection: func(cs tls.ConnectionState) error {
			return verifyPeer(cs, p.TrustBundle(), x509.ExtKeyUsageClientAuth, authorize)
		},
	}
}

// ClientTLS returns a mutual TLS client configuration for mesh traffic: it
// presents p's current certificate and accepts a server whose certificate
// verifies against p's trust bundle and whose identity authorize accepts
// (secure naming; nil: any identity of the bundle).
func ClientTLS(p Provider, authorize func(spiffe.Identity) error) *tls.Config {
	return &tls.Config{
		MinVersion:           tls.VersionTLS12,
		InsecureSkipVerify:   true, // verified in VerifyConnection: SPIFFE identities, not host names
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return p.Certificate() },
		VerifyConnection: func(cs tls.ConnectionState) error {
			return verifyPeer(cs, p.TrustBundle(), x509.ExtKeyUsageServerAuth, authorize)
		},
	}
}

func verifyPeer(cs tls.ConnectionState, roots *x509.CertPool, usage x509.ExtKeyUsage, authorize func(spiffe.Identity) error) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("identity: peer presented no certificate")
	}
	if err := verifyChain(cs.PeerCertificates, roots, "", usage, time.Now()); err != nil {
		return err
	}
	id, err := spiffe.FromCertificate(cs.PeerCertificates[0])
	if err != nil {
		return fmt.Errorf("identity: peer: %w", err)
	}
	if authorize != nil {
		return authorize(id)
	}
	return nil
}

// verifyChain verifies chain (leaf first) against roots for usage and,
// when dnsName is set, the leaf's DNS or IP SANs.
func verifyChain(chain []*x509.Certificate, roots *x509.CertPool, dnsName string, usage x509.ExtKeyUsage, now time.Time) error {
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{DNSName: dnsName, Roots: roots, Intermediates: inter,
		CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{usage}})
	if err != nil {
		return fmt.Errorf("identity: verify certificate: %w", err)
	}
	return nil
}
