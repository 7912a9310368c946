//go:build linux

package capture

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// These tests create network namespaces (ip netns add lateen-cap-<random>),
// apply the rules inside them with the real iptables, and delete them. They
// never touch the host namespace's rules. They skip unless run as root with
// ip and iptables installed.

func requireNetns(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: creating network namespaces needs root (run go test as root)")
	}
	for _, p := range []string{"ip", "iptables"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("skipping: %s not installed (Debian: apt-get install iproute2 iptables)", p)
		}
	}
}

// newNetns creates a network namespace deleted when the test ends and
// returns a Runner that runs programs inside it.
func newNetns(t *testing.T) (string, ExecRunner) {
	t.Helper()
	name := fmt.Sprintf("lateen-cap-%08x", rand.Uint32())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("skipping: ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	return name, ExecRunner{Prefix: []string{"ip", "netns", "exec", name}}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func mustRun(t *testing.T, r Runner, name string, args ...string) string {
	t.Helper()
	out, err := r.Run(ctxFor(t), name, args, "")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ours returns, per table, the own chains and every rule in or jumping to
// them, in iptables-save order: what idempotence and cleanup compare.
func ours(saved string) []string {
	var out []string
	tbl := ""
	for _, line := range strings.Split(saved, "\n") {
		switch f := strings.Fields(line); {
		case strings.HasPrefix(line, "*"):
			tbl = line
		case strings.HasPrefix(line, ":") && ownChains[strings.TrimPrefix(f[0], ":")]:
			out = append(out, tbl+" "+f[0])
		case strings.HasPrefix(line, "-A ") && (ownChains[f[1]] || ownChains[jumpTarget(f)]):
			out = append(out, tbl+" "+line)
		}
	}
	return out
}

// checkApplied compares what iptables-save shows with want, chain by chain:
// the same own chains and, per chain, as many rules as wanted (iptables-save
// spells rules its own way, e.g. "-m tcp" added).
func checkApplied(t *testing.T, saved string, want []*table) {
	t.Helper()
	count := func(lines []string) map[string]int {
		m := map[string]int{}
		for _, l := range lines {
			tbl, rule, _ := strings.Cut(l, " ")
			if f := strings.Fields(rule); f[0] == "-A" {
				m[tbl+" "+f[1]]++
			} else {
				m[tbl+" "+f[0]] = -1
			}
		}
		return m
	}
	var wantLines []string
	for _, tb := range want {
		for _, c := range tb.chains {
			wantLines = append(wantLines, "*"+tb.name+" :"+c)
		}
		for _, r := range tb.rules {
			wantLines = append(wantLines, "*"+tb.name+" -A "+r)
		}
	}
	if diff := cmp.Diff(count(wantLines), count(ours(saved))); diff != "" {
		t.Errorf("applied chains and rule counts differ (-want +got):\n%s\niptables-save:\n%s", diff, saved)
	}
}

func backends(t *testing.T) []string {
	var out []string
	for _, m := range []string{"nft", "legacy"} {
		b := modeBackend(m)
		if _, err := exec.LookPath(b.Restore); err == nil {
			if _, err := exec.LookPath(b.Restore6); err == nil {
				out = append(out, m)
			}
		}
	}
	if len(out) == 0 {
		t.Skip("skipping: neither iptables-nft-restore nor iptables-legacy-restore installed")
	}
	return out
}

func TestNetnsApplyIdempotentCleanup(t *testing.T) {
	requireNetns(t)
	for _, mode := range backends(t) {
		t.Run(mode, func(t *testing.T) {
			_, r := newNetns(t)
			b := modeBackend(mode)
			s := Setup{Runner: r, Backend: b}
			ctx := ctxFor(t)
			ipt := "iptables-" + mode
			// Someone else's rule, which must survive everything.
			mustRun(t, r, ipt, "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "--dport", "9999", "-j", "ACCEPT")
			foreign := "-A OUTPUT -p tcp -m tcp --dport 9999 -j ACCEPT"

			o := Defaults()
			o.IPv6 = true
			o.ExcludeOutboundPorts = PortList{Ports: []uint16{25}}
			o.ExcludeOutboundIPRanges = RangeList{Prefixes: []netip.Prefix{netip.MustParsePrefix("10.96.0.0/12"), netip.MustParsePrefix("fd00::/64")}}
			if err := s.Apply(ctx, o); err != nil {
				t.Fatal(err)
			}
			first4, first6 := mustRun(t, r, b.Save), mustRun(t, r, b.Save6)
			if n := len(ours(first4)); n < 20 {
				t.Fatalf("only %d capture chains and rules after apply:\n%s", n, first4)
			}
			checkApplied(t, first4, build(o, ipv4))
			checkApplied(t, first6, build(o, ipv6))
			for _, want := range []string{"-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001",
				"-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006", foreign} {
				if !strings.Contains(first4, want+"\n") {
					t.Errorf("iptables-save lacks %q:\n%s", want, first4)
				}
			}
			if addrs := mustRun(t, r, "ip", "-6", "addr", "show", "dev", "lo"); !strings.Contains(addrs, "::6/128") {
				t.Errorf("lo lacks ::6/128 after an IPv6 apply:\n%s", addrs)
			}

			// Re-applying, even over a duplicate jump left by an earlier
			// istio-init, gives the same rules.
			mustRun(t, r, ipt, "-t", "nat", "-A", "OUTPUT", "-j", "ISTIO_OUTPUT")
			if err := s.Apply(ctx, o); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(ours(first4), ours(mustRun(t, r, b.Save))); diff != "" {
				t.Errorf("second apply changed the IPv4 rules (-first +second):\n%s", diff)
			}
			if diff := cmp.Diff(ours(first6), ours(mustRun(t, r, b.Save6))); diff != "" {
				t.Errorf("second apply changed the IPv6 rules (-first +second):\n%s", diff)
			}

			// Turning DNS capture on adds the raw table chains; off removes them.
			dns := o
			dns.CaptureDNS = true
			if err := s.Apply(ctx, dns); err != nil {
				t.Fatal(err)
			}
			checkApplied(t, mustRun(t, r, b.Save), build(dns, ipv4))
			checkApplied(t, mustRun(t, r, b.Save6), build(dns, ipv6))
			if err := s.Apply(ctx, o); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(ours(first4), ours(mustRun(t, r, b.Save))); diff != "" {
				t.Errorf("DNS capture off left rules (-want +got):\n%s", diff)
			}

			// Applying without IPv6 removes the IPv6 rules of the earlier run.
			v4only := o
			v4only.IPv6 = false
			if err := s.Apply(ctx, v4only); err != nil {
				t.Fatal(err)
			}
			if left := ours(mustRun(t, r, b.Save6)); len(left) > 0 {
				t.Errorf("IPv4-only apply left IPv6 rules %q", left)
			}
			if diff := cmp.Diff(ours(first4), ours(mustRun(t, r, b.Save))); diff != "" {
				t.Errorf("IPv4-only apply changed the IPv4 rules (-want +got):\n%s", diff)
			}
			if err := s.Apply(ctx, o); err != nil {
				t.Fatal(err)
			}

			for range 2 { // the second cleanup has nothing to do
				if err := s.Cleanup(ctx); err != nil {
					t.Fatal(err)
				}
				after4, after6 := mustRun(t, r, b.Save), mustRun(t, r, b.Save6)
				if left := slices.Concat(ours(after4), ours(after6)); len(left) > 0 {
					t.Errorf("cleanup left %q", left)
				}
				if !strings.Contains(after4, foreign+"\n") {
					t.Errorf("cleanup removed someone else's rule:\n%s", after4)
				}
			}
		})
	}
}

func TestNetnsDetectBackend(t *testing.T) {
	requireNetns(t)
	_, r := newNetns(t)
	b, err := DetectBackend(ctxFor(t), r, "")
	if err != nil {
		t.Fatal(err)
	}
	version := mustRun(t, r, "iptables", "--version")
	want := map[bool]string{true: "nft", false: "legacy"}[strings.Contains(version, "nf_tables")]
	if b.Name != want {
		t.Errorf("detected %q in a fresh namespace, want %q (iptables --version: %s)", b.Name, want, version)
	}
}

// TestNetnsWithoutPrivileges runs iptables as nobody, inside a scratch
// namespace so that nothing can reach the host's rules even if dropping
// privileges failed.
func TestNetnsWithoutPrivileges(t *testing.T) {
	requireNetns(t)
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("skipping: setpriv (util-linux) not installed")
	}
	name, _ := newNetns(t)
	r := ExecRunner{Prefix: []string{"ip", "netns", "exec", name,
		"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"}}
	b, err := DetectBackend(ctxFor(t), r, "")
	if err != nil {
		t.Fatal(err)
	}
	err = Setup{Runner: r, Backend: b}.Apply(ctxFor(t), Defaults())
	if err == nil || !strings.Contains(err.Error(), "needs NET_ADMIN: run as root or in a pod with the NET_ADMIN capability") {
		t.Fatalf("apply as nobody: error %v, want the NET_ADMIN message", err)
	}
}
