//go:build linux

package demo

import (
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/capture"
)

// TestNetworkCreateAndRemove sets a two-workload network up for real
// (root only): namespaces on a bridge, their hosts files, the capture
// rules; then removes it, twice, leaving nothing behind.
func TestNetworkCreateAndRemove(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root to create network namespaces")
	}
	for _, p := range captureTools {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("skipping: %s not installed", p)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := capture.ExecRunner{}
	used, err := usedPrefixes(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	n, err := newNetwork(used, rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7)))
	if err != nil {
		t.Fatal(err)
	}
	ws := []*Workload{
		{Name: "a", Namespace: "default", Address: n.Addr(4).String(), Service: "a", Sample: []string{"x", "--addr"}, Ports: []Port{{Number: 80}}},
		{Name: "b", Namespace: "default", Address: n.Addr(5).String(), Service: "b", Sample: []string{"x", "--addr"}, Ports: []Port{{Number: 80}}},
	}
	layoutNetns(ws, n)
	t.Cleanup(func() { _ = n.remove(context.Background(), r) })
	if err := n.create(ctx, r, []string{n.Addr(1).String()}, ws, func(w *Workload) string { return hostsFile(ws, w) }, nil); err != nil {
		t.Fatal(err)
	}
	list, _ := r.Run(ctx, "ip", []string{"netns", "list"}, "")
	for _, w := range ws {
		if !slices.Contains(namespaceList(list), w.Netns) {
			t.Errorf("namespace %s missing from %q", w.Netns, list)
		}
		hosts, err := os.ReadFile(filepath.Join(EtcNetns, w.Netns, "hosts"))
		if err != nil || !strings.Contains(string(hosts), "240.240.0.2\tb.default.svc.cluster.local b ") {
			t.Errorf("hosts of %s: %v\n%s", w.Netns, err, hosts)
		}
		rules, err := r.Run(ctx, "ip", []string{"netns", "exec", w.Netns, "iptables-save", "-t", "nat"}, "")
		if err != nil || !strings.Contains(rules, "-j ISTIO_REDIRECT") {
			t.Errorf("capture rules of %s: %v\n%s", w.Netns, err, rules)
		}
		routes, _ := r.Run(ctx, "ip", []string{"-n", w.Netns, "route"}, "")
		if !strings.Contains(routes, VIPRange) || strings.Contains(routes, "default") {
			t.Errorf("routes of %s: %q, want the VIP range and no default route", w.Netns, routes)
		}
	}
	for range 2 {
		if err := n.remove(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	list, _ = r.Run(ctx, "ip", []string{"netns", "list"}, "")
	links, _ := r.Run(ctx, "ip", []string{"-o", "link"}, "")
	files, _ := filepath.Glob(filepath.Join(EtcNetns, "lateen-"+n.ID+"-*"))
	var left []string
	for _, l := range append(namespaceList(list), linkNames(links)...) {
		if strings.Contains(l, n.ID) {
			left = append(left, l)
		}
	}
	if len(left) > 0 || len(files) > 0 {
		t.Errorf("left after remove: %v %v", left, files)
	}
}
