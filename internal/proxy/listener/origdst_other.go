//go:build !linux

package listener

import (
	"errors"
	"net"
	"net/netip"
)

// SOOriginalDst is only available on Linux (iptables REDIRECT).
func SOOriginalDst(net.Conn) (netip.AddrPort, error) {
	return netip.AddrPort{}, errors.New("original destination: only supported on Linux")
}
