//go:build linux

package listener

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// ip6tSOOriginalDst is IP6T_SO_ORIGINAL_DST (linux/netfilter_ipv6/ip6_tables.h),
// which x/sys/unix does not name; it has SO_ORIGINAL_DST's value.
const ip6tSOOriginalDst = 80

// SOOriginalDst returns the destination a connection had before iptables
// REDIRECTed it to this socket: the conntrack entry's original tuple, read
// with getsockopt SO_ORIGINAL_DST (IPv4) or IP6T_SO_ORIGINAL_DST (IPv6).
// It fails for connections conntrack does not know.
func SOOriginalDst(c net.Conn) (netip.AddrPort, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("original destination: %T has no socket", c)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("original destination: %w", err)
	}
	v6 := false
	if a, ok := c.LocalAddr().(*net.TCPAddr); ok {
		v6 = a.IP.To4() == nil
	}
	var dst netip.AddrPort
	var serr error
	err = raw.Control(func(fd uintptr) {
		if v6 {
			dst, serr = originalDst6(int(fd))
		} else {
			dst, serr = originalDst4(int(fd))
		}
	})
	if err = errors.Join(err, serr); err != nil {
		return netip.AddrPort{}, fmt.Errorf("original destination: %w", err)
	}
	return dst, nil
}

// originalDst4 reads a sockaddr_in (family, big-endian port, address) through
// the 16 bytes GetsockoptIPv6Mreq fetches.
func originalDst4(fd int) (netip.AddrPort, error) {
	m, err := unix.GetsockoptIPv6Mreq(fd, unix.SOL_IP, unix.SO_ORIGINAL_DST)
	if err != nil {
		return netip.AddrPort{}, err
	}
	b := m.Multiaddr
	addr := netip.AddrFrom4([4]byte{b[4], b[5], b[6], b[7]})
	return netip.AddrPortFrom(addr, binary.BigEndian.Uint16(b[2:4])), nil
}

// originalDst6 reads a sockaddr_in6 through the IPv6MTUInfo that
// GetsockoptIPv6MTUInfo fetches (its first member is one).
func originalDst6(fd int) (netip.AddrPort, error) {
	info, err := unix.GetsockoptIPv6MTUInfo(fd, unix.SOL_IPV6, ip6tSOOriginalDst)
	if err != nil {
		return netip.AddrPort{}, err
	}
	sa := info.Addr
	port := binary.BigEndian.Uint16(binary.NativeEndian.AppendUint16(nil, sa.Port))
	return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), port), nil
}
