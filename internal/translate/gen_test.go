package translate

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/lateenmesh/lateen/internal/config"
	"github.com/lateenmesh/lateen/internal/config/validate"
	"github.com/lateenmesh/lateen/internal/mesh"
)

// meshGen writes random but valid meshes that exercise what pieces and
// class parts may read of a proxy: locality load balancing (distribute,
// failover, failoverPriority on topology and plain labels), DestinationRules
// selecting workloads, source label and namespace matches, subsets,
// consistent hashing, TLS settings, Sidecar scopes, PeerAuthentication.
type meshGen struct {
	rng  *rand.Rand
	docs []string
	eps  int
}

var (
	genNamespaces = []string{"ns-a", "ns-b"}
	genLocalities = []string{"r1/z1/s1", "r1/z1/s2", "r1/z2", "r2/z1", ""}
	genApps       = []string{"client", "other"}
)

func (g *meshGen) pick(list []string) string { return list[g.rng.IntN(len(list))] }

func (g *meshGen) chance(p float64) bool { return g.rng.Float64() < p }

func (g *meshGen) add(format string, args ...any) {
	g.docs = append(g.docs, fmt.Sprintf(format, args...))
}

func (g *meshGen) service(i int) {
	ns := g.pick(genNamespaces)
	name := fmt.Sprintf("svc%d", i)
	ports := "  - {name: http, number: 80, protocol: HTTP}"
	if g.chance(0.4) {
		ports += "\n  - {name: grpc, number: 9000, protocol: GRPC}"
	}
	if g.chance(0.2) {
		ports += "\n  - {name: tcp, number: 7000, protocol: TCP}"
	}
	g.add("apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: %s, namespace: %s}\nspec:\n  hosts: [%s.%s.svc.cluster.local]\n  location: MESH_INTERNAL\n  resolution: STATIC\n  ports:\n%s\n  workloadSelector: {labels: {app: %s}}",
		name, ns, name, ns, ports, name)
	for range 1 + g.rng.IntN(3) {
		g.eps++
		labels := fmt.Sprintf("app: %s, version: %s", name, g.pick([]string{"v1", "v2"}))
		if g.chance(0.5) {
			labels += ", security.istio.io/tlsMode: istio"
		}
		loc := ""
		if l := g.pick(genLocalities); l != "" {
			loc = ", locality: " + l
		}
		g.add("apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: %s-%d, namespace: %s}\nspec: {address: 127.60.%d.%d, labels: {%s}%s, serviceAccount: sa%d}",
			name, g.eps, ns, g.eps/250, g.eps%250+1, labels, loc, g.rng.IntN(2))
	}
	if g.chance(0.7) {
		g.destinationRule(name, ns)
	}
	if g.chance(0.5) {
		g.virtualService(name, ns)
	}
}

func (g *meshGen) destinationRule(name, svcNS string) {
	ns := svcNS
	var tp []string
	switch g.rng.IntN(6) {
	case 0:
		tp = append(tp, "    loadBalancer:\n      localityLbSetting:\n        enabled: true\n        failoverPriority: [topology.istio.io/cluster, topology.kubernetes.io/region, app]")
	case 1:
		tp = append(tp, "    loadBalancer:\n      localityLbSetting:\n        enabled: true\n        distribute:\n        - {from: \"r1/*\", to: {\"r1/z1/*\": 70, \"r2/*\": 30}}")
	case 2:
		tp = append(tp, "    loadBalancer:\n      localityLbSetting:\n        enabled: true\n        failover:\n        - {from: r1, to: r2}")
	case 3:
		tp = append(tp, "    loadBalancer:\n      consistentHash: {httpHeaderName: x-user}")
	case 4:
		tp = append(tp, "    loadBalancer: {simple: ROUND_ROBIN}")
	}
	if g.chance(0.6) {
		tp = append(tp, "    outlierDetection: {consecutive5xxErrors: 3}")
	}
	switch g.rng.IntN(4) {
	case 0:
		tp = append(tp, "    tls: {mode: ISTIO_MUTUAL}")
	case 1:
		tp = append(tp, "    tls: {mode: DISABLE}")
	}
	sel := ""
	if g.chance(0.25) {
		sel = "\n  workloadSelector: {matchLabels: {app: " + g.pick(genApps) + "}}"
		ns = g.pick(genNamespaces)
	}
	policy := ""
	if len(tp) > 0 {
		policy = "\n  trafficPolicy:\n" + strings.Join(tp, "\n")
	}
	g.add("apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: %s-dr%d, namespace: %s}\nspec:\n  host: %s.%s.svc.cluster.local%s%s\n  subsets:\n  - {name: v1, labels: {version: v1}}\n  - {name: v2, labels: {version: v2}}",
		name, g.rng.IntN(1000), ns, name, svcNS, policy, sel)
}

