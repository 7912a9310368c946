package mtls

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// Client originates TLS to upstream hosts for one transport socket of a
// cluster (UpstreamTlsContext).
type Client struct {
	cfg     *resource.UpstreamTLS
	secrets *Secrets
	autoSNI bool
	autoSAN bool
	key     string
}

// NewClient returns the client of a cluster's TLS settings; autoSNI and
// autoSAN are the cluster's upstream_http_protocol_options.
func NewClient(cfg *resource.UpstreamTLS, secrets *Secrets, autoSNI, autoSAN bool) *Client {
	c := &Client{cfg: cfg, secrets: secrets, autoSNI: autoSNI && cfg.SNI == "", autoSAN: autoSAN}
	c.key = fmt.Sprintf("tls|%s|%v|%v|%v", cfg.SNI, cfg.Common.ALPN, c.autoSNI, autoSAN)
	return c
}

// Key identifies the settings a pooled connection was made with: stable
// across configurations that keep them.
func (c *Client) Key() string { return c.key }

// ServerName is the SNI for a request to authority: the configured SNI,
// else (auto SNI) the request's host, else none.
func (c *Client) ServerName(authority string) string {
	if c.cfg.SNI != "" || !c.autoSNI {
		return c.cfg.SNI
	}
	return hostOnly(authority)
}

// Handshake runs a TLS client handshake on conn for serverName, resuming
// a session from sessions when it can. The connection's Peer is the
// server (its identity; Local: the URI SAN the proxy presented, if any).
// On failure conn is closed and the error is a *HandshakeError.
func (c *Client) Handshake(ctx context.Context, conn net.Conn, serverName string, sessions *Sessions) (*Conn, error) {
	cs := &connSessions{cache: sessions, key: conn.RemoteAddr().String() + "|" + serverName + "|" + c.key}
	tc := tls.Client(conn, c.config(serverName, cs))
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = conn.Close()
		return nil, &HandshakeError{Err: trimTLSPrefix(err)}
	}
	var local []string
	if cs.own != "" {
		local = []string{cs.own}
	}
	return &Conn{Conn: tc, peer: newPeer(tc.ConnectionState(), local)}, nil
}

// config builds one handshake's configuration: certificates and roots are
// read now, from the current secrets.
func (c *Client) config(serverName string, cs *connSessions) *tls.Config {
	common := &c.cfg.Common
	lo, hi := tlsVersions(common)
	hostname := ""
	if c.autoSAN {
		hostname = serverName
	}
	return &tls.Config{
		ServerName:         serverName,
		NextProtos:         common.ALPN,
		MinVersion:         lo,
		MaxVersion:         hi,
		CipherSuites:       common.CipherSuites,
		CurvePreferences:   curves,
		ClientSessionCache: cs,
		InsecureSkipVerify: true, // verified in VerifyConnection: SPIFFE identities and SANs, not host names
		VerifyConnection: func(st tls.ConnectionState) error {
			if err := verifyPeer(common.Validation, c.secrets, st.PeerCertificates, hostname, time.Now()); err != nil {
				return err
			}
			if len(st.PeerCertificates) > 0 {
				cs.peerEnd.Store(st.PeerCertificates[0].NotAfter.UnixNano())
			}
			return nil
		},
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if common.Certificate == nil {
				return &tls.Certificate{}, nil
			}
			cert, err := c.secrets.Certificate(common.Certificate)
			if err != nil && !common.Certificate.Local {
				// A credential without a certificate (CA only, or not found):
				// present none; a server that requires one refuses.
				return &tls.Certificate{}, nil
			}
			if err != nil {
				return nil, err
			}
			if cert.Leaf != nil {
				cs.ownEnd.Store(cert.Leaf.NotAfter.UnixNano())
				if len(cert.Leaf.URIs) > 0 {
					cs.own = cert.Leaf.URIs[0].String()
				}
			}
			return cert, nil
		},
	}
}

// trimTLSPrefix drops the "tls: " crypto/tls puts before its errors, so
// that reasons read "TLS error: ..." once.
func trimTLSPrefix(err error) error {
	if s, ok := strings.CutPrefix(err.Error(), "tls: "); ok {
		return &reason{s: s, err: err}
	}
	return err
}

type reason struct {
	s   string
	err error
}

func (r *reason) Error() string { return r.s }
func (r *reason) Unwrap() error { return r.err }
