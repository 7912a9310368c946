package translate

import (
	"cmp"
	"slices"
	"sync"
	"sync/atomic"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"github.com/lateenmesh/lateen/internal/mesh"
	"github.com/lateenmesh/lateen/internal/registry"
)

// classKey names the proxies of one snapshot that get the same outbound
// part: same lists and rules (mesh.Class), and the same values of what the
// part reads of the proxy (the fields of classProxy). The part is built
// from a class view holding only those fields.
type classKey struct {
	class     mesh.Class
	namespace string
	typ       mesh.NodeType
	intercept string
	// labels digests the proxy's labels when the part reads them (a
	// VirtualService matches on source labels, or locality load
	// balancing may apply); zero otherwise.
	labels mesh.Digest
	// locality digests the proxy's cluster and workload when locality
	// load balancing may apply; zero otherwise.
	locality mesh.Digest
	decorate bool
}

// classPart is the outbound part of the translations of one class in one
// snapshot: the outbound and special clusters (sorted by name), the
// outbound endpoints (sorted) and the ADS secrets they name, built once,
// with the dependencies the build read, which every user adopts. Shared:
// never modified once built.
type classPart struct {
	used atomic.Uint64

	proxy    *mesh.Proxy // the class proxy
	workload *registry.Workload
	decorate bool

	once        sync.Once
	clusters    []*clusterv3.Cluster
	byName      map[string]*clusterv3.Cluster
	endpoints   []*endpointv3.ClusterLoadAssignment
	secretNames []string
	deps        mesh.Deps
}

// routePart is a class's HTTP proxy route configuration (capture NONE
// sidecars). Routes do not depend on endpoints, so it is built without
// them and kept across snapshots: a later snapshot reuses it (the same
// message, so nothing is encoded or sent again) while the dependencies
// of its build are unchanged.
type routePart struct {
	used atomic.Uint64

	mu    sync.Mutex
	class mesh.Class // the snapshot's class it was last found valid for
	route *routev3.RouteConfiguration
	deps  mesh.Deps
	state mesh.DepState
}

// routeKey names a class across snapshots, with what the route part reads
// of the proxy.
type routeKey struct {
	stable    mesh.StableClass
	namespace string
	typ       mesh.NodeType
	intercept string
	labels    mesh.Digest
	locality  mesh.Digest
	decorate  bool
}

// classOf computes a builder's class key and class proxy.
func classOf(b *builder) (classKey, *mesh.Proxy, *registry.Workload) {
	v, p := b.view, b.view.Proxy
	cp := &mesh.Proxy{Type: p.Type, Namespace: p.Namespace, InterceptionMode: p.InterceptionMode}
	key := classKey{class: v.Class(), namespace: p.Namespace, typ: p.Type, intercept: p.InterceptionMode,
		decorate: b.outboundDecorate()}
	var w *registry.Workload
	locality := v.UsesLocalityLB()
	if locality || v.UsesSourceLabels() {
		cp.Labels = p.Labels
		key.labels = mesh.DigestOf(p.Labels)
	}
	if locality {
		cp.ClusterID, w = p.ClusterID, v.Workload
		key.locality = mesh.DigestOf(p.ClusterID, w)
	}
	return key, cp, w
}

// classPart returns (building it once) the outbound part of b's class,
// and makes b's view depend on what it read.
func (c *Cache) classPart(b *builder) *classPart {
	key, proxy, w := classOf(b)
	c.mu.Lock()
	part := c.classes[key]
	if part == nil {
		part = &classPart{proxy: proxy, workload: w, decorate: key.decorate}
		c.classes[key] = part
	}
	c.mu.Unlock()
	part.used.Store(c.gen.Load())
	part.once.Do(func() { c.buildClassClusters(part, b.view) })
	b.view.Include(part.deps)
	return part
}

// classBuilder is a builder over the class view of v.
func (c *Cache) classBuilder(part *classPart, v *mesh.ProxyView, endpoints bool) *builder {
	cb := newBuilder(v.ClassView(part.proxy, part.workload, endpoints), c)
	cb.decorateOut = 1
	if part.decorate {
		cb.decorateOut = 2
	}
	return cb
}

func (c *Cache) buildClassClusters(part *classPart, v *mesh.ProxyView) {
	cb := c.classBuilder(part, v, true)
	cb.forEachOutboundCluster(func(in *clusterInput) {
		piece := c.cluster(in, cb.keys())
		cb.addCluster(piece.cluster)
		if piece.cla != nil {
			cb.endpoints = append(cb.endpoints, piece.cla)
		}
		for _, n := range piece.secrets {
			cb.secretNames[n] = true
		}
	})
	cb.buildSpecialClusters()
	part.byName = cb.clusters
	for _, cl := range cb.clusters {
		part.clusters = append(part.clusters, cl)
	}
	slices.SortFunc(part.clusters, func(a, b *clusterv3.Cluster) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(cb.endpoints, func(a, b *endpointv3.ClusterLoadAssignment) int {
		return cmp.Compare(a.ClusterName, b.ClusterName)
	})
	part.clusters, part.endpoints = slices.Clip(part.clusters), slices.Clip(cb.endpoints)
	part.secretNames = sortedMapKeys(cb.secretNames)
	part.deps = cb.view.Deps()
}

// classRoute returns the class's HTTP proxy route configuration,
// decorated for tracing when the class traces: the one built for an
// earlier snapshot while what it read is unchanged, else a new one.
func (c *Cache) classRoute(b *builder) *routev3.RouteConfiguration {
	key, _, _ := classOf(b)
	rk := routeKey{stable: b.view.Stable(), namespace: key.namespace, typ: key.typ, intercept: key.intercept,
		labels: key.labels, locality: key.locality, decorate: key.decorate}
	c.mu.Lock()
	part := c.routeParts[rk]
	if part == nil {
		part = &routePart{}
		c.routeParts[rk] = part
	}
	c.mu.Unlock()
	part.used.Store(c.gen.Load())
	part.mu.Lock()
	defer part.mu.Unlock()
	if part.class != key.class {
		if part.route != nil && b.view.Unchanged(part.state) {
			c.hits.Add(1)
		} else {
			c.misses.Add(1)
			cb := c.classBuilder(b.class, b.view, false)
			cb.class = b.class
			rc := cb.buildHTTPProxyRouteConfig()
			if key.decorate {
				cb.decorate(rc, classOutbound)
			}
			part.route, part.deps = rc, cb.view.Deps()
			part.state = b.view.State(part.deps)
		}
		part.class = key.class
	}
	b.view.Include(part.deps)
	return part.route
}

// hasCluster reports whether the class has an outbound cluster.
func (p *classPart) hasCluster(name string) bool {
	_, ok := p.byName[name]
	return ok
}
