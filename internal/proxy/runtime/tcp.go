package runtime

import (
	"github.com/lateenmesh/lateen/internal/proxy/listener"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/tcp"
)

// tcpProxy builds a TCP proxy chain with the observers and exchanger of
// its network filters.
func (b *build) tcpProxy(l *resource.Listener, fc *resource.FilterChain) (listener.Handler, error) {
	p := tcp.New(fc.TCP, b.clusters, b.rt.opts.Stats, b.rt.log)
	p.Listener = l.Name
	bc := tcp.BuildContext{Clusters: b.clusters, Stats: b.rt.opts.Stats, Logger: b.rt.log,
		Listener: l.Name, Direction: l.TrafficDirection}
	if err := b.rt.opts.TCPFilters.Build(p, fc.NetworkFilters, bc); err != nil {
		return nil, err
	}
	return p, nil
}
