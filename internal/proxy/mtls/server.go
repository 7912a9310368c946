package mtls

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"slices"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/stats"
)

// Server terminates TLS for one filter chain (DownstreamTlsContext). Its
// configuration is shared by every connection of the chain (sessions
// resume across them, with the proxy-wide ticket key) and reads the
// certificate and roots at every handshake.
type Server struct {
	cfg     *resource.DownstreamTLS
	secrets *Secrets
	config  *tls.Config
}

// NewServer builds the server side of a chain's TLS settings.
func NewServer(cfg *resource.DownstreamTLS, secrets *Secrets) *Server {
	s := &Server{cfg: cfg, secrets: secrets}
	common := &cfg.Common
	lo, hi := tlsVersions(common)
	s.config = &tls.Config{
		MinVersion:       lo,
		MaxVersion:       hi,
		CipherSuites:     common.CipherSuites,
		CurvePreferences: curves,
		NextProtos:       common.ALPN,
		ClientAuth:       clientAuth(cfg),
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return secrets.Certificate(common.Certificate)
		},
		VerifyConnection: func(st tls.ConnectionState) error {
			if len(st.PeerCertificates) == 0 {
				return nil // required ones are enforced by ClientAuth
			}
			return verifyPeer(common.Validation, secrets, st.PeerCertificates, "", time.Now())
		},
	}
	key := secrets.store.ticketKey()
	s.config.SetSessionTicketKeys([][32]byte{key})
	s.config.GetConfigForClient = s.forClient
	return s
}

// clientAuth requires a client certificate when the chain does, asks for
// one when it has a validation context, else does not ask.
func clientAuth(cfg *resource.DownstreamTLS) tls.ClientAuthType {
	switch {
	case cfg.RequireClientCert:
		return tls.RequireAnyClientCert // verified in VerifyConnection
	case cfg.Common.Validation != nil:
		return tls.RequestClientCert
	}
	return tls.NoClientCert
}

// forClient negotiates no application protocol, instead of failing the
// handshake, when the client offers none of the chain's (as Envoy does):
// Istio clients offer "istio-peer-exchange", "istio" to HTTP chains that
// speak "h2", "http/1.1".
func (s *Server) forClient(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	if len(hello.SupportedProtos) == 0 || len(s.config.NextProtos) == 0 {
		return nil, nil
	}
	for _, p := range hello.SupportedProtos {
		if slices.Contains(s.config.NextProtos, p) {
			return nil, nil
		}
	}
	c := s.config.Clone()
	c.NextProtos, c.GetConfigForClient = nil, nil
	return c, nil
}

// Config returns the shared server configuration.
func (s *Server) Config() *tls.Config { return s.config }

// handshakeTimeout bounds a downstream TLS handshake.
const handshakeTimeout = 15 * time.Second

// Handler is a listener connection handler.
type Handler interface{ ServeConn(c net.Conn) }

// ServerHandler terminates TLS on accepted connections and hands the
// decrypted connection (a *Conn, which knows its peer) to Next.
type ServerHandler struct {
	server *Server
	next   Handler
	log    *slog.Logger
	stats  serverStats
}

type serverStats struct {
	handshake, connError, reused, noCert *stats.Counter
}

// NewServerHandler returns a handler terminating TLS with server before
// next; stats go under prefix (e.g. "listener.10.0.0.1_9080.").
func NewServerHandler(server *Server, next Handler, store *stats.Store, prefix string, log *slog.Logger) *ServerHandler {
	return &ServerHandler{server: server, next: next, log: log, stats: serverStats{
		handshake: store.Counter(prefix + "ssl.handshake"), connError: store.Counter(prefix + "ssl.connection_error"),
		reused: store.Counter(prefix + "ssl.session_reused"), noCert: store.Counter(prefix + "ssl.no_certificate"),
	}}
}

// ServeConn runs the handshake and serves the connection.
func (h *ServerHandler) ServeConn(c net.Conn) {
	tc := tls.Server(c, h.server.config)
	ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		h.stats.connError.Inc()
		h.log.Debug("TLS handshake failed", "remote", c.RemoteAddr().String(), "local", c.LocalAddr().String(), "err", err)
		_ = c.Close()
		return
	}
	st := tc.ConnectionState()
	h.stats.handshake.Inc()
	if st.DidResume {
		h.stats.reused.Inc()
	}
	if len(st.PeerCertificates) == 0 {
		h.stats.noCert.Inc()
	}
	h.next.ServeConn(&Conn{Conn: tc, peer: newPeer(st, h.localURIs())})
}

// localURIs are the URI SANs of the certificate this chain presents
// (x-forwarded-client-cert's By).
func (h *ServerHandler) localURIs() []string {
	cert, err := h.server.secrets.Certificate(h.server.cfg.Common.Certificate)
	if err != nil || cert.Leaf == nil {
		return nil
	}
	out := make([]string, 0, len(cert.Leaf.URIs))
	for _, u := range cert.Leaf.URIs {
		out = append(out, u.String())
	}
	return out
}

// Conn is a connection after the TLS handshake: downstream (its Peer is
// the client) or upstream (its Peer is the server).
type Conn struct {
	*tls.Conn
	peer *Peer
}

// Peer describes the other side of the connection.
func (c *Conn) Peer() *Peer { return c.peer }

// PeerOf returns the TLS peer of a connection (a *Conn, or a wrapper that
// has its Peer method or exposes it through NetConn), or nil for a
// plaintext one.
func PeerOf(c net.Conn) *Peer {
	for c != nil {
		if tc, ok := c.(interface{ Peer() *Peer }); ok {
			return tc.Peer()
		}
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return nil
		}
		c = u.NetConn()
	}
	return nil
}