func (g *meshGen) virtualService(name, ns string) {
	host := name + "." + ns + ".svc.cluster.local"
	var match string
	switch g.rng.IntN(4) {
	case 0:
		match = "    - sourceLabels: {app: " + g.pick(genApps) + "}\n"
	case 1:
		match = "    - sourceNamespace: " + g.pick(genNamespaces) + "\n"
	case 2:
		match = "    - headers: {end-user: {exact: jason}}\n"
	}
	first := "  - route:\n    - destination: {host: " + host + ", subset: v1}\n"
	if match != "" {
		first = "  - match:\n" + match + "    route:\n    - destination: {host: " + host + ", subset: v2}\n"
	}
	mirror := ""
	if g.chance(0.3) {
		mirror = "    mirror: {host: " + host + ", subset: v2}\n"
	}
	g.add("apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: %s-vs, namespace: %s}\nspec:\n  hosts: [%s]\n  http:\n%s  - route:\n    - destination: {host: %s, subset: v1}\n      weight: 80\n    - destination: {host: %s}\n      weight: 20\n%s",
		name, ns, host, first, host, host, mirror)
}

func (g *meshGen) extras() {
	if g.chance(0.5) {
		g.add("apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: default, namespace: ns-b}\nspec:\n  egress:\n  - hosts: [\"./*\"]")
	}
	if g.chance(0.5) {
		g.add("apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: %s}\nspec: {mtls: {mode: %s}}",
			g.pick(genNamespaces), g.pick([]string{"STRICT", "DISABLE", "PERMISSIVE"}))
	}
	// The proxies' own workloads, for their locality.
	for i, ns := range genNamespaces {
		for j, app := range genApps {
			g.add("apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: %s-%d, namespace: %s}\nspec: {address: 127.61.%d.%d, labels: {app: %s}, locality: %s}",
				app, i, ns, i, j+1, app, g.pick(genLocalities[:4]))
		}
	}
}

// genProxies are sidecars of every namespace and app, in both capture
// modes and two clusters, at the addresses of their workloads.
func genProxies() []*mesh.Proxy {
	var out []*mesh.Proxy
	for i, ns := range genNamespaces {
		for j, app := range genApps {
			for _, mode := range []string{mesh.InterceptNone, mesh.InterceptRedirect} {
				for _, cluster := range []string{"", "c2"} {
					ip := fmt.Sprintf("127.61.%d.%d", i, j+1)
					out = append(out, &mesh.Proxy{ID: fmt.Sprintf("sidecar~%s~%s.%s~%s.svc.cluster.local-%s-%s", ip, app, ns, ns, mode, cluster),
						Type: mesh.Sidecar, IPs: []string{ip}, Namespace: ns, WorkloadName: app, ClusterID: cluster,
						Labels: map[string]string{"app": app}, InterceptionMode: mode})
				}
			}
		}
	}
	return out
}

func (g *meshGen) snapshot(t *testing.T, version uint64, meshConfig string) *mesh.Snapshot {
	t.Helper()
	objs, rejs := config.Decode(config.Origin{File: "gen.yaml"}, []byte(strings.Join(g.docs, "\n---\n")))
	if len(rejs) > 0 {
		t.Fatalf("decode: %v", rejs[0])
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, o := range objs {
		if err := validate.Object(o); err != nil {
			t.Fatalf("%s: %v", o.Key(), err)
		}
		o.Meta.CreationTimestamp = base.Add(time.Duration(i) * time.Second)
	}
	return mesh.Build(config.NewSet(version, objs, nil), mesh.Options{MeshConfig: []byte(meshConfig)})
}

// TestCacheMatchesTranslateGenerated compares cached and uncached
// translations over generated meshes, sharing one cache across all of
// them, and checks dependency soundness between consecutive meshes.
func TestCacheMatchesTranslateGenerated(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 17))
	cache := NewCache()
	meshConfigs := []string{``, `{"localityLbSetting": {"enabled": true}}`, `{"h2UpgradePolicy": "UPGRADE", "enableAutoMtls": false}`}
	n := 12
	if testing.Short() {
		n = 3
	}
	var prev *mesh.Snapshot
	for round := range n {
		g := &meshGen{rng: rng}
		for i := range 8 {
			g.service(i)
		}
		g.extras()
		snap := g.snapshot(t, uint64(round+1), meshConfigs[round%len(meshConfigs)])
		cache.NextGeneration(2)
		for _, p := range genProxies() {
			want := Translate(snap.ViewFor(p))
			v := snap.ViewFor(p)
			got := cache.Translate(v)
			if d := diffResources(want, got); d != "" {
				t.Fatalf("round %d proxy %s: cached translation differs:\n%s\nmesh:\n%s", round, p.ID, d, strings.Join(g.docs, "\n---\n"))
			}
			if prev != nil && prev.Unchanged(p, snap.State(p, v.Deps())) {
				if d := diffResources(want, Translate(prev.ViewFor(p))); d != "" {
					t.Fatalf("round %d proxy %s: dependencies unchanged but configuration changed:\n%s", round, p.ID, d)
				}
			}
		}
		prev = snap
	}
}
