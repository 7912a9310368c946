package http

import (
	"context"
	"errors"
	nethttp "net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/cluster"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/stats"
)

const bodyOverflow = "upstream connect error or disconnect/reset before headers. reset reason: overflow"

// router is the terminal filter: it answers direct responses and redirects
// and forwards everything else to the route's cluster.
type router struct {
	clusters *cluster.Set
	stats    *stats.Store
	mirrors  chan struct{} // bounds the shadow requests in flight
	cstats   sync.Map      // cluster name -> *routerStats
}

// forward is one forwarded request's state, kept in its context.
type forward struct {
	info      *Info
	cluster   *cluster.Cluster
	stats     *routerStats
	action    *resource.RouteAction
	retry     *resource.RetryPolicy // effective policy (request headers applied)
	retryOpts retryOptions
	headers   []*resource.HeaderOps
	attempt   int
	origDst   string
	includeAC bool
	failure   ResponseFlag
	timeouts  timeouts
	timer     *time.Timer
	timerDone bool // the route timeout no longer applies
	cancel    context.CancelFunc
	mu        sync.Mutex
	timedOut  bool // the route timeout fired
	expired   bool // max_stream_duration was reached
	start     time.Time
	tried     []resource.Endpoint
	excluded  map[uint32]bool // priorities left out by previous_priorities
	releases  []func()        // retry budget slots to release at the end
	mirror    *mirrorTee
	trace     httptrace.ClientTrace // relays 1xx responses
}

type forwardKey struct{}

func newRouter(bc BuildContext) *router {
	return &router{clusters: bc.Clusters, stats: bc.Stats, mirrors: make(chan struct{}, maxMirrorsInFlight)}
}

func (rt *router) ServeHTTP(w nethttp.ResponseWriter, r *nethttp.Request) {
	info := InfoFrom(r.Context())
	route := info.route
	switch {
	case route.cfg.DirectResponse != nil:
		applyResponseOps(w.Header(), headerLevels(route, nil))
		dr := route.cfg.DirectResponse
		localReply(w, info, dr.Status, 0, dr.Body)
		return
	case route.cfg.Redirect != nil:
		applyResponseOps(w.Header(), headerLevels(route, nil))
		w.Header().Set("Location", redirectURL(r, route))
		localReply(w, info, route.cfg.Redirect.Code, 0, "")
		return
	}
	rt.forward(w, r, info, route)
}

func (rt *router) forward(w nethttp.ResponseWriter, r *nethttp.Request, info *Info, route *route) {
	action := route.cfg.Action
	name, wc := action.Cluster, (*resource.WeightedCluster)(nil)
	if name == "" {
		wc = pickWeighted(action.WeightedClusters)
		name = wc.Name
	}
	info.Cluster = name
	cl := rt.clusters.Get(name)
	if cl == nil {
		localReply(w, info, nethttp.StatusServiceUnavailable, FlagNoClusterFound, "")
		return
	}
	if !upgradeAllowed(r, action) {
		localReply(w, info, nethttp.StatusForbidden, 0, "")
		return
	}
	if !cl.Acquire() {
		localReply(w, info, nethttp.StatusServiceUnavailable, FlagUpstreamOverflow, bodyOverflow)
		return
	}
	defer cl.Release()
	f := rt.newForward(r, info, route, wc, cl)
	defer f.release()
	ctx, cancel := context.WithCancel(context.WithValue(r.Context(), forwardKey{}, f))
	defer cancel()
	f.cancel = cancel
	if d := f.timeouts.stream; d > 0 {
		t := time.AfterFunc(d, func() { f.expire(&f.expired) })
		defer t.Stop()
	}
	if f.retry != nil && f.retry.NumRetries > 0 {
		makeReplayable(r)
	}
	f.armTimeout(r)
	defer f.stopTimeout()
	defer f.finishMirror()
	rt.proxyRequest(w, r, ctx, f)
}

// newForward prepares a request for its cluster: retry policy and timeouts
// (both read, and remove, their x-envoy-* request headers), header
// operations, path and host rewrites.
func (rt *router) newForward(r *nethttp.Request, info *Info, route *route, wc *resource.WeightedCluster, cl *cluster.Cluster) *forward {
	action := route.cfg.Action
	f := &forward{info: info, cluster: cl, stats: rt.clusterStats(cl.Config.Name), action: action,
		headers: headerLevels(route, wc), includeAC: route.vhost.cfg.IncludeRequestAttemptCount, start: time.Now()}
	policy := action.RetryPolicy
	if policy == nil {
		policy = route.vhost.cfg.RetryPolicy
	}
	f.retry, f.retryOpts = retryFromRequest(r.Header, policy)
	f.timeouts = computeTimeouts(r, action, f.retry, info.GRPC)
	f.retry = withPerTryTimeout(f.retry, f.timeouts.perTry)
	if c, ok := r.Context().Value(connKey{}).(*downstreamConn); ok {
		f.origDst = c.LocalAddr().String()
	}
	applyRequestOps(r.Header, f.headers)
	rewritePath(r, route)
	if action.HostRewrite != "" {
		r.Host = action.HostRewrite
	}
	if wc != nil && wc.HostRewrite != "" {
		r.Host = wc.HostRewrite // the weighted cluster's rewrite wins, as in Envoy
	}
	return f
}

// release frees the retry budget slots the request took.
func (f *forward) release() {
	for _, fn := range f.releases {
		fn()
	}
}

// expire records which timer fired and cancels the upstream request.
func (f *forward) expire(which *bool) {
	f.mu.Lock()
	*which = true
	f.mu.Unlock()
	f.cancel()
}

// upgradeAllowed checks an HTTP/1.1 Upgrade against the connection
// manager's and the route's upgrade_configs. "Upgrade: h2c" is ignored (the
// request is served as HTTP/1.1, which RFC 9113 allows).
func upgradeAllowed(r *nethttp.Request, a *resource.RouteAction) bool {
	up := strings.ToLower(r.Header.Get("Upgrade"))
	if up == "" {
		return true
	}
	if up == "h2c" {
		r.Header.Del("Upgrade")
		r.Header.Del("Http2-Settings")
		return true
	}
	enabled := false
	if c, ok := r.Context().Value(connKey{}).(*downstreamConn); ok {
		if cm := c.slot.cm.Load(); cm != nil {
			enabled = upgradeEnabled(cm.cfg.UpgradeTypes, up, false)
		}
	}
	return upgradeEnabled(a.UpgradeTypes, up, enabled)
}

func upgradeEnabled(cfgs []resource.UpgradeConfig, typ string, def bool) bool {
	for _, u := range cfgs {
		if u.Type == typ {
			return u.Enabled
		}
	}
	return def
}

// bufferPool recycles the response copy buffers.
type bufferPool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, 32*1024); return &b }}

func (bufferPool) Get() []byte  { return *(buffers.Get().(*[]byte)) }
func (bufferPool) Put(b []byte) { buffers.Put(&b) }

var errNoHealthyUpstream = errors.New("no healthy upstream")
