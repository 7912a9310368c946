package demo

import (
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPickSubnetAvoidsUsedPrefixes(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	// Everything in the pool is used but 198.19.200.0/24; a default route
	// and routes elsewhere do not count.
	used := []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("198.18.0.0/16"), netip.MustParsePrefix("198.19.0.0/17"),
		netip.MustParsePrefix("198.19.128.0/18"), netip.MustParsePrefix("198.19.192.0/21"),
		netip.MustParsePrefix("198.19.201.0/24"), netip.MustParsePrefix("198.19.202.0/23"),
		netip.MustParsePrefix("198.19.204.0/22"), netip.MustParsePrefix("198.19.208.0/20"),
		netip.MustParsePrefix("198.19.224.0/19")}
	got, err := pickSubnet(used, rnd)
	if err != nil || got != netip.MustParsePrefix("198.19.200.0/24") {
		t.Fatalf("pickSubnet = %v, %v; want the only free /24, 198.19.200.0/24", got, err)
	}
	if _, err := pickSubnet(append(used, netip.MustParsePrefix("198.19.200.7/32")), rnd); err == nil {
		t.Error("a full pool gave a subnet")
	}
}

func TestHostPrefixesParseIPOutput(t *testing.T) {
	addrs := "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n" +
		"2: eth0    inet 10.0.5.7/24 brd 10.0.5.255 scope global eth0\\       valid_lft forever\n"
	routes := "default via 10.0.5.1 dev eth0\n10.0.5.0/24 dev eth0 proto kernel scope link src 10.0.5.7\n" +
		"local 10.0.5.7 dev eth0 table local proto kernel scope host src 10.0.5.7\n" +
		"broadcast 10.0.5.255 dev eth0 table local proto kernel scope link src 10.0.5.7\n" +
		"blackhole 198.18.3.0/24\n"
	got := append(addrPrefixes(addrs), routePrefixes(routes)...)
	want := []string{"127.0.0.0/8", "10.0.5.0/24", "10.0.5.0/24", "10.0.5.7/32", "10.0.5.255/32", "198.18.3.0/24"}
	var gotS []string
	for _, p := range got {
		gotS = append(gotS, p.String())
	}
	if d := cmp.Diff(want, gotS); d != "" {
		t.Errorf("prefixes (-want +got):\n%s", d)
	}
}

func netnsWorkloads(t *testing.T) ([]*Workload, *Network) {
	t.Helper()
	n := &Network{ID: "abc123", Subnet: "198.18.7.0/24", Bridge: "ltabc123br"}
	ws := Workloads(n.Addr(1))
	layoutNetns(ws, n)
	return ws, n
}

func TestLayoutNetnsGivesPodsAndVIPs(t *testing.T) {
	ws, n := netnsWorkloads(t)
	pp, _ := FindWorkload(ws, "productpage-v1")
	if pp.Netns != "lateen-abc123-productpage-v1" || pp.VIP != "240.240.0.1" || pp.Ports[0].AppPort != 9080 ||
		pp.Sample[len(pp.Sample)-1] != "--addr=0.0.0.0:9080" || appMetricsURL(pp) != "http://127.0.0.1:9080/metrics" {
		t.Errorf("productpage under capture=iptables: %+v (metrics %s)", pp, appMetricsURL(pp))
	}
	r1, _ := FindWorkload(ws, "reviews-v1")
	r3, _ := FindWorkload(ws, "reviews-v3")
	if r1.VIP != r3.VIP || r1.Address == r3.Address {
		t.Errorf("reviews v1 and v3: VIPs %s %s (want one), addresses %s %s (want two)", r1.VIP, r3.VIP, r1.Address, r3.Address)
	}
	gw, _ := FindWorkload(ws, "istio-ingressgateway")
	if gw.Netns != "" || gw.Address != "198.18.7.2" {
		t.Errorf("ingress gateway: netns %q address %s, want the host's namespace on 198.18.7.2", gw.Netns, gw.Address)
	}
	if len(n.Namespaces) != 11 || !slices.Contains(n.Namespaces, "lateen-abc123-sleep") {
		t.Errorf("namespaces %v, want one per sample", n.Namespaces)
	}
	if env := strings.Join(WorkloadEnv(pp), " "); strings.Contains(env, "HTTP_PROXY") {
		t.Errorf("capture=iptables workload environment %q sets an HTTP proxy", env)
	}
	if got := NetnsExec(pp); !slices.Equal(got, []string{"ip", "netns", "exec", pp.Netns}) {
		t.Errorf("NetnsExec = %v", got)
	}
	if got := strings.Join(proxyWrap(pp), " "); !strings.Contains(got, "setpriv --reuid=1337 --regid=1337") {
		t.Errorf("sidecar runs as %q, want UID 1337", got)
	}
}

