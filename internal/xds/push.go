package xds

import (
	"context"
	"sync"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"

	"github.com/lateenmesh/lateen/internal/mesh"
)

// pushQueue is the set of proxies waiting for a push, in arrival order. A
// proxy is in it at most once, so any number of updates before its turn
// merge into one push built from the latest snapshot. Its size is bounded
// by the number of connected proxies.
type pushQueue struct {
	mu      sync.Mutex
	order   []string
	pending map[string]queued
	wake    chan struct{}
	closed  bool
}

// queued is when a proxy's pending push was first asked for: the change
// it waits for (trigger) and the enqueue time.
type queued struct{ trigger, enqueued time.Time }

func newPushQueue() *pushQueue {
	return &pushQueue{pending: map[string]queued{}, wake: make(chan struct{}, 1)}
}

// add queues proxies for a change made at trigger.
func (q *pushQueue) add(trigger time.Time, ids ...string) {
	now := time.Now()
	q.mu.Lock()
	for _, id := range ids {
		if _, ok := q.pending[id]; !ok {
			q.pending[id] = queued{trigger, now}
			q.order = append(q.order, id)
		}
	}
	q.mu.Unlock()
	q.signal()
}

// addFirst queues a newly connected proxy ahead of routine pushes.
func (q *pushQueue) addFirst(id string) {
	now := time.Now()
	q.mu.Lock()
	if _, ok := q.pending[id]; !ok {
		q.pending[id] = queued{now, now}
		q.order = append([]string{id}, q.order...)
	}
	q.mu.Unlock()
	q.signal()
}

func (q *pushQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// next blocks until a proxy is queued or the queue is closed.
func (q *pushQueue) next(ctx context.Context) (string, queued, bool) {
	for {
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			return "", queued{}, false
		}
		if len(q.order) > 0 {
			id := q.order[0]
			q.order = q.order[1:]
			at := q.pending[id]
			delete(q.pending, id)
			more := len(q.order) > 0
			q.mu.Unlock()
			if more {
				q.signal() // let another worker take the next one
			}
			return id, at, true
		}
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return "", queued{}, false
		case <-q.wake:
		}
	}
}

func (q *pushQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

func (s *Server) pushLoop(ctx context.Context) {
	for {
		id, at, ok := s.queue.next(ctx)
		if !ok {
			return
		}
		s.opts.Metrics.queueTime.Observe(time.Since(at.enqueued).Seconds())
		if s.push(id) {
			s.opts.Metrics.convergence.Observe(time.Since(at.trigger).Seconds())
		}
	}
}

// push translates the latest snapshot for one proxy, unless nothing it
// depends on changed since its last push, and hands the result to the
// cache, which sends each type the proxy lacks. It reports whether the
// configuration was translated. Pushes of one proxy are serialized, so
// an older snapshot never overwrites a newer one.
func (s *Server) push(id string) bool {
	pc := s.conn(id)
	if pc == nil {
		return false
	}
	pc.pushMu.Lock()
	defer pc.pushMu.Unlock()
	p, snap := s.proxyOf(pc), s.snapshot.Load()
	if snap == nil || pc.closed.Load() {
		return false
	}
	if pc.stale.Swap(false) {
		pc.deps = nil
	}
	if snap.Unchanged(p, pc.deps) {
		s.opts.Metrics.skipped.Inc()
		return false
	}
	start := time.Now()
	view := snap.ViewFor(p)
	res := s.translator.Translate(view)
	pc.deps = snap.State(p, view.Deps())
	if !pc.verified.Load() {
		res.Secrets = withoutContent(res.Secrets)
	}
	sets := map[string]*resourceSet{
		resourcev3.ClusterType:  set(s.encoder, resourcev3.ClusterType, res.Clusters, (*clusterv3.Cluster).GetName),
		resourcev3.EndpointType: set(s.encoder, resourcev3.EndpointType, res.Endpoints, (*endpointv3.ClusterLoadAssignment).GetClusterName),
		resourcev3.ListenerType: set(s.encoder, resourcev3.ListenerType, res.Listeners, (*listenerv3.Listener).GetName),
		resourcev3.RouteType:    set(s.encoder, resourcev3.RouteType, res.Routes, (*routev3.RouteConfiguration).GetName),
		resourcev3.SecretType:   set(s.encoder, resourcev3.SecretType, res.Secrets, (*tlsv3.Secret).GetName),
	}
	s.opts.Metrics.observeSizes(sets)
	s.cache.SetNode(id, sets)
	s.opts.Metrics.translateTime.Observe(time.Since(start).Seconds())
	return true
}

func (s *Server) proxyOf(pc *proxyConn) *mesh.Proxy {
	s.mu.Lock()
	defer s.mu.Unlock()
	return pc.proxy
}
