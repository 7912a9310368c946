//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/lateenmesh/lateen/internal/demo"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// Foundation 2: `lateen exec sleep -- curl` reaches httpbin through the
// sleep sidecar, which adds a generated X-Request-Id.
func TestExecCurlThroughSidecar(t *testing.T) {
	d := sharedDemo(t)
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is required on PATH (.ci/run installs it)")
	}
	sleep := d.workload(t, "sleep")
	const upstream = "cluster.outbound|8000||httpbin.default.svc.cluster.local.upstream_rq_total"
	before := d.stat(t, sleep, upstream)

	out, err := d.exec("sleep", "curl", "-s", "--max-time", "10", "http://httpbin:8000/headers")
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		Headers map[string]string `json:"headers"`
	}
	if err := json.Unmarshal([]byte(out), &resp); err != nil {
		t.Fatalf("httpbin /headers: %v in %q", err, out)
	}
	h := resp.Headers
	if !uuidRE.MatchString(h["X-Request-Id"]) {
		t.Errorf("X-Request-Id = %q, want a generated UUID (headers %v)", h["X-Request-Id"], h)
	}
	if h["Host"] != "httpbin:8000" || !strings.HasPrefix(h["User-Agent"], "curl/") {
		t.Errorf("headers %v: want Host httpbin:8000 and curl's User-Agent", h)
	}
	if after := d.stat(t, sleep, upstream); after <= before {
		t.Errorf("%s of the sleep sidecar: %d before, %d after; the request did not go through it", upstream, before, after)
	}
}

// Foundation 4: pilot lists every proxy (13 workloads with the two
// gateways) with CDS, EDS, LDS and RDS acknowledged, and the productpage
// proxy holds the reviews v1 subset cluster.
func TestEveryProxySynced(t *testing.T) {
	d := sharedDemo(t)
	if len(d.Workloads) != 13 {
		t.Fatalf("demo runs %d workloads, want 13", len(d.Workloads))
	}
	eventually(t, propagation, "every proxy to acknowledge CDS, EDS, LDS and RDS", d.checkSyncz)

	dump, err := d.adminGet(d.workload(t, "productpage-v1"), "/config_dump")
	if err != nil {
		t.Fatal(err)
	}
	const want = "outbound|9080|v1|reviews.default.svc.cluster.local"
	clusters, err := dumpedClusters(dump)
	if err != nil {
		t.Fatal(err)
	}
	if !clusters[want] {
		t.Errorf("productpage-v1 /config_dump: no cluster %s among %d", want, len(clusters))
	}
}

func (d *Demo) checkSyncz() error {
	sz, err := d.syncz()
	if err != nil {
		return err
	}
	if len(sz.Proxies) != len(d.Workloads) {
		return fmt.Errorf("syncz lists %d proxies, want %d", len(sz.Proxies), len(d.Workloads))
	}
	byWorkload := map[string]synczProxy{}
	for _, p := range sz.Proxies {
		byWorkload[p.Workload] = p
	}
	for _, w := range d.Workloads {
		p, ok := byWorkload[w.Name]
		if !ok {
			return fmt.Errorf("no proxy of %s in syncz", w.Name)
		}
		types := []string{typeCDS, typeEDS, typeLDS, typeRDS}
		if !servesHTTP(w) {
			types = types[:3]
		}
		for _, typ := range types {
			if _, err := p.acked(typ); err != nil {
				return err
			}
		}
	}
	return nil
}

// servesHTTP tells whether a workload's proxy has HTTP listeners and so
// asks for routes: every sidecar (the outbound HTTP proxy) and the ingress
// gateway, which the Bookinfo Gateway selects. No Gateway selects the
// egress gateway, so it has no listener and, as in Istio, no RDS.
func servesHTTP(w *demo.Workload) bool {
	return !w.Gateway || w.Labels["istio"] == "ingressgateway"
}

// dumpedClusters returns the names of the dynamic clusters in a proxy's
// /config_dump.
func dumpedClusters(dump string) (map[string]bool, error) {
	var doc struct {
		Configs []struct {
			Type     string `json:"@type"`
			Clusters []struct {
				Cluster struct {
					Name string `json:"name"`
				} `json:"cluster"`
			} `json:"dynamicActiveClusters"`
		} `json:"configs"`
	}
	if err := json.Unmarshal([]byte(dump), &doc); err != nil {
		return nil, fmt.Errorf("config_dump: %w", err)
	}
	out := map[string]bool{}
	for _, c := range doc.Configs {
		for _, cl := range c.Clusters {
			out[cl.Cluster.Name] = true
		}
	}
	return out, nil
}

// stat returns one counter or gauge of a proxy's /stats ("name: value"
// lines), 0 when the proxy has not created it yet.
func (d *Demo) stat(t *testing.T, w *demo.Workload, name string) int64 {
	t.Helper()
	text, err := d.adminGet(w, "/stats")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, name+": "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				t.Fatalf("%s /stats: %q: %v", w.Name, line, err)
			}
			return n
		}
	}
	return 0
}
