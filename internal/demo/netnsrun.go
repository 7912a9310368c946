package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/capture"
)

// networkTimeout bounds setting the network up or removing it.
const networkTimeout = 2 * time.Minute

// pickNetwork chooses the private network of capture=iptables; its first
// address (the bridge's) is pilot's, the next ones the gateways' and the
// samples', as Workloads lays them out.
func (d *demo) pickNetwork(ctx context.Context) (netip.Addr, error) {
	used, err := usedPrefixes(ctx, capture.ExecRunner{})
	if err != nil {
		return netip.Addr{}, fmt.Errorf("reading the host's addresses and routes: %w", err)
	}
	seed := uint64(time.Now().UnixNano())
	n, err := newNetwork(used, rand.New(rand.NewPCG(seed, uint64(os.Getpid()))))
	if err != nil {
		return netip.Addr{}, err
	}
	d.net = n
	return n.Addr(1), nil
}

// recordNetwork writes the network into the state directory before any of
// it exists, so that `lateen demo --cleanup` finds it after a crash.
func (d *demo) recordNetwork() error {
	path := filepath.Join(d.opts.StateDir, NetworkFile)
	d.net.PID = os.Getpid()
	if err := writeJSON(path, d.net); err != nil {
		return err
	}
	d.written = append(d.written, path)
	return nil
}

// setupNetwork creates the bridge with the host's addresses (pilot's and
// the gateways') and each workload's namespace with its capture rules.
func (d *demo) setupNetwork(ctx context.Context) error {
	if d.net == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, networkTimeout)
	defer cancel()
	if bridgeTrafficDropped(ctx, capture.ExecRunner{}) {
		fmt.Fprintln(d.opts.Stdout, "lateen demo: warning: bridged traffic goes through this host's iptables (br_netfilter) "+
			"and its FORWARD policy is DROP: the workloads may not reach each other")
	}
	hostAddrs := []string{d.base.String()}
	for _, w := range d.workloads {
		if w.Netns == "" {
			hostAddrs = append(hostAddrs, w.Address)
		}
	}
	err := d.net.create(ctx, capture.ExecRunner{}, hostAddrs, d.workloads,
		func(w *Workload) string { return hostsFile(d.workloads, w) }, d.opts.Logger.With("component", "demo"))
	if err != nil {
		return fmt.Errorf("capture=iptables network: %w", err)
	}
	fmt.Fprintf(d.opts.Stdout, "lateen demo: network %s on bridge %s, %d network namespaces lateen-%s-*\n",
		d.net.Subnet, d.net.Bridge, len(d.net.Namespaces), d.net.ID)
	return nil
}

// removeStaleNetwork removes the network a demo with the same state
// directory left when it did not exit cleanly (what --cleanup would do).
func (d *demo) removeStaleNetwork(ctx context.Context) error {
	n, err := readNetwork(d.opts.StateDir)
	if err != nil || n == nil || processAlive(n.PID) {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, networkTimeout)
	defer cancel()
	fmt.Fprintf(d.opts.Stdout, "lateen demo: removing network %s, left by a demo that did not exit cleanly\n", n.Subnet)
	if err := n.remove(ctx, capture.ExecRunner{}); err != nil {
		return fmt.Errorf("removing the network of an earlier demo (or run lateen demo --cleanup): %w", err)
	}
	return os.Remove(filepath.Join(d.opts.StateDir, NetworkFile))
}

func (d *demo) removeNetwork() error {
	ctx, cancel := context.WithTimeout(context.Background(), networkTimeout)
	defer cancel()
	if err := d.net.remove(ctx, capture.ExecRunner{}); err != nil {
		return fmt.Errorf("removing the capture=iptables network: %w", err)
	}
	return nil
}

// NetnsExec is the command prefix that runs a program as a workload:
// `ip netns exec <netns>` (its network, /etc/hosts and resolv.conf), or
// nothing when the workload shares the host's network.
func NetnsExec(w *Workload) []string {
	if w.Netns == "" {
		return nil
	}
	return []string{"ip", "netns", "exec", w.Netns}
}

// proxyWrap runs a sidecar in its workload's namespace as ProxyUID, whose
// traffic the capture rules let through; it dies with the demo.
func proxyWrap(w *Workload) []string {
	if w.Netns == "" {
		return nil
	}
	return append(NetnsExec(w), "setpriv", "--reuid="+ProxyUID, "--regid="+ProxyUID, "--clear-groups",
		"--pdeathsig=SIGKILL", "--")
}

// proxyRootCert is the root certificate the proxies verify pilot with: a
// copy the sidecars' user may read under capture=iptables.
func (d *demo) proxyRootCert() string {
	if d.net != nil {
		return filepath.Join(d.net.proxyDir(), "root-cert.pem")
	}
	return d.rootCert()
}

// makeProxyDir creates the directory of the files the sidecars read as
// ProxyUID (capture=iptables): /run/lateen/<network id>, which anyone may
// traverse, as the state directory may not be.
func (d *demo) makeProxyDir() error {
	if d.net == nil {
		return nil
	}
	if err := os.MkdirAll(d.net.proxyDir(), 0o711); err != nil {
		return err
	}
	return os.Chmod(d.net.proxyDir(), 0o711)
}

// shareIdentity gives the sidecars' tokens to ProxyUID and copies the
// root certificate next to them (capture=iptables).
func (d *demo) shareIdentity() error {
	if d.net == nil {
		return nil
	}
	uid, _ := strconv.Atoi(ProxyUID)
	for _, w := range d.workloads {
		if w.Netns != "" {
			if err := os.Chown(d.tokenFile(w), uid, uid); err != nil {
				return err
			}
		}
	}
	root, err := os.ReadFile(d.rootCert())
	if err != nil {
		return err
	}
	path := d.proxyRootCert()
	if err := os.WriteFile(path, root, 0o644); err != nil {
		return err
	}
	d.written = append(d.written, path)
	return nil
}

// bridgeTrafficDropped reports whether traffic between the workloads, which
// crosses the bridge, goes through the host's iptables FORWARD chain
// (br_netfilter's bridge-nf-call-iptables) with a DROP policy, as on
// hosts running Docker. It only reads.
func bridgeTrafficDropped(ctx context.Context, r capture.Runner) bool {
	v, err := os.ReadFile("/proc/sys/net/bridge/bridge-nf-call-iptables")
	if err != nil || strings.TrimSpace(string(v)) != "1" {
		return false
	}
	out, err := r.Run(ctx, "iptables", []string{"-S", "FORWARD"}, "")
	return err == nil && strings.Contains(out, "-P FORWARD DROP")
}
