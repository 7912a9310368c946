package runtime

import (
	"fmt"
	"net"
	"sort"
	"strconv"

	"github.com/lateenmesh/lateen/internal/proxy/cluster"
	proxyhttp "github.com/lateenmesh/lateen/internal/proxy/http"
	"github.com/lateenmesh/lateen/internal/proxy/listener"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/tcp"
)

// build is one Apply's work in progress; it changes nothing shared.
type build struct {
	rt       *Runtime
	cfg      *resource.Config
	clusters *cluster.Set
	tables   map[string]*proxyhttp.RouteTable
	slots    map[string]*proxyhttp.Slot
	cms      map[string]*proxyhttp.ConnManager
}

func (b *build) listeners() ([]listener.Spec, error) {
	b.tables = make(map[string]*proxyhttp.RouteTable, len(b.cfg.Routes))
	for name, rc := range b.cfg.Routes {
		t, err := proxyhttp.NewRouteTable(rc)
		if err != nil {
			return nil, wrap("RouteConfiguration", name, err)
		}
		b.tables[name] = t
	}
	names := make([]string, 0, len(b.cfg.Listeners))
	for name := range b.cfg.Listeners {
		names = append(names, name)
	}
	sort.Strings(names)
	specs := make([]listener.Spec, 0, len(names))
	for _, name := range names {
		l := b.cfg.Listeners[name]
		sel, err := b.selector(l)
		if err != nil {
			return nil, wrap("Listener", name, err)
		}
		specs = append(specs, listener.Spec{Name: name, Address: b.rt.bindAddress(l), Handler: sel})
	}
	return specs, nil
}

func (b *build) selector(l *resource.Listener) (*selector, error) {
	sel := &selector{}
	for i, fc := range l.Chains() {
		path := fmt.Sprintf("filter_chains[%d]", i)
		if fc == l.DefaultChain {
			path = "default_filter_chain"
		}
		h, err := b.chainHandler(l, fc, path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		c := chain{match: fc.Match, handler: h}
		if fc == l.DefaultChain {
			sel.fallback = &c
		} else {
			sel.chains = append(sel.chains, c)
		}
	}
	return sel, nil
}

func (b *build) chainHandler(l *resource.Listener, fc *resource.FilterChain, key string) (listener.Handler, error) {
	bc := proxyhttp.BuildContext{Clusters: b.clusters, Stats: b.rt.opts.Stats, Logger: b.rt.log}
	if fc.TCP != nil {
		return tcp.New(fc.TCP, b.clusters, b.rt.opts.Stats, b.rt.log), nil
	}
	table := b.tables[fc.HTTP.RDSName]
	if fc.HTTP.RouteConfig != nil {
		t, err := proxyhttp.NewRouteTable(fc.HTTP.RouteConfig)
		if err != nil {
			return nil, fmt.Errorf("route_config: %w", err)
		}
		table = t
	}
	if table == nil {
		return nil, fmt.Errorf("RouteConfiguration %q missing", fc.HTTP.RDSName)
	}
	cm, err := proxyhttp.NewConnManager(fc.HTTP, table, b.rt.opts.Filters, bc)
	if err != nil {
		return nil, err
	}
	slotKey := l.Name + "/" + key
	slot := b.rt.slots[slotKey]
	if slot == nil {
		slot = &proxyhttp.Slot{}
	}
	b.slots[slotKey], b.cms[slotKey] = slot, cm
	return &httpHandler{server: b.rt.opts.HTTP, slot: slot, listener: l.Name}, nil
}

// httpHandler hands connections to the shared HTTP server.
type httpHandler struct {
	server   *proxyhttp.Server
	slot     *proxyhttp.Slot
	listener string
}

func (h *httpHandler) ServeConn(c net.Conn) { h.server.ServeConn(c, h.slot, h.listener) }

// selector picks a connection's filter chain. Only plaintext connections
// exist yet (no TLS or HTTP inspector): chains that require transport
// protocol "tls", server names or application protocols never match.
type selector struct {
	chains   []chain
	fallback *chain
}

type chain struct {
	match   resource.FilterChainMatch
	handler listener.Handler
}

func (s *selector) ServeConn(c net.Conn) {
	if ch := s.pick(localPort(c)); ch != nil {
		ch.handler.ServeConn(c)
		return
	}
	_ = c.Close() // no matching filter chain
}

// pick prefers chains naming the destination port over chains without one.
func (s *selector) pick(port uint32) *chain {
	var any *chain
	for i := range s.chains {
		m := &s.chains[i].match
		if m.TransportProtocol == "tls" || len(m.ServerNames) > 0 || len(m.ApplicationProtocols) > 0 {
			continue
		}
		if m.DestinationPort == port {
			return &s.chains[i]
		}
		if m.DestinationPort == 0 && any == nil {
			any = &s.chains[i]
		}
	}
	if any != nil {
		return any
	}
	return s.fallback
}

func localPort(c net.Conn) uint32 {
	_, p, err := net.SplitHostPort(c.LocalAddr().String())
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return uint32(n)
}
