package proxy

import (
	"io"
	"os"

	"github.com/lateenmesh/lateen/internal/proxy/cluster"
	proxyhttp "github.com/lateenmesh/lateen/internal/proxy/http"
	"github.com/lateenmesh/lateen/internal/proxy/tcp"
	"github.com/lateenmesh/lateen/internal/proxy/telemetry/accesslog"
	"github.com/lateenmesh/lateen/internal/proxy/telemetry/peer"
	"github.com/lateenmesh/lateen/internal/proxy/telemetry/tracing"
	"github.com/lateenmesh/lateen/internal/proxy/xdsclient"
)

// logsAndTraces are the access log writer and the tracer: their observers
// follow every connection manager (and, for access logs, TCP proxy) whose
// configuration asks for them.
type logsAndTraces struct {
	writer *accesslog.Writer
	tracer *tracing.Tracer
}

// newLogsAndTraces builds the access log writer and the tracer and
// registers their observers. It does no I/O.
func (p *Proxy) newLogsAndTraces(filters *proxyhttp.Filters, tcpFilters *tcp.Filters) {
	o := p.opts
	node := peer.New(peer.Workload{Name: o.WorkloadName, Namespace: o.Namespace, Workload: o.WorkloadName,
		Cluster: o.ClusterID, MeshID: o.MeshID, ServiceAccount: o.ServiceAccount, Labels: o.Labels})
	hostname, err := os.Hostname()
	if err != nil {
		hostname = o.WorkloadName
	}
	env := accesslog.Env{Hostname: hostname}
	var stdout io.Writer = os.Stdout
	if o.AccessLogStdout != nil {
		stdout = o.AccessLogStdout
	}
	p.logs.writer = accesslog.NewWriter(accesslog.WriterOptions{Stats: p.stats, Stdout: stdout, Logger: o.Logger})
	obs := accesslog.NewObservers(accesslog.Options{Writer: p.logs.writer, Node: node, Env: env})
	filters.RegisterObserver("access_log", obs.HTTP)
	tcpFilters.RegisterObserver("access_log", obs.TCP)
	nodeID := xdsclient.Node(xdsclient.NodeInfo{Type: o.NodeType, IP: o.IP, WorkloadName: o.WorkloadName,
		Namespace: o.Namespace, DomainSuffix: o.DomainSuffix}).GetId()
	p.logs.tracer = tracing.New(tracing.Options{NodeID: nodeID, ServiceName: node.CanonicalService + "." + o.Namespace,
		Node: node, Clusters: p.currentClusters, Stats: p.stats, Logger: o.Logger,
		FlushInterval: o.TracingFlushInterval, Env: env})
	filters.RegisterObserver("tracing", p.logs.tracer.HTTP)
}

// currentClusters returns the active configuration's clusters (nil before
// the first one).
func (p *Proxy) currentClusters() *cluster.Set {
	if g := p.runtime.Current(); g != nil {
		return g.Clusters
	}
	return nil
}
