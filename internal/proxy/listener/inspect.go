package listener

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"time"
)

// Transport protocols a filter chain may match.
const (
	TransportTLS = "tls"
	TransportRaw = "raw_buffer"
)

// ClientHello is what the TLS inspector learned about a connection before
// a filter chain is chosen (Envoy's envoy.filters.listener.tls_inspector).
type ClientHello struct {
	TransportProtocol string // TransportTLS or TransportRaw
	ServerName        string
	ALPN              []string
}

// errHelloRead stops the sniffing handshake once the ClientHello is read.
var errHelloRead = errors.New("client hello read")

// InspectTLS reads the start of c: a TLS ClientHello gives "tls" with its
// SNI and ALPN, anything else "raw_buffer". The returned connection
// replays what was read. With timeout > 0 the sniffing gives up after
// that long: the error then is os.ErrDeadlineExceeded.
func InspectTLS(c net.Conn, timeout time.Duration) (ClientHello, net.Conn, error) {
	if timeout > 0 {
		_ = c.SetReadDeadline(time.Now().Add(timeout))
		defer c.SetReadDeadline(time.Time{}) //nolint:errcheck
	}
	rec := &recorder{Conn: c}
	var first [1]byte
	if _, err := io.ReadFull(rec, first[:]); err != nil {
		return ClientHello{TransportProtocol: TransportRaw}, rec.replay(), err
	}
	hello := ClientHello{TransportProtocol: TransportRaw}
	if first[0] != 0x16 { // not a TLS handshake record
		return hello, rec.replay(), nil
	}
	cfg := &tls.Config{GetConfigForClient: func(chi *tls.ClientHelloInfo) (*tls.Config, error) {
		hello = ClientHello{TransportProtocol: TransportTLS, ServerName: chi.ServerName, ALPN: chi.SupportedProtos}
		return nil, errHelloRead
	}}
	rec.pos, rec.sniffing = 0, true
	err := tls.Server(rec, cfg).Handshake()
	rec.sniffing = false
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		return hello, rec.replay(), err
	}
	return hello, rec.replay(), nil
}

// recorder keeps every byte read from the connection. While sniffing, the
// sniffing TLS server first reads what was recorded before, and what it
// writes (an alert) is dropped.
type recorder struct {
	net.Conn
	buf      bytes.Buffer
	pos      int // bytes of buf the sniffer has read
	sniffing bool
}

func (r *recorder) Read(p []byte) (int, error) {
	if r.sniffing && r.pos < r.buf.Len() {
		n := copy(p, r.buf.Bytes()[r.pos:])
		r.pos += n
		return n, nil
	}
	n, err := r.Conn.Read(p)
	r.buf.Write(p[:n])
	r.pos = r.buf.Len()
	return n, err
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.sniffing {
		return len(p), nil
	}
	return r.Conn.Write(p)
}

// replay returns the connection with the recorded bytes read first.
func (r *recorder) replay() net.Conn {
	if r.buf.Len() == 0 {
		return r.Conn
	}
	return &replayConn{Conn: r.Conn, prefix: bytes.NewReader(r.buf.Bytes())}
}

// replayConn reads prefix, then the connection.
type replayConn struct {
	net.Conn
	prefix *bytes.Reader
}

func (c *replayConn) Read(p []byte) (int, error) {
	if c.prefix.Len() > 0 {
		return c.prefix.Read(p)
	}
	return c.Conn.Read(p)
}

// NetConn returns the wrapped connection.
func (c *replayConn) NetConn() net.Conn { return c.Conn }

// CloseWrite half-closes the connection (TCP proxy).
func (c *replayConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Close()
}
