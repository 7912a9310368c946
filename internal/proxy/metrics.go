package proxy

import (
	"net"

	proxyhttp "github.com/lateenmesh/lateen/internal/proxy/http"
	"github.com/lateenmesh/lateen/internal/proxy/tcp"
	"github.com/lateenmesh/lateen/internal/proxy/telemetry/exchange"
	"github.com/lateenmesh/lateen/internal/proxy/telemetry/metrics"
	"github.com/lateenmesh/lateen/internal/proxy/telemetry/peer"
	"github.com/lateenmesh/lateen/internal/proxy/xdsclient"
)

// nodeInfo is this proxy's xDS node.
func (p *Proxy) nodeInfo() xdsclient.NodeInfo {
	o := p.opts
	return xdsclient.NodeInfo{Type: o.NodeType, IP: o.IP, WorkloadName: o.WorkloadName,
		Namespace: o.Namespace, DomainSuffix: o.DomainSuffix, ServiceAccount: o.ServiceAccount,
		Labels: o.Labels, InterceptionMode: o.InterceptionMode, ClusterID: o.ClusterID, MeshID: o.MeshID}
}

// newMetrics registers Istio's stats and metadata exchange filters and
// builds the Prometheus endpoints. It does no I/O.
func (p *Proxy) newMetrics(filters *proxyhttp.Filters, tcpFilters *tcp.Filters) error {
	o := p.opts
	node := xdsclient.Node(p.nodeInfo())
	md := node.GetMetadata().GetFields()
	w := peer.New(peer.Workload{ID: node.GetId(), Name: o.WorkloadName, Namespace: o.Namespace,
		Workload: o.WorkloadName, Cluster: md["CLUSTER_ID"].GetStringValue(), MeshID: md["MESH_ID"].GetStringValue(),
		ServiceAccount: o.ServiceAccount, Labels: o.Labels})
	st := metrics.New(w)
	st.Register(filters, tcpFilters)
	exchange.Register(w, filters, tcpFilters)
	var err error
	p.metrics, err = metrics.NewServer(metrics.ServerOptions{StatsAddress: o.StatsAddress,
		MergedAddress: o.MergedStatsAddress, Stats: st, Store: p.stats, InclusionPrefixes: o.StatsInclusionPrefixes,
		AppMetricsURL: o.AppMetricsURL, Version: md["ISTIO_VERSION"].GetStringValue(), Ready: p.isReady,
		Logger: o.Logger})
	return err
}

func (p *Proxy) isReady() bool {
	select {
	case <-p.runtime.Ready():
		return true
	default:
		return false
	}
}

// MetricsAddrs waits until the Prometheus endpoints are bound and returns
// their addresses (merged is "" when disabled).
func (p *Proxy) MetricsAddrs() (stats, merged string) {
	<-p.metrics.Started()
	return p.metrics.Addrs()
}

func (o *Options) metricsDefaults() {
	if o.StatsAddress == "" {
		o.StatsAddress = net.JoinHostPort(o.IP, "15090")
	}
	switch o.MergedStatsAddress {
	case "":
		o.MergedStatsAddress = net.JoinHostPort(o.IP, "15020")
	case "-":
		o.MergedStatsAddress = ""
	}
}
