package xds

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"

	cachetypes "github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/proto"

	"github.com/lateenmesh/lateen/internal/translate"
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
		if s.push(ctx, id) {
			s.opts.Metrics.convergence.Observe(time.Since(at.trigger).Seconds())
		}
	}
}

// push translates the latest snapshot for one proxy and hands it to the
// cache, which sends each type whose version changed. It reports whether
// the configuration was published.
func (s *Server) push(ctx context.Context, id string) bool {
	p, snap := s.proxy(id), s.snapshot.Load()
	if p == nil || snap == nil {
		return false
	}
	start := time.Now()
	res := translate.Translate(snap.ViewFor(p))
	cs := &cachev3.Snapshot{}
	setResources(cs, resourcev3.ClusterType, res.Clusters)
	setResources(cs, resourcev3.EndpointType, res.Endpoints)
	setResources(cs, resourcev3.ListenerType, res.Listeners)
	setResources(cs, resourcev3.RouteType, res.Routes)
	if !s.proxyVerified(id) {
		res.Secrets = withoutContent(res.Secrets)
	}
	setResources(cs, resourcev3.SecretType, res.Secrets)
	s.opts.Metrics.observeSizes(cs)
	if err := s.cache.SetSnapshot(ctx, id, cs); err != nil {
		if ctx.Err() == nil {
			s.opts.Metrics.internalErrs.Inc()
			s.opts.Logger.Warn("publishing configuration", "component", "xds", "proxy", id, "error", err)
		}
		return false
	}
	s.opts.Metrics.translateTime.Observe(time.Since(start).Seconds())
	return true
}

// setResources stores one type's resources with a version that is a hash
// of their content, so unchanged types are never resent.
func setResources[M proto.Message](cs *cachev3.Snapshot, typeURL string, items []M) {
	h := sha256.New()
	list := make([]cachetypes.Resource, len(items))
	opts := proto.MarshalOptions{Deterministic: true}
	for i, m := range items {
		list[i] = m
		b, err := opts.Marshal(m)
		if err != nil {
			panic(err) // generated messages always marshal
		}
		h.Write(b)
		h.Write([]byte{0})
	}
	version := hex.EncodeToString(h.Sum(nil))[:16]
	cs.Resources[cachev3.GetResponseType(typeURL)] = cachev3.NewResources(version, list)
}
