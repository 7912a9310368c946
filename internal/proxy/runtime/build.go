package runtime

import (
	"fmt"
	"net"
	"sort"

	"github.com/lateenmesh/lateen/internal/proxy/cluster"
	proxyhttp "github.com/lateenmesh/lateen/internal/proxy/http"
	"github.com/lateenmesh/lateen/internal/proxy/listener"
	"github.com/lateenmesh/lateen/internal/proxy/mtls"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// build is one Apply's work in progress; it changes nothing shared.
type build struct {
	rt       *Runtime
	cfg      *resource.Config
	clusters *cluster.Set
	tables   map[string]*proxyhttp.RouteTable
	slots    map[string]*proxyhttp.Slot
	cms      map[string]*proxyhttp.ConnManager
	secrets  *mtls.Secrets
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
		specs = append(specs, b.listenerSpec(name, l, sel))
	}
	return specs, nil
}

func (b *build) selector(l *resource.Listener) (*listener.Selector, error) {
	sel := &listener.Selector{Inspect: l.TLSInspector, Timeout: l.FiltersTimeout, ContinueOnTimeout: l.ContinueOnFiltersTimeout,
		NoMatch: b.rt.opts.Stats.Counter("listener." + b.rt.bindAddress(l) + ".no_filter_chain_match"), Logger: b.rt.log}
	for i, fc := range l.Chains() {
		path := fmt.Sprintf("filter_chains[%d]", i)
		if fc == l.DefaultChain {
			path = "default_filter_chain"
		}
		h, err := b.chainHandler(l, fc, path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if fc.TLS != nil {
			h = mtls.NewServerHandler(mtls.NewServer(fc.TLS, b.secrets), h, b.rt.opts.Stats,
				"listener."+b.rt.bindAddress(l)+".", b.rt.log)
		}
		c := listener.Chain{Match: fc.Match, Handler: h}
		if fc == l.DefaultChain {
			sel.Default = &c
		} else {
			sel.Chains = append(sel.Chains, c)
		}
	}
	return sel, nil
}

func (b *build) chainHandler(l *resource.Listener, fc *resource.FilterChain, key string) (listener.Handler, error) {
	bc := proxyhttp.BuildContext{Clusters: b.clusters, Stats: b.rt.opts.Stats, Logger: b.rt.log,
		Listener: l.Name, Direction: l.TrafficDirection}
	if fc.TCP != nil {
		return b.tcpProxy(l, fc)
	}
	if len(fc.NetworkFilters) > 0 {
		return nil, fmt.Errorf("network filter %q before http_connection_manager: not supported by lateen-proxy", fc.NetworkFilters[0].TypeURL)
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
