// Package cluster is the proxy's cluster manager: per configuration it builds
// a Set of clusters (settings, load balancer over the current endpoints,
// stats), reusing the connection pool of every cluster whose settings did
// not change so pools survive configuration swaps. What Envoy keeps per
// host and per cluster across updates — outstanding requests, slow start
// times, outlier detection state, circuit breaker counts — lives in a
// per-cluster state shared by the builds of the same cluster name.
package cluster

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/lb"
	"github.com/lateenmesh/lateen/internal/proxy/mtls"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/stats"
)

// Upstream is a cluster's connection pool.
type Upstream interface {
	// RoundTrip sends an HTTP request to req.URL.Host.
	RoundTrip(req *http.Request) (*http.Response, error)
	// Dial opens a TCP connection to addr (TCP proxy).
	Dial(ctx context.Context, addr string) (net.Conn, error)
	// CloseIdle closes idle pooled connections.
	CloseIdle()
}

// Cluster is one cluster of a built Set. Its configuration and endpoints
// are immutable; its picker follows outlier ejections.
type Cluster struct {
	Config    *resource.Cluster
	Endpoints []resource.Endpoint // as received (all priorities and health states)
	Upstream  Upstream
	Stats     *Stats

	st      *state
	hosts   []*lb.Host
	byAddr  map[string]*hostState
	origDst lb.Picker // ORIGINAL_DST clusters
	now     func() time.Time
	// tls is the TLS client per endpoint address (nil: plaintext);
	// defaultTLS serves addresses that are not endpoints.
	tls        map[string]*mtls.Client
	defaultTLS *mtls.Client

	mu     sync.Mutex // serializes picker rebuilds
	picker atomic.Pointer[versionedPicker]
}

type versionedPicker struct {
	lb.Picker
	version uint64
}

// Pick chooses the upstream endpoint for a request.
func (c *Cluster) Pick(req *lb.Request) (resource.Endpoint, bool) {
	if c.origDst != nil {
		return c.origDst.Pick(req)
	}
	c.st.unejectExpired(c.now())
	return c.currentPicker().Pick(req)
}