func TestManifestsUnderCapture(t *testing.T) {
	ws, _ := netnsWorkloads(t)
	var names []string
	var registry string
	for _, f := range Manifests(ws, 8080) {
		names = append(names, f.Name)
		if f.Name == "registry.yaml" {
			registry = string(f.Content)
		}
	}
	if slices.Contains(names, "sidecars.yaml") {
		t.Errorf("files %v: no Sidecar is needed under capture", names)
	}
	if !strings.Contains(registry, "addresses:\n  - 240.240.0.1\n") {
		t.Errorf("productpage's ServiceEntry has no VIP:\n%s", registry)
	}
}

func TestHostsFileNamesServices(t *testing.T) {
	ws, _ := netnsWorkloads(t)
	sleep, _ := FindWorkload(ws, "sleep")
	hosts := hostsFile(ws, sleep)
	for _, line := range []string{
		"240.240.0.3\treviews.default.svc.cluster.local reviews reviews.default.svc reviews.default\n",
		sleep.Address + "\tsleep\n",
		"127.0.0.1\tlocalhost\n",
	} {
		if !strings.Contains(hosts, line) {
			t.Errorf("hosts file lacks %q:\n%s", line, hosts)
		}
	}
}

func TestResolveCapture(t *testing.T) {
	all := func(string) error { return nil }
	noSetpriv := func(p string) error {
		if p == "setpriv" {
			return errNotFound
		}
		return nil
	}
	tests := []struct {
		mode       string
		host       Host
		want, why  string
		wantsError bool
	}{
		{"auto", Host{Root: true, LookPath: all}, CaptureIptables, "running as root with ip, iptables and setpriv", false},
		{"", Host{Root: false, LookPath: all}, CaptureNone, "not running as root", false},
		{"auto", Host{Root: true, LookPath: noSetpriv}, CaptureNone, "setpriv not found", false},
		{"none", Host{Root: true, LookPath: all}, CaptureNone, "as asked", false},
		{"iptables", Host{Root: false, LookPath: all}, "", "", true},
		{"iptables", Host{Root: true, LookPath: noSetpriv}, "", "", true},
		{"tproxy", Host{Root: true, LookPath: all}, "", "", true},
	}
	for _, tc := range tests {
		got, why, err := ResolveCapture(tc.mode, tc.host)
		if (err != nil) != tc.wantsError || got != tc.want || why != tc.why {
			t.Errorf("ResolveCapture(%q, root=%v) = %q, %q, %v; want %q, %q (error: %v)", tc.mode, tc.host.Root,
				got, why, err, tc.want, tc.why, tc.wantsError)
		}
	}
}

type notFound struct{}

func (notFound) Error() string { return "not found" }

var errNotFound = notFound{}

func TestCleanupRefusesARunningDemoAndNothingToDo(t *testing.T) {
	dir := t.TempDir()
	var out strings.Builder
	if err := Cleanup(t.Context(), dir, &out); err != nil || !strings.Contains(out.String(), "nothing to clean up") {
		t.Errorf("empty state directory: %v %q", err, out.String())
	}
	running := &Network{PID: os.Getppid(), ID: "abc123", Subnet: "198.18.7.0/24", Bridge: "ltabc123br"}
	if err := writeJSON(filepath.Join(dir, NetworkFile), running); err != nil {
		t.Fatal(err)
	}
	if err := Cleanup(t.Context(), dir, &out); err == nil || !strings.Contains(err.Error(), "is running") {
		t.Errorf("network of a running demo: %v, want a refusal", err)
	}
	if _, err := os.Stat(filepath.Join(dir, NetworkFile)); err != nil {
		t.Errorf("the running demo's network record was touched: %v", err)
	}
}
