package http

import (
	"context"
	"errors"
	"log/slog"
	"net"
	nethttp "net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/cluster"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// defaultRouteTimeout is Envoy's route timeout when none is configured.
const defaultRouteTimeout = 15 * time.Second

const (
	bodyConnFailure = "upstream connect error or disconnect/reset before headers. reset reason: connection failure"
	bodyConnTerm    = "upstream connect error or disconnect/reset before headers. reset reason: connection termination"
	bodyOverflow    = "upstream connect error or disconnect/reset before headers. reset reason: overflow"
)

// router is the terminal filter: it answers direct responses and redirects
// and forwards everything else to the route's cluster.
type router struct {
	clusters *cluster.Set
	proxy    *httputil.ReverseProxy
}

// forward is one forwarded request's state, kept in its context.
type forward struct {
	info      *Info
	cluster   *cluster.Cluster
	action    *resource.RouteAction
	retry     *resource.RetryPolicy
	headers   []*resource.HeaderOps
	attempt   int
	origDst   string
	includeAC bool
	failure   ResponseFlag
	timer     *time.Timer
	timedOut  bool
	mu        sync.Mutex
	start     time.Time
}

type forwardKey struct{}

func newRouter(bc BuildContext) *router {
	rt := &router{clusters: bc.Clusters}
	rt.proxy = &httputil.ReverseProxy{
		Rewrite:        rewrite,
		Transport:      rt,
		FlushInterval:  -1,
		BufferPool:     bufferPool{},
		ErrorHandler:   rt.errorHandler,
		ModifyResponse: rt.modifyResponse,
		ErrorLog:       slog.NewLogLogger(bc.Logger.Handler(), slog.LevelDebug),
	}
	return rt
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
		w.WriteHeader(route.cfg.Redirect.Code)
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
	f := &forward{info: info, cluster: cl, action: action, headers: headerLevels(route, wc),
		retry: action.RetryPolicy, includeAC: route.vhost.cfg.IncludeRequestAttemptCount, start: time.Now()}
	if f.retry == nil {
		f.retry = route.vhost.cfg.RetryPolicy
	}
	if c, ok := r.Context().Value(connKey{}).(*downstreamConn); ok {
		f.origDst = c.LocalAddr().String()
	}
	applyRequestOps(r.Header, f.headers)
	rewritePath(r, route)
	if action.HostRewrite != "" {
		r.Host = action.HostRewrite
	}
	ctx, cancel := context.WithCancel(context.WithValue(r.Context(), forwardKey{}, f))
	defer cancel()
	if t := routeTimeout(action); t > 0 {
		f.timer = time.AfterFunc(t, func() { f.mu.Lock(); f.timedOut = true; f.mu.Unlock(); cancel() })
		defer f.timer.Stop()
	}
	if f.retry != nil && f.retry.NumRetries > 0 {
		makeReplayable(r)
	}
	rt.proxy.ServeHTTP(w, r.WithContext(ctx))
}

func routeTimeout(a *resource.RouteAction) time.Duration {
	t := defaultRouteTimeout
	if a.TimeoutSet {
		t = a.Timeout
	}
	if a.MaxStreamDuration > 0 && (t == 0 || a.MaxStreamDuration < t) {
		t = a.MaxStreamDuration
	}
	return t
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

// rewrite prepares the outbound request; ReverseProxy has removed the
// hop-by-hop and X-Forwarded-* headers, the latter are restored as the
// connection manager set them.
func rewrite(pr *httputil.ProxyRequest) {
	for _, h := range []string{"X-Forwarded-For", "X-Forwarded-Proto"} {
		if v, ok := pr.In.Header[h]; ok {
			pr.Out.Header[h] = v
		}
	}
	pr.Out.Host = pr.In.Host
	pr.Out.URL.Scheme = "http"
}

// rewritePath applies prefix_rewrite and regex_rewrite.
func rewritePath(r *nethttp.Request, route *route) {
	a := route.cfg.Action
	if a.PrefixRewrite == "" && a.RegexRewrite == nil {
		return
	}
	p := r.URL.EscapedPath()
	switch {
	case a.RegexRewrite != nil:
		p = a.RegexRewrite.Pattern.ReplaceAllString(p, a.RegexRewrite.Substitution)
	case route.cfg.Match.Kind == resource.PathPrefix || route.cfg.Match.Kind == resource.PathSeparatedPrefix ||
		route.cfg.Match.Kind == resource.PathExact:
		p = a.PrefixRewrite + p[min(len(route.cfg.Match.Path), len(p)):]
	}
	if u, err := url.PathUnescape(p); err == nil {
		r.URL.Path, r.URL.RawPath = u, p
	}
}

func redirectURL(r *nethttp.Request, route *route) string {
	rd := route.cfg.Redirect
	u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	if rd.Scheme != "" {
		u.Scheme = rd.Scheme
	}
	if rd.Host != "" {
		u.Host = rd.Host
	}
	if rd.Port != 0 {
		host, _, err := net.SplitHostPort(u.Host)
		if err != nil {
			host = u.Host
		}
		u.Host = net.JoinHostPort(host, strconv.Itoa(int(rd.Port)))
	}
	switch {
	case rd.Path != "":
		path, query, hasQuery := strings.Cut(rd.Path, "?")
		u.Path, u.RawPath = path, ""
		if hasQuery {
			u.RawQuery = query
		}
	case rd.PrefixSet:
		p := r.URL.Path
		u.Path, u.RawPath = rd.Prefix+p[min(len(route.cfg.Match.Path), len(p)):], ""
	}
	if rd.StripQuery {
		u.RawQuery = ""
	}
	return u.String()
}

// bufferPool recycles ReverseProxy's copy buffers.
type bufferPool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, 32*1024); return &b }}

func (bufferPool) Get() []byte  { return *(buffers.Get().(*[]byte)) }
func (bufferPool) Put(b []byte) { buffers.Put(&b) }

var errNoHealthyUpstream = errors.New("no healthy upstream")
