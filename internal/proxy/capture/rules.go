package capture

import (
	"slices"
	"strconv"
	"strings"
)

// Istio's chain names: `lateen-proxy iptables` and istio-init replace each
// other's rules.
const (
	chainInbound    = "ISTIO_INBOUND"     // nat: PREROUTING (TCP) jumps here; raw: DNS replies
	chainInRedirect = "ISTIO_IN_REDIRECT" // REDIRECT to the inbound capture port
	chainOutput     = "ISTIO_OUTPUT"      // nat: OUTPUT jumps here
	chainRedirect   = "ISTIO_REDIRECT"    // REDIRECT to the outbound capture port
	chainOutputDNS  = "ISTIO_OUTPUT_DNS"  // DNS capture (nat) and conntrack zones (raw)
)

// ownChains are every chain Istio's sidecar capture ever creates (including
// TPROXY mode's mangle chains): re-applying or cleaning up removes them all,
// and the jumps to them from other chains.
var ownChains = map[string]bool{
	chainInbound: true, chainInRedirect: true, chainOutput: true, chainRedirect: true,
	chainOutputDNS: true, "ISTIO_DIVERT": true, "ISTIO_TPROXY": true, "ISTIO_DROP": true,
}

// table is one iptables table: the chains we own in it and the rules to
// append, in order (each "-A CHAIN ..." without the leading "-A ").
type table struct {
	name   string
	chains []string
	rules  []string
}

func (t *table) add(chain string, args ...string) {
	t.rules = append(t.rules, chain+" "+strings.Join(args, " "))
}

// family holds the address-specific values of one IP version.
type family struct {
	v6          bool
	localhost   string // the host loopback address Envoy-aware apps use
	passthrough string // source of the proxy's inbound passthrough connections
}

var (
	ipv4 = family{localhost: "127.0.0.1/32", passthrough: "127.0.0.6/32"}
	ipv6 = family{v6: true, localhost: "::1/128", passthrough: "::6/128"}
)

// Rules returns the iptables-restore (--noflush) input for o: the IPv4 rules
// and, when o.IPv6, the IPv6 rules (empty otherwise). Declaring a chain
// (":NAME - [0:0]") creates it or flushes it. o must be valid (Validate).
func Rules(o Options) (v4, v6 string) {
	v4 = render(build(o, ipv4))
	if o.IPv6 {
		v6 = render(build(o, ipv6))
	}
	return v4, v6
}

func build(o Options, f family) []*table {
	nat := &table{name: "nat", chains: []string{chainInbound, chainRedirect, chainInRedirect, chainOutput}}
	nat.add(chainInbound, "-p tcp --dport", port(tunnelPort), "-j RETURN")
	nat.add(chainRedirect, "-p tcp -j REDIRECT --to-ports", port(o.OutboundCapturePort))
	nat.add(chainInRedirect, "-p tcp -j REDIRECT --to-ports", port(o.InboundCapturePort))
	inbound(nat, o)
	nat.add("OUTPUT", "-j", chainOutput)
	for _, p := range o.ExcludeOutboundPorts.Ports {
		nat.add(chainOutput, "-p tcp --dport", port(p), "-j RETURN")
		nat.add(chainOutput, "-p udp --dport", port(p), "-j RETURN")
	}
	nat.add(chainOutput, "-o lo -s", f.passthrough, "-j RETURN")
	for _, id := range o.ProxyUIDs {
		proxyOwner(nat, o, f, "--uid-owner "+id)
	}
	for _, id := range o.ProxyGIDs {
		proxyOwner(nat, o, f, "--gid-owner "+id)
	}
	tables := []*table{nat}
	if o.CaptureDNS {
		dnsNAT(nat, o)
		tables = append(tables, dnsRaw(o))
	}
	outbound(nat, o, f)
	return tables
}

// inbound sends the workload's inbound TCP to ISTIO_IN_REDIRECT: every port
// but the excluded and proxy ports ("*"), or only the listed ports.
func inbound(nat *table, o Options) {
	in := o.IncludeInboundPorts
	if !in.All && len(in.Ports) == 0 {
		return
	}
	nat.add("PREROUTING", "-p tcp -j", chainInbound)
	if !in.All {
		for _, p := range in.Ports {
			nat.add(chainInbound, "-p tcp --dport", port(p), "-j", chainInRedirect)
		}
		return
	}
	for _, p := range union(proxyPorts, o.ExcludeInboundPorts.Ports) {
		nat.add(chainInbound, "-p tcp --dport", port(p), "-j RETURN")
	}
	nat.add(chainInbound, "-p tcp -j", chainInRedirect)
}

