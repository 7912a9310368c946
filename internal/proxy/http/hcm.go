package http

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	nethttp "net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/stats"
)

// ConnManager is one built HTTP connection manager: a route table and a
// filter chain for one configuration. It is immutable; a Slot points
// connections at the current one.
type ConnManager struct {
	cfg       *resource.HTTPConnectionManager
	routes    *RouteTable
	chain     nethttp.Handler
	observers []Observer
	server    string
	stats     hcmStats
}

type hcmStats struct {
	rqTotal  *stats.Counter
	rqActive *stats.Gauge
	codes    *stats.Codes
}

// NewConnManager builds a connection manager over routes (the inline route
// config or the RDS one of the same configuration).
func NewConnManager(cfg *resource.HTTPConnectionManager, routes *RouteTable, filters *Filters, bc BuildContext) (*ConnManager, error) {
	if cfg.StreamIdleTimeout > 0 {
		return nil, fmt.Errorf("stream_idle_timeout: not supported yet by lateen-proxy")
	}
	if cfg.RequestTimeout > 0 {
		return nil, fmt.Errorf("request_timeout: not supported yet by lateen-proxy")
	}
	bc.StatPrefix = cfg.StatPrefix
	chain, err := filters.chain(cfg.Filters, bc)
	if err != nil {
		return nil, err
	}
	observers, err := filters.buildObservers(cfg, bc)
	if err != nil {
		return nil, err
	}
	p := "http." + cfg.StatPrefix + "."
	cm := &ConnManager{cfg: cfg, routes: routes, chain: chain, observers: observers, server: cfg.ServerName,
		stats: hcmStats{rqTotal: bc.Stats.Counter(p + "downstream_rq_total"),
			rqActive: bc.Stats.Gauge(p + "downstream_rq_active"), codes: bc.Stats.Codes(p + "downstream_rq")}}
	if cm.server == "" {
		cm.server = "envoy"
	}
	return cm, nil
}

// serve handles one request of a connection accepted by a listener.
func (cm *ConnManager) serve(w nethttp.ResponseWriter, r *nethttp.Request, c *downstreamConn, draining bool) {
	info := &Info{Start: time.Now(), Listener: c.listener, StatPrefix: cm.cfg.StatPrefix,
		DownstreamLocal: c.local, DownstreamPeer: c.remote}
	cm.stats.rqTotal.Inc()
	cm.stats.rqActive.Inc()
	rw := &responseWriter{ResponseWriter: w, info: info, server: cm.server, draining: draining}
	var end func()
	defer func() {
		cm.stats.rqActive.Dec()
		info.Duration = time.Since(info.Start)
		cm.stats.codes.Record(info.ResponseCode)
		if end != nil {
			end()
		}
	}()
	if r.Body != nil && r.Body != nethttp.NoBody {
		r.Body = &countingBody{body: r.Body, info: info}
	}
	r = r.WithContext(withInfo(r.Context(), info))
	cm.prepare(r, c, info)
	end = beginObservers(cm.observers, r, info)
	path := r.URL.EscapedPath()
	vh := cm.routes.selectVHost(info.Authority)
	var rt *route
	if vh != nil {
		rt = vh.match(r, path)
	}
	if rt == nil {
		localReply(rw, info, nethttp.StatusNotFound, FlagNoRoute, "route not found")
		return
	}
	info.route, info.RouteName, info.VirtualHost = rt, rt.cfg.Name, vh.cfg.Name
	cm.chain.ServeHTTP(rw, r)
}

