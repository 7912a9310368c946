package translate

import (
	"sync"
	"sync/atomic"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"github.com/lateenmesh/lateen/internal/mesh"
)

// Cache makes translation incremental without making it impure. A
// translation is split into pieces, each a function of one small explicit
// input: an outbound cluster with its endpoints (clusterInput), the routes
// of one virtual host (routesInput); each piece is built through a view
// that answers from its input alone, and memoized under a digest of that
// input, field by field. Pieces are shared by every proxy and every
// snapshot whose input is the same, and so are the messages they hold
// (one message per distinct resource in memory). On top, the outbound part
// of a translation (clusters, endpoints, the HTTP proxy's routes) is
// memoized per class of proxies of one snapshot (classKey): proxies that
// share namespace, Sidecar and the few proxy fields the part reads get the
// same messages, built once.
//
// Cache.Translate returns exactly what Translate returns (tests compare
// both over many views). The messages it returns are shared: callers must
// not modify them. A Cache is safe for concurrent use.
type Cache struct {
	gen atomic.Uint64

	mu       sync.Mutex
	clusters map[clusterKey]*entry[*clusterPiece]
	routes   map[routesKey]*entry[[]*routev3.Route]
	classes  map[classKey]*classPart
	// routeParts outlive snapshots (see routePart).
	routeParts map[routeKey]*routePart

	hits, misses atomic.Int64
}

// NewCache returns an empty cache.
func NewCache() *Cache {
	return &Cache{clusters: map[clusterKey]*entry[*clusterPiece]{}, routes: map[routesKey]*entry[[]*routev3.Route]{},
		classes: map[classKey]*classPart{}, routeParts: map[routeKey]*routePart{}}
}

// entry is one memoized piece, built once, with the last generation that
// used it.
type entry[T any] struct {
	once sync.Once
	val  T
	used atomic.Uint64
}

// CacheStats counts piece lookups.
type CacheStats struct {
	Hits, Misses                    int64
	Clusters, Routes                int
	Classes, RouteParts, Generation int
}

// Stats returns the cache's counters and sizes.
func (c *Cache) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return CacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Clusters: len(c.clusters), Routes: len(c.routes),
		Classes: len(c.classes), RouteParts: len(c.routeParts), Generation: int(c.gen.Load())}
}

// NextGeneration starts a generation (call it for every new snapshot) and
// drops what the last keep generations did not use: class parts of older
// snapshots, pieces no current configuration is made of.
func (c *Cache) NextGeneration(keep uint64) {
	gen := c.gen.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.clusters {
		if e.used.Load()+keep < gen {
			delete(c.clusters, k)
		}
	}
	for k, e := range c.routes {
		if e.used.Load()+keep < gen {
			delete(c.routes, k)
		}
	}
	for k, e := range c.classes {
		if e.used.Load()+1 < gen {
			delete(c.classes, k)
		}
	}
	for k, e := range c.routeParts {
		if e.used.Load()+keep < gen {
			delete(c.routeParts, k)
		}
	}
}

// lookup returns the entry for key in m, creating it.
func lookup[K comparable, T any](c *Cache, m map[K]*entry[T], key K) *entry[T] {
	c.mu.Lock()
	e := m[key]
	if e == nil {
		e = &entry[T]{}
		m[key] = e
	}
	c.mu.Unlock()
	e.used.Store(c.gen.Load())
	return e
}

// get returns the memoized value of e, building it on first use.
func get[T any](c *Cache, e *entry[T], build func() T) T {
	built := false
	e.once.Do(func() { e.val, built = build(), true })
	if built {
		c.misses.Add(1)
	} else {
		c.hits.Add(1)
	}
	return e.val
}

// keyDigests digests the parts of piece inputs that are the same for a
// whole builder (its view's mesh and proxy), once.
type keyDigests struct {
	view      *mesh.ProxyView
	meshSet   bool
	meshD     mesh.Digest
	proxyD    [2]*mesh.Digest // clusterProxy without, with locality
	routeProx [2]*mesh.Digest // routesProxy without, with labels
}

func (d *keyDigests) mesh() mesh.Digest {
	if !d.meshSet {
		d.meshD, d.meshSet = d.view.MeshDigest(), true
	}
	return d.meshD
}

func (d *keyDigests) clusterProxy(p clusterProxy) mesh.Digest {
	i := 0
	if p.Labels != nil || p.ClusterID != "" || p.Workload != nil {
		i = 1
	}
	if d.proxyD[i] == nil {
		dg := mesh.DigestOf(p)
		d.proxyD[i] = &dg
	}
	return *d.proxyD[i]
}

func (d *keyDigests) routesProxy(p routesProxy) mesh.Digest {
	i := 0
	if p.Labels != nil {
		i = 1
	}
	if d.routeProx[i] == nil {
		dg := mesh.DigestOf(p)
		d.routeProx[i] = &dg
	}
	return *d.routeProx[i]
}

func (b *builder) keys() *keyDigests {
	if b.digests == nil {
		b.digests = &keyDigests{view: b.view}
	}
	return b.digests
}

// cluster returns the outbound cluster piece of an input.
func (c *Cache) cluster(in *clusterInput, d *keyDigests) *clusterPiece {
	e := lookup(c, c.clusters, in.key(d))
	return get(c, e, func() *clusterPiece { return buildClusterPiece(in) })
}

// meshRoutes returns the routes piece of an input.
func (c *Cache) meshRoutes(in *routesInput, d *keyDigests) []*routev3.Route {
	e := lookup(c, c.routes, in.key(d))
	return get(c, e, func() []*routev3.Route { return buildRoutesPiece(in) })
}
