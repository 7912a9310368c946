package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/lateenmesh/lateen/internal/proxy/capture"
)

// Network is the demo's private network under capture=iptables, as a
// Kubernetes node's pod network: a Linux bridge in the host namespace on a
// /24 of 198.18.0.0/15 (reserved for benchmarking, never routed) that no
// route or address of the host uses, holding pilot's and the gateways'
// addresses; and a network namespace per sidecar workload, joined to the
// bridge by a veth pair, with the workload's address on eth0, no default
// route (only the services' VIP range, so that connections to services
// reach the capture rules), its /etc/hosts and Istio's iptables capture.
// Nothing routes or NATs it to the outside.
type Network struct {
	PID        int      `json:"pid"` // the demo's
	ID         string   `json:"id"`
	Subnet     string   `json:"subnet"`
	Bridge     string   `json:"bridge"`
	Namespaces []string `json:"namespaces"`
}

// Network constants: the VIP range the demo gives its services (Istio's
// DNS auto-allocation range), where `ip netns exec` finds a namespace's
// hosts and resolv.conf, and the file recording the network in the state
// directory before anything is created (for `lateen demo --cleanup`).
const (
	VIPRange    = "240.240.0.0/16"
	EtcNetns    = "/etc/netns"
	RunDir      = "/run/lateen"
	NetworkFile = "network.json"
	// ProxyUID runs the sidecars, whose own traffic capture lets through.
	ProxyUID = "1337"
)

// subnetPool is where the demo picks its /24.
var subnetPool = netip.MustParsePrefix("198.18.0.0/15")

// newNetwork picks an unused /24 and a random id for the names.
func newNetwork(used []netip.Prefix, rnd *rand.Rand) (*Network, error) {
	subnet, err := pickSubnet(used, rnd)
	if err != nil {
		return nil, err
	}
	id := fmt.Sprintf("%06x", rnd.Uint32()&0xffffff)
	return &Network{ID: id, Subnet: subnet.String(), Bridge: "lt" + id + "br"}, nil
}

// pickSubnet returns a random /24 of the pool that overlaps no prefix in
// used (the host's addresses and routes; default routes aside).
func pickSubnet(used []netip.Prefix, rnd *rand.Rand) (netip.Prefix, error) {
	base := subnetPool.Addr().As4()
	n := 1 << (24 - subnetPool.Bits())
	for range 4 * n {
		i := rnd.IntN(n)
		a := base
		a[1] += byte(i >> 8)
		a[2] = byte(i)
		cand := netip.PrefixFrom(netip.AddrFrom4(a), 24)
		if !slices.ContainsFunc(used, func(p netip.Prefix) bool { return p.Bits() > 0 && p.Overlaps(cand) }) {
			return cand, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("no unused /24 left in %s for the demo's network", subnetPool)
}

// usedPrefixes lists the host's IPv4 addresses and routes (all tables).
func usedPrefixes(ctx context.Context, r capture.Runner) ([]netip.Prefix, error) {
	addrs, err := r.Run(ctx, "ip", []string{"-4", "-o", "addr", "show"}, "")
	if err != nil {
		return nil, err
	}
	routes, err := r.Run(ctx, "ip", []string{"-4", "route", "show", "table", "all"}, "")
	if err != nil {
		return nil, err
	}
	return append(addrPrefixes(addrs), routePrefixes(routes)...), nil
}

// addrPrefixes reads `ip -o addr` lines: "2: eth0 inet 10.0.0.5/24 ...".
func addrPrefixes(text string) []netip.Prefix {
	var out []netip.Prefix
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if i := slices.Index(f, "inet"); i >= 0 && i+1 < len(f) {
			out = appendPrefix(out, f[i+1])
		}
	}
	return out
}

// routePrefixes reads `ip route` lines: "[type] 10.0.0.0/24 dev ..."
// (default routes say nothing about which addresses are used).
func routePrefixes(text string) []netip.Prefix {
	var out []netip.Prefix
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && routeTypes[f[0]] {
			f = f[1:]
		}
		if len(f) > 0 && f[0] != "default" {
			out = appendPrefix(out, f[0])
		}
	}
	return out
}