// proxyOwner keeps the proxy's own traffic out of the outbound capture,
// except when it calls the workload itself over loopback (app -> its own
// service VIP -> outbound proxy -> pod IP): that goes through the inbound
// capture. The application calling itself over loopback is not captured
// unless a loopback range is included explicitly.
func proxyOwner(nat *table, o Options, f family, owner string) {
	skip := "! --dport " + port(tunnelPort)
	if o.CaptureDNS {
		skip = "-m multiport ! --dports 53," + port(tunnelPort)
	}
	nat.add(chainOutput, "-o lo ! -d", f.localhost, "-p tcp", skip, "-m owner", owner, "-j", chainInRedirect)
	if !o.IncludeOutboundIPRanges.hasLoopback() {
		if o.CaptureDNS {
			nat.add(chainOutput, "-o lo -p tcp ! --dport 53 -m owner !", owner, "-j RETURN")
		} else {
			nat.add(chainOutput, "-o lo -m owner !", owner, "-j RETURN")
		}
	}
	nat.add(chainOutput, "-m owner", owner, "-j RETURN")
}

// outbound captures what is left: loopback and excluded ranges return,
// included ports and ranges go to ISTIO_REDIRECT.
func outbound(nat *table, o Options, f family) {
	nat.add(chainOutput, "-d", f.localhost, "-j RETURN")
	for _, p := range o.ExcludeOutboundIPRanges.family(f.v6) {
		nat.add(chainOutput, "-d", p.String(), "-j RETURN")
	}
	for _, p := range o.IncludeOutboundPorts.Ports {
		nat.add(chainOutput, "-p tcp --dport", port(p), "-j", chainRedirect)
	}
	if o.IncludeOutboundIPRanges.All {
		nat.add(chainOutput, "-j", chainRedirect)
		return
	}
	for _, p := range o.IncludeOutboundIPRanges.family(f.v6) {
		nat.add(chainOutput, "-d", p.String(), "-j", chainRedirect)
	}
}

// dnsNAT redirects the workload's DNS (TCP and UDP port 53, any server) to
// the proxy's DNS port; the proxy's own queries go out.
func dnsNAT(nat *table, o Options) {
	nat.chains = append(nat.chains, chainOutputDNS)
	nat.add(chainOutput, "-j", chainOutputDNS)
	nat.add(chainOutputDNS, "-p tcp --dport 53 -j REDIRECT --to-ports", port(dnsProxyPort))
	for _, owner := range owners(o) {
		nat.add(chainOutputDNS, "-p udp --dport 53 -m owner", owner, "-j RETURN")
	}
	nat.add(chainOutputDNS, "-p udp --dport 53 -j REDIRECT --to-ports", port(dnsProxyPort))
}

// dnsRaw splits UDP DNS into two conntrack zones (proxy <-> upstream
// servers in zone 1, application <-> proxy in zone 2) so the NATed and the
// proxy's own flows with the same 5-tuple do not collide.
func dnsRaw(o Options) *table {
	raw := &table{name: "raw", chains: []string{chainOutputDNS, chainInbound}}
	raw.add("OUTPUT", "-j", chainOutputDNS)
	for _, owner := range owners(o) {
		raw.add(chainOutputDNS, "-p udp --dport 53 -m owner", owner, "-j CT --zone 1")
		raw.add(chainOutputDNS, "-p udp --sport", port(dnsProxyPort), "-m owner", owner, "-j CT --zone 2")
	}
	raw.add("PREROUTING", "-j", chainInbound)
	raw.add(chainOutputDNS, "-p udp --dport 53 -j CT --zone 2")
	raw.add(chainInbound, "-p udp --sport 53 -j CT --zone 1")
	return raw
}

func owners(o Options) []string {
	var out []string
	for _, id := range o.ProxyUIDs {
		out = append(out, "--uid-owner "+id)
	}
	for _, id := range o.ProxyGIDs {
		out = append(out, "--gid-owner "+id)
	}
	return out
}

func port(p uint16) string { return strconv.Itoa(int(p)) }

// union returns a then the ports of b not in a.
func union(a, b []uint16) []uint16 {
	out := append([]uint16(nil), a...)
	for _, p := range b {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}
