package listener

import (
	"net"
	"net/netip"
)

// Original destination handling, as Envoy's: iptables REDIRECT delivers a
// captured connection to the proxy's capture port (virtualOutbound 15001,
// virtualInbound 15006), and the kernel remembers where it was going. The
// original_dst listener filter makes that address the connection's local
// address (so filter chains match the port the application used, and an
// ORIGINAL_DST cluster connects there); a use_original_dst listener then
// hands the connection to the listener configured for that address — the
// exact address and port, else the wildcard address (0.0.0.0 or ::) with
// the port — usually one that is not bound to a socket itself. Without such
// a listener it serves the connection with its own filter chains.

// restore returns c with its original destination as local address; a
// connection that was not redirected (or that conntrack does not know)
// keeps its own.
func (m *Manager) restore(c net.Conn) net.Conn {
	dst, err := m.opts.OriginalDst(c)
	if err != nil {
		m.log.Debug("no original destination", "local", c.LocalAddr().String(), "remote", c.RemoteAddr().String(), "err", err)
		return c
	}
	return &restoredConn{Conn: c, local: net.TCPAddrFromAddrPort(netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port()))}
}

// lookup returns the listener for a connection's (restored) local address:
// the exact one, else the wildcard one with the same port; nil for none.
func (m *Manager) lookup(local net.Addr) *socket {
	table := m.byAddress.Load()
	if table == nil {
		return nil
	}
	ta, ok := local.(*net.TCPAddr)
	if !ok {
		return nil
	}
	ap := ta.AddrPort()
	addr := ap.Addr().Unmap()
	if s := (*table)[netip.AddrPortFrom(addr, ap.Port()).String()]; s != nil {
		return s
	}
	wildcard := netip.IPv4Unspecified()
	if addr.Is6() {
		wildcard = netip.IPv6Unspecified()
	}
	return (*table)[netip.AddrPortFrom(wildcard, ap.Port()).String()]
}

// publish rebuilds the handoff table from the bound and unbound listeners;
// m.mu is held.
func (m *Manager) publish() {
	table := make(map[string]*socket, len(m.sockets)+len(m.unbound))
	for addr, s := range m.sockets {
		table[addressKey(addr)] = s
	}
	for addr, s := range m.unbound {
		table[addressKey(addr)] = s
	}
	m.byAddress.Store(&table)
}

// addressKey normalizes host:port as netip prints it ("[::]:80").
func addressKey(addr string) string {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String()
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return net.JoinHostPort(host, port)
}

// restoredConn is a connection whose local address is its original
// destination.
type restoredConn struct {
	net.Conn
	local net.Addr
}

func (c *restoredConn) LocalAddr() net.Addr { return c.local }

// NetConn returns the wrapped connection.
func (c *restoredConn) NetConn() net.Conn { return c.Conn }

// CloseWrite half-closes the connection (TCP proxy).
func (c *restoredConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Close()
}