func appendPrefix(out []netip.Prefix, tok string) []netip.Prefix {
	if p, err := netip.ParsePrefix(tok); err == nil {
		return append(out, p.Masked())
	}
	if a, err := netip.ParseAddr(tok); err == nil {
		return append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out
}

var routeTypes = map[string]bool{"local": true, "broadcast": true, "unicast": true, "multicast": true,
	"blackhole": true, "unreachable": true, "prohibit": true, "throw": true, "nat": true, "anycast": true}

// Addr returns the subnet's i-th address (1: the bridge, pilot's).
func (n *Network) Addr(i int) netip.Addr {
	a := netip.MustParsePrefix(n.Subnet).Addr().As4()
	a[3] = byte(i)
	return netip.AddrFrom4(a)
}

// proxyDir holds what the sidecars read as ProxyUID.
func (n *Network) proxyDir() string { return filepath.Join(RunDir, n.ID) }

// namespaceName is the network namespace of a workload.
func (n *Network) namespaceName(w *Workload) string { return "lateen-" + n.ID + "-" + w.Name }

func (n *Network) vethName(i int) string { return "lt" + n.ID + strconv.Itoa(i) }

// create sets the network up: the bridge with the host addresses, then a
// namespace per workload with a Netns. hostsFor gives a namespace's
// /etc/hosts. On error the caller removes what was created.
func (n *Network) create(ctx context.Context, r capture.Runner, hostAddrs []string, ws []*Workload,
	hostsFor func(*Workload) string, log *slog.Logger) error {
	if err := ipAll(ctx, r, [][]string{{"link", "add", n.Bridge, "type", "bridge"}, {"link", "set", n.Bridge, "up"}}); err != nil {
		return err
	}
	for _, a := range hostAddrs {
		if err := ip(ctx, r, "addr", "add", a+"/24", "dev", n.Bridge); err != nil {
			return err
		}
	}
	backend, err := capture.DetectBackend(ctx, capture.ExecRunner{}, "")
	if err != nil {
		return err
	}
	for i, w := range ws {
		if w.Netns == "" {
			continue
		}
		if err := n.addNamespace(ctx, r, w, n.vethName(i), hostsFor(w)); err != nil {
			return fmt.Errorf("network namespace of %s: %w", w.Name, err)
		}
		setup := capture.Setup{Runner: capture.ExecRunner{Prefix: []string{"ip", "netns", "exec", w.Netns}},
			Backend: backend, Logger: log}
		o := capture.Defaults()
		o.IPv6 = false
		if err := setup.Apply(ctx, o); err != nil {
			return fmt.Errorf("traffic capture of %s: %w", w.Name, err)
		}
	}
	return nil
}

// addNamespace creates a workload's namespace, its veth pair on the
// bridge, its address and VIP route, and its /etc/hosts.
func (n *Network) addNamespace(ctx context.Context, r capture.Runner, w *Workload, veth, hosts string) error {
	if err := ip(ctx, r, "netns", "add", w.Netns); err != nil {
		return err
	}
	if err := writeNetnsEtc(w.Netns, hosts); err != nil {
		return err
	}
	in := func(args ...string) []string { return append([]string{"-n", w.Netns}, args...) }
	return ipAll(ctx, r, [][]string{
		{"link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", w.Netns},
		{"link", "set", veth, "master", n.Bridge, "up"},
		in("link", "set", "lo", "up"),
		in("addr", "add", w.Address+"/24", "dev", "eth0"),
		in("link", "set", "eth0", "up"),
		in("route", "add", VIPRange, "dev", "eth0"),
	})
}

// writeNetnsEtc writes the files `ip netns exec` mounts over /etc in the
// namespace: hosts (the mesh's names) and a resolv.conf that keeps the
// host's resolvers, unreachable from the namespace, out.
func writeNetnsEtc(ns, hosts string) error {
	dir := filepath.Join(EtcNetns, ns)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "hosts"), []byte(hosts), 0o644); err != nil {
		return err
	}
	resolv := "# lateen demo: names resolve from this namespace's /etc/hosts\nnameserver 127.0.0.1\n"
	return os.WriteFile(filepath.Join(dir, "resolv.conf"), []byte(resolv), 0o644)
}

// remove deletes the namespaces (killing what still runs in them), their
// /etc/netns files and the bridge. It is safe on a partly created network
// and on one already removed.
func (n *Network) remove(ctx context.Context, r capture.Runner) error {
	var errs []error
	// A veth goes with its namespace, but only once the kernel frees it:
	// deleting the host side first leaves nothing behind at once.
	links, _ := r.Run(ctx, "ip", []string{"-o", "link", "show"}, "")
	for _, l := range linkNames(links) {
		if strings.HasPrefix(l, "lt"+n.ID) && l != n.Bridge {
			if err := ip(ctx, r, "link", "del", l); err != nil {
				errs = append(errs, err)
			}
		}
	}
	existing, _ := r.Run(ctx, "ip", []string{"netns", "list"}, "")
	for _, ns := range n.Namespaces {
		if slices.Contains(namespaceList(existing), ns) {
			killNamespace(ctx, r, ns)
			if err := ip(ctx, r, "netns", "del", ns); err != nil {
				errs = append(errs, err)
			}
		}
		if err := os.RemoveAll(filepath.Join(EtcNetns, ns)); err != nil {
			errs = append(errs, err)
		}
	}
	_ = os.Remove(EtcNetns) // only when empty: no other namespace uses it
	if err := os.RemoveAll(n.proxyDir()); err != nil {
		errs = append(errs, err)
	}
	_ = os.Remove(RunDir)
	if _, err := r.Run(ctx, "ip", []string{"link", "show", n.Bridge}, ""); err == nil {
		if err := ip(ctx, r, "link", "del", n.Bridge); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// linkNames reads `ip -o link` ("3: name@peer: <...> ..." lines).
func linkNames(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if f := strings.Fields(line); len(f) > 1 {
			name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
			out = append(out, name)
		}
	}
	return out
}

// namespaceList reads `ip netns list` ("name (id: 3)" lines).
func namespaceList(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			out = append(out, f[0])
		}
	}
	return out
}

// killNamespace kills every process left in a namespace.
func killNamespace(ctx context.Context, r capture.Runner, ns string) {
	text, err := r.Run(ctx, "ip", []string{"netns", "pids", ns}, "")
	if err != nil {
		return
	}
	for _, f := range strings.Fields(text) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 1 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func ip(ctx context.Context, r capture.Runner, args ...string) error {
	_, err := r.Run(ctx, "ip", args, "")
	return err
}

func ipAll(ctx context.Context, r capture.Runner, cmds [][]string) error {
	for _, args := range cmds {
		if err := ip(ctx, r, args...); err != nil {
			return err
		}
	}
	return nil
}
