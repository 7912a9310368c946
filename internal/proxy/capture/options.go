// Package capture is `lateen-proxy iptables`: it does what Istio's istio-init
// (istio-iptables) does in a pod, redirecting the workload's TCP traffic to
// the proxy with iptables REDIRECT rules in the nat table.
//
// Rules(Options) is a pure function producing iptables-restore input; Setup
// applies it atomically (iptables-restore --noflush, our chains declared and
// so flushed, stale jumps deleted) and removes it (Cleanup). Main is the
// command line. See README.md.
package capture

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Istio's port numbers (see ARCHITECTURE.md).
const (
	DefaultProxyID             = "1337"
	DefaultInboundCapturePort  = 15006
	DefaultOutboundCapturePort = 15001
	tunnelPort                 = 15008 // HBONE; never captured inbound
	dnsProxyPort               = 15053
)

// proxyPorts are the proxy's own inbound ports, always excluded from inbound
// capture when every port is captured: Istio's injector adds 15090, 15021
// and 15020 to excludeInboundPorts; Lateen adds the admin port 15000 because
// lateen-proxy may bind it on the workload address.
var proxyPorts = []uint16{15090, 15021, 15020, 15000}

// Options are istio-iptables' settings, named after the pod annotations.
// Start from Defaults(); Validate before use.
type Options struct {
	ProxyUIDs           []string // owners whose traffic is not redirected; default 1337
	ProxyGIDs           []string // default 1337
	InboundCapturePort  uint16   // default 15006
	OutboundCapturePort uint16   // default 15001

	IncludeInboundPorts     PortList  // default "*"; empty: no inbound capture
	ExcludeInboundPorts     PortList  // only with IncludeInboundPorts "*"
	IncludeOutboundIPRanges RangeList // default "*"
	ExcludeOutboundIPRanges RangeList
	IncludeOutboundPorts    PortList // captured even outside IncludeOutboundIPRanges
	ExcludeOutboundPorts    PortList // TCP and UDP, before anything else

	CaptureDNS bool // redirect TCP and UDP port 53 to 15053 (the proxy's own DNS excluded)
	IPv6       bool // also produce ip6tables rules
}

// Defaults returns Istio's defaults: capture every inbound port and every
// outbound address, proxy UID and GID 1337.
func Defaults() Options {
	return Options{
		ProxyUIDs:               []string{DefaultProxyID},
		ProxyGIDs:               []string{DefaultProxyID},
		InboundCapturePort:      DefaultInboundCapturePort,
		OutboundCapturePort:     DefaultOutboundCapturePort,
		IncludeInboundPorts:     PortList{All: true},
		IncludeOutboundIPRanges: RangeList{All: true},
	}
}

// Validate reports settings Rules cannot express.
func (o Options) Validate() error {
	var errs []error
	if o.InboundCapturePort == 0 || o.OutboundCapturePort == 0 {
		errs = append(errs, errors.New("capture ports must be set (1-65535)"))
	}
	if len(o.ProxyUIDs)+len(o.ProxyGIDs) == 0 {
		errs = append(errs, errors.New("at least one proxy UID or GID is required"))
	}
	for _, id := range slices.Concat(o.ProxyUIDs, o.ProxyGIDs) {
		if _, err := strconv.ParseUint(id, 10, 32); err != nil {
			errs = append(errs, fmt.Errorf("proxy uid/gid %q: want a number", id))
		}
	}
	if o.ExcludeInboundPorts.All || o.IncludeOutboundPorts.All || o.ExcludeOutboundPorts.All {
		errs = append(errs, errors.New(`"*" is only valid for includeInboundPorts and includeOutboundIPRanges`))
	}
	if o.ExcludeOutboundIPRanges.All {
		errs = append(errs, errors.New(`excludeOutboundIPRanges: "*" is not valid`))
	}
	return errors.Join(errs...)
}

// PortList is "*" (All), a comma-separated list of ports, or empty.
type PortList struct {
	All   bool
	Ports []uint16
}

// ParsePortList parses "*", "" or "80,443".
func ParsePortList(s string) (PortList, error) {
	s = strings.TrimSpace(s)
	if s == "*" {
		return PortList{All: true}, nil
	}
	var l PortList
	for _, f := range splitList(s) {
		p, err := strconv.ParseUint(f, 10, 16)
		if err != nil || p == 0 {
			return PortList{}, fmt.Errorf("port %q: want 1-65535 or *", f)
		}
		if !slices.Contains(l.Ports, uint16(p)) {
			l.Ports = append(l.Ports, uint16(p))
		}
	}
	return l, nil
}

// String is the list in annotation form.
func (l PortList) String() string {
	if l.All {
		return "*"
	}
	s := make([]string, len(l.Ports))
	for i, p := range l.Ports {
		s[i] = strconv.Itoa(int(p))
	}
	return strings.Join(s, ",")
}

// RangeList is "*" (All), a comma-separated list of CIDRs, or empty.
type RangeList struct {
	All      bool
	Prefixes []netip.Prefix
}

// ParseRangeList parses "*", "" or "10.0.0.0/8,fd00::/8". A bare address
// is taken as a /32 or /128.
func ParseRangeList(s string) (RangeList, error) {
	s = strings.TrimSpace(s)
	if s == "*" {
		return RangeList{All: true}, nil
	}
	var l RangeList
	for _, f := range splitList(s) {
		p, err := parsePrefix(f)
		if err != nil {
			return RangeList{}, err
		}
		if !slices.Contains(l.Prefixes, p) {
			l.Prefixes = append(l.Prefixes, p)
		}
	}
	return l, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("IP range %q: want a CIDR or *", s)
		}
		return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("IP range %q: want a CIDR or *", s)
	}
	return p.Masked(), nil
}

// String is the list in annotation form.
func (l RangeList) String() string {
	if l.All {
		return "*"
	}
	s := make([]string, len(l.Prefixes))
	for i, p := range l.Prefixes {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// family returns the prefixes of one address family.
func (l RangeList) family(v6 bool) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range l.Prefixes {
		if p.Addr().Is6() == v6 {
			out = append(out, p)
		}
	}
	return out
}

// hasLoopback reports whether a listed range is a loopback range: then the
// application's own loopback traffic is captured too, as in Istio.
func (l RangeList) hasLoopback() bool {
	return slices.ContainsFunc(l.Prefixes, func(p netip.Prefix) bool { return p.Addr().IsLoopback() })
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