// prepare normalizes the request as Envoy's connection manager does:
// absolute-form URIs become origin-form with the URI's authority,
// x-request-id, x-forwarded-*, internal request detection (x-envoy-*
// control headers of external requests are removed),
// x-forwarded-client-cert, path normalization.
func (cm *ConnManager) prepare(r *nethttp.Request, c *downstreamConn, info *Info) {
	if r.URL.IsAbs() { // HTTP proxy request: GET http://host/path
		r.Host = r.URL.Host
		r.URL.Scheme, r.URL.Host = "", ""
		r.RequestURI = r.URL.RequestURI()
	}
	info.Authority = strings.ToLower(r.Host)
	info.GRPC = isGRPC(r)
	h := r.Header
	if cm.cfg.GenerateRequestID && h.Get("X-Request-Id") == "" {
		h.Set("X-Request-Id", newUUID())
	}
	info.RequestID = h.Get("X-Request-Id")
	info.Peer = c.tls
	if cm.cfg.UseRemoteAddress {
		ip := c.peerHost
		if prior := h.Get("X-Forwarded-For"); prior != "" {
			ip = prior + "," + ip
		}
		h.Set("X-Forwarded-For", ip)
		h.Set("X-Forwarded-Proto", scheme(info))
	} else if h.Get("X-Forwarded-Proto") == "" {
		h.Set("X-Forwarded-Proto", scheme(info))
	}
	markInternal(h, info, cm.cfg.UseRemoteAddress, c)
	forwardClientCert(h, cm.cfg, info.Peer)
	if cm.cfg.NormalizePath || cm.cfg.MergeSlashes {
		normalizePath(r.URL, cm.cfg.NormalizePath, cm.cfg.MergeSlashes)
		r.RequestURI = r.URL.RequestURI()
	}
}

// internalOnlyHeaders are the x-envoy-* headers Envoy honours only on
// internal requests and removes from the others.
var internalOnlyHeaders = []string{
	"X-Envoy-Retriable-Status-Codes", "X-Envoy-Retriable-Header-Names", "X-Envoy-Retry-On",
	"X-Envoy-Retry-Grpc-On", "X-Envoy-Max-Retries", "X-Envoy-Upstream-Alt-Stat-Name",
	"X-Envoy-Upstream-Rq-Timeout-Ms", "X-Envoy-Upstream-Rq-Per-Try-Timeout-Ms",
	"X-Envoy-Upstream-Rq-Timeout-Alt-Response", "X-Envoy-Expected-Rq-Timeout-Ms", "X-Envoy-Force-Trace",
	"X-Envoy-Ip-Tags", "X-Envoy-Original-Url", "X-Envoy-Hedge-On-Per-Try-Timeout",
}

// markInternal applies Envoy's internal request rule: only a connection
// manager that uses the remote address trusts it, and the request is
// internal when that address is private, loopback or unique local.
// Internal requests get x-envoy-internal; the others lose the internal-only
// headers, and edge requests (remote address used, not internal) get
// x-envoy-external-address.
func markInternal(h nethttp.Header, info *Info, useRemote bool, c *downstreamConn) {
	delete(h, "X-Envoy-Internal")
	ip := c.peerIP
	info.Internal = useRemote && ip.IsValid() && (ip.IsPrivate() || ip.IsLoopback())
	if info.Internal {
		h["X-Envoy-Internal"] = []string{"true"}
		return
	}
	for _, name := range internalOnlyHeaders { // canonical names
		delete(h, name)
	}
	if useRemote && ip.IsValid() {
		h["X-Envoy-External-Address"] = []string{c.peerHost}
	}
}

// normalizePath removes dot segments (RFC 3986 5.2.4) and merges slashes.
func normalizePath(u *url.URL, dots, slashes bool) {
	p := u.EscapedPath()
	if slashes {
		for strings.Contains(p, "//") {
			p = strings.ReplaceAll(p, "//", "/")
		}
	}
	if dots {
		p = removeDotSegments(p)
	}
	if p == u.EscapedPath() {
		return
	}
	if unescaped, err := url.PathUnescape(p); err == nil {
		u.Path, u.RawPath = unescaped, p
	}
}

func removeDotSegments(p string) string {
	segs := strings.Split(p, "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		switch s {
		case ".":
			if i == len(segs)-1 {
				out = append(out, "")
			}
		case "..":
			if len(out) > 1 {
				out = out[:len(out)-1]
			}
			if i == len(segs)-1 {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	res := strings.Join(out, "/")
	if !strings.HasPrefix(res, "/") {
		res = "/" + res
	}
	return res
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	hex.Encode(s[9:13], b[4:6])
	hex.Encode(s[14:18], b[6:8])
	hex.Encode(s[19:23], b[8:10])
	hex.Encode(s[24:], b[10:16])
	s[8], s[13], s[18], s[23] = '-', '-', '-', '-'
	return string(s[:])
}