// currentPicker returns the picker for the current ejections, rebuilding it
// when they changed.
func (c *Cluster) currentPicker() lb.Picker {
	v := c.st.version.Load()
	if p := c.picker.Load(); p != nil && p.version == v {
		return p.Picker
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.picker.Load(); p != nil && p.version == v {
		return p.Picker
	}
	p, err := c.buildPicker()
	if err != nil {
		p = noHost{} // the policy was checked when the cluster was built
	}
	c.picker.Store(&versionedPicker{Picker: p, version: v})
	return p
}

func (c *Cluster) buildPicker() (lb.Picker, error) {
	hosts := c.hosts
	if ejected := c.st.ejectedSet(); len(ejected) > 0 {
		hosts = make([]*lb.Host, len(c.hosts))
		for i, h := range c.hosts {
			hosts[i] = h
			if ejected[h.Address] {
				cp := *h
				cp.Health = resource.HealthUnhealthy // failed outlier check
				hosts[i] = &cp
			}
		}
	}
	return lb.New(hosts, lb.Options{Policy: c.Config.LBPolicy, PanicThreshold: c.Config.HealthyPanicThreshold,
		Config: c.Config.LB, Now: c.now})
}

type noHost struct{}

func (noHost) Pick(*lb.Request) (resource.Endpoint, bool) { return resource.Endpoint{}, false }

// Acquire takes a slot under the max_requests circuit breaker (requests
// outstanding to the cluster at once). It returns false on overflow (503
// UO; Envoy counts it in upstream_rq_pending_overflow); otherwise Release
// must be called once when the request ends.
func (c *Cluster) Acquire() bool {
	limit := c.Config.Limits.MaxRequests
	n := c.st.requests.Add(1)
	if n > int64(limit) {
		c.st.requests.Add(-1)
		c.Stats.RqPendingOverflow.Inc()
		return false
	}
	c.Stats.breaker(c.Stats.RqOpen, c.Stats.RemainingRq, int(n), limit, c.Config.TrackRemaining)
	return true
}

// Release frees a slot granted by Acquire.
func (c *Cluster) Release() {
	n := c.st.requests.Add(-1)
	c.Stats.breaker(c.Stats.RqOpen, c.Stats.RemainingRq, int(n), c.Config.Limits.MaxRequests, c.Config.TrackRemaining)
}

// AcquireRetry takes a slot under the max_retries circuit breaker (retries
// outstanding at once). It returns false on overflow, counting
// upstream_rq_retry_overflow (the retry is not made); otherwise
// ReleaseRetry must be called once when the retried request ends.
func (c *Cluster) AcquireRetry() bool {
	limit := c.Config.Limits.MaxRetries
	n := c.st.retries.Add(1)
	if n > int64(limit) {
		c.st.retries.Add(-1)
		c.Stats.RqRetryOverflow.Inc()
		return false
	}
	c.Stats.breaker(c.Stats.RqRetryOpen, c.Stats.RemainingRetries, int(n), limit, c.Config.TrackRemaining)
	return true
}

// ReleaseRetry frees a slot granted by AcquireRetry.
func (c *Cluster) ReleaseRetry() {
	n := c.st.retries.Add(-1)
	c.Stats.breaker(c.Stats.RqRetryOpen, c.Stats.RemainingRetries, int(n), c.Config.Limits.MaxRetries, c.Config.TrackRemaining)
}

// Begin counts one upstream request to addr as outstanding on the host
// (LEAST_REQUEST reads it) and in upstream_rq_active; done must be called
// once when the request, including its response body, ends.
func (c *Cluster) Begin(addr string) (done func()) {
	c.Stats.RqActive.Inc()
	h := c.byAddr[addr]
	if h != nil {
		h.active.Add(1)
	}
	return func() {
		c.Stats.RqActive.Dec()
		if h != nil {
			h.active.Add(-1)
		}
	}
}

// Ejected reports whether outlier detection has ejected addr.
func (c *Cluster) Ejected(addr string) bool { return c.st.ejectedSet()[addr] }

// Set is an immutable set of clusters by name.
type Set struct {
	clusters map[string]*Cluster
	states   map[string]*state
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

// Manager builds Sets and owns the per-cluster state between builds. Build
// and Commit must be called from one goroutine (the runtime's Apply).
type Manager struct {
	stats  *stats.Store
	states map[string]*state
	pools  map[string]*pool
	now    func() time.Time
}

// NewManager returns a manager recording stats in store.
func NewManager(store *stats.Store) *Manager {
	return &Manager{stats: store, states: map[string]*state{}, pools: map[string]*pool{}, now: time.Now}
}

// Build builds the clusters of cfg beside the current ones. Nothing the
// current clusters use is changed until Commit (new hosts are added to the
// shared state; that is harmless).
func (m *Manager) Build(cfg *resource.Config, secrets *mtls.Secrets) (*Set, error) {
	set := &Set{clusters: make(map[string]*Cluster, len(cfg.Clusters)), states: map[string]*state{}, pools: map[string]*pool{}}
	now := m.now()
	for name, rc := range cfg.Clusters {
		st := m.states[name]
		if st == nil {
			st = newState(newStats(m.stats, name))
		}
		p := m.pools[name]
		if p == nil || !p.cfg.SameSettings(rc) {
			p = newPool(rc, st.stats)
		}
		c, err := m.build(rc, cfg.ClusterEndpoints(rc), st, p, now)
		if err != nil {
			return nil, fmt.Errorf("Cluster %q: %w", name, err)
		}
		c.buildTLS(secrets)
		set.clusters[name], set.states[name], set.pools[name] = c, st, p
	}
	return set, nil
}

func (m *Manager) build(rc *resource.Cluster, eps []resource.Endpoint, st *state, p *pool, now time.Time) (*Cluster, error) {
	c := &Cluster{Config: rc, Endpoints: eps, Stats: st.stats, st: st, now: m.now}
	c.Upstream = &upstream{pool: p, cluster: c}
	if rc.Type == resource.ClusterOriginalDst {
		c.origDst = originalDst{useHeader: rc.OriginalDstUseHeader}
		return c, nil
	}
	c.hosts, c.byAddr = st.hostsFor(eps, now)
	picker, err := c.buildPicker()
	if err != nil {
		return nil, fmt.Errorf("lb_policy: %w", err)
	}
	c.picker.Store(&versionedPicker{Picker: picker, version: st.version.Load()})
	return c, nil
}

// Commit makes set the current one: pools of removed or changed clusters
// close their idle connections (in-flight requests finish on them), and
// hosts that left a cluster lose their state.
func (m *Manager) Commit(set *Set) {
	for name, p := range m.pools {
		if set.pools[name] != p {
			p.CloseIdle()
		}
	}
	for name, st := range set.states {
		st.prune(set.clusters[name].Endpoints)
	}
	m.states, m.pools = set.states, set.pools
}

// Close closes idle connections of every pool.
func (m *Manager) Close() {
	for _, p := range m.pools {
		p.CloseIdle()
	}
}

// upstream is a Cluster's Upstream: its pool, reporting TCP connect
// results to outlier detection.
type upstream struct {
	pool    *pool
	cluster *Cluster
}

func (u *upstream) RoundTrip(req *http.Request) (*http.Response, error) {
	return u.pool.RoundTrip(req, u.cluster.tlsFor(req.URL.Host))
}

func (u *upstream) CloseIdle() { u.pool.CloseIdle() }

func (u *upstream) Dial(ctx context.Context, addr string) (net.Conn, error) {
	c, err := u.pool.Dial(ctx, addr, u.cluster.tlsFor(addr))
	switch {
	case err == ErrOverflow:
	case err != nil:
		outcome := ConnectFailed
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			outcome = Timeout
		}
		u.cluster.ReportLocal(addr, outcome)
	default:
		u.cluster.ReportLocal(addr, ConnectSuccessFinal)
	}
	return c, err
}

// buildTLS makes the cluster's TLS clients: one per transport socket,
// chosen per endpoint (transport_socket_matches, else transport_socket).
func (c *Cluster) buildTLS(secrets *mtls.Secrets) {
	rc := c.Config
	clients := map[*resource.UpstreamTLS]*mtls.Client{}
	client := func(t *resource.UpstreamTLS) *mtls.Client {
		if t == nil {
			return nil
		}
		if clients[t] == nil {
			clients[t] = mtls.NewClient(t, secrets, rc.AutoSNI, rc.AutoSANValidation)
		}
		return clients[t]
	}
	c.defaultTLS = client(rc.SocketFor(resource.Endpoint{}))
	if len(rc.SocketMatches) == 0 {
		return
	}
	c.tls = make(map[string]*mtls.Client, len(c.Endpoints))
	for _, ep := range c.Endpoints {
		c.tls[ep.Address] = client(rc.SocketFor(ep))
	}
}

// tlsFor returns the TLS client for an upstream address (nil: plaintext).
func (c *Cluster) tlsFor(addr string) *mtls.Client {
	if t, ok := c.tls[addr]; ok {
		return t
	}
	return c.defaultTLS
}
