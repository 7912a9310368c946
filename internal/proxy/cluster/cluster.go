// Package cluster is the proxy's cluster manager: per configuration it builds
// a Set of clusters (settings, load balancer over the current endpoints,
// stats), reusing the connection pool of every cluster whose settings did
// not change so pools survive configuration swaps.
package cluster

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sort"
	"sync/atomic"

	"github.com/lateenmesh/lateen/internal/proxy/lb"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/stats"
)

// Upstream is a cluster's connection pool. The next issue replaces the
// http.Transport-backed one with Envoy-style circuit breaking.
type Upstream interface {
	// RoundTrip sends an HTTP request to req.URL.Host.
	RoundTrip(req *http.Request) (*http.Response, error)
	// Dial opens a TCP connection to addr (TCP proxy).
	Dial(ctx context.Context, addr string) (net.Conn, error)
	// CloseIdle closes idle pooled connections.
	CloseIdle()
}

// Cluster is one cluster of a built Set. It is immutable.
type Cluster struct {
	Config    *resource.Cluster
	Endpoints []resource.Endpoint // as received (all priorities and health states)
	Picker    lb.Picker
	Upstream  Upstream
	Stats     *Stats
	active    *atomic.Int64 // in-flight requests, shared across builds
}

// Acquire reserves a request slot under the cluster's max_requests circuit
// breaker; it returns false (overflow, UO) when the limit is reached. The
// caller must Release a granted slot.
func (c *Cluster) Acquire() bool {
	n := c.active.Add(1)
	if limit := c.Config.Limits.MaxRequests; limit > 0 && n > int64(limit) {
		c.active.Add(-1)
		c.Stats.RqPendingOverflow.Inc()
		return false
	}
	return true
}

// Release frees a slot granted by Acquire.
func (c *Cluster) Release() { c.active.Add(-1) }

// Pick chooses the upstream endpoint for a request.
func (c *Cluster) Pick(req *lb.Request) (resource.Endpoint, bool) { return c.Picker.Pick(req) }

// Set is an immutable set of clusters by name.
type Set struct {
	clusters map[string]*Cluster
	pools    map[string]*pool
}

// Get returns a cluster by name.
func (s *Set) Get(name string) *Cluster {
	if s == nil {
		return nil
	}
	return s.clusters[name]
}

// Names returns the cluster names, sorted.
func (s *Set) Names() []string {
	out := make([]string, 0, len(s.clusters))
	for n := range s.clusters {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Manager builds Sets and owns the pools between builds. Build and Commit
// must be called from one goroutine (the runtime's Apply).
type Manager struct {
	stats *stats.Store
	pools map[string]*pool
}

// NewManager returns a manager recording stats in store.
func NewManager(store *stats.Store) *Manager {
	return &Manager{stats: store, pools: map[string]*pool{}}
}

// Build builds the clusters of cfg beside the current ones. Nothing is
// changed until Commit.
func (m *Manager) Build(cfg *resource.Config) (*Set, error) {
	set := &Set{clusters: make(map[string]*Cluster, len(cfg.Clusters)), pools: map[string]*pool{}}
	for name, rc := range cfg.Clusters {
		eps := cfg.ClusterEndpoints(rc)
		picker, err := m.picker(rc, eps)
		if err != nil {
			return nil, fmt.Errorf("Cluster %q: %w", name, err)
		}
		p := m.pools[name]
		if p == nil || !p.cfg.SameSettings(rc) {
			p = newPool(rc, newStats(m.stats, name))
		}
		set.pools[name] = p
		set.clusters[name] = &Cluster{Config: rc, Endpoints: eps, Picker: picker, Upstream: p, Stats: p.stats, active: &p.active}
	}
	return set, nil
}

func (m *Manager) picker(rc *resource.Cluster, eps []resource.Endpoint) (lb.Picker, error) {
	if rc.Type == resource.ClusterOriginalDst {
		return originalDst{useHeader: rc.OriginalDstUseHeader}, nil
	}
	p, err := lb.New(rc.LBPolicy, eps, rc.HealthyPanicThreshold)
	if err != nil {
		return nil, fmt.Errorf("lb_policy: %w", err)
	}
	return p, nil
}

// Commit makes set the current one: pools of removed or changed clusters
// close their idle connections (in-flight requests finish on them).
func (m *Manager) Commit(set *Set) {
	for name, p := range m.pools {
		if set.pools[name] != p {
			p.CloseIdle()
		}
	}
	m.pools = set.pools
}

// Close closes idle connections of every pool.
func (m *Manager) Close() {
	for _, p := range m.pools {
		p.CloseIdle()
	}
}
