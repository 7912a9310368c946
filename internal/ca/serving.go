package ca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"time"
)

// ServingOptions configure the control plane's own serving certificate.
type ServingOptions struct {
	CA       *CA
	DNSNames []string
	IPs      []net.IP
	TTL      time.Duration // default DefaultWorkloadCertTTL
}

// Serving is a server certificate issued by the CA to the control plane
// itself, renewed on use at half of its lifetime or when the CA changes.
type Serving struct {
	opts ServingOptions

	mu      sync.Mutex
	cert    *tls.Certificate
	gen     uint64
	renewAt time.Time
}

// NewServing returns a serving certificate source; nothing is issued
// until the first handshake.
func NewServing(opts ServingOptions) *Serving {
	setDuration(&opts.TTL, DefaultWorkloadCertTTL)
	return &Serving{opts: opts}
}

// GetCertificate is a tls.Config.GetCertificate callback.
func (s *Serving) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.CA.opts.Now()
	if s.cert != nil && s.gen == s.opts.CA.Generation() && now.Before(s.renewAt) {
		return s.cert, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	gen := s.opts.CA.Generation()
	issued, err := s.opts.CA.IssueServing(key.Public(), s.opts.DNSNames, s.opts.IPs, s.opts.TTL)
	if err != nil {
		return nil, fmt.Errorf("ca: serving certificate: %w", err)
	}
	s.opts.CA.opts.Metrics.servingRenewal.Inc()
	leaf := issued.Chain[0]
	c := &tls.Certificate{PrivateKey: key, Leaf: leaf}
	for _, x := range issued.Chain {
		c.Certificate = append(c.Certificate, x.Raw)
	}
	s.cert, s.gen = c, gen
	s.renewAt = leaf.NotBefore.Add(leaf.NotAfter.Sub(leaf.NotBefore) / 2)
	return c, nil
}

// TLSConfig returns a server configuration that presents the serving
// certificate and verifies client certificates, when given, against the
// CA's current trust bundle (read at every handshake, so rotations apply
// without a restart).
func (s *Serving) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return &tls.Config{
				MinVersion:     tls.VersionTLS12,
				GetCertificate: s.GetCertificate,
				ClientAuth:     tls.VerifyClientCertIfGiven,
				ClientCAs:      s.opts.CA.TrustPool(),
				NextProtos:     []string{"h2"},
			}, nil
		},
	}
}
