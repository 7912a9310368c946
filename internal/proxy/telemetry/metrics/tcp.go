package metrics

import (
	"sync"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/cluster"
	"github.com/lateenmesh/lateen/internal/proxy/tcp"
	"github.com/lateenmesh/lateen/internal/proxy/telemetry/attrs"
)

// tcpObserver reports Istio's TCP metrics for one TCP proxy chain: a
// connection is counted as opened once its peer is known (metadata
// exchange done) or when it closes, its bytes every reporting interval
// and at close, as Istio's stats filter does.
type tcpObserver struct {
	s         *Stats
	cfg       *Config
	server    bool
	clusters  *cluster.Set
	direction string
}

func (o *tcpObserver) Begin(info *tcp.ConnInfo) func() {
	c := &tcpConn{o: o, info: info}
	c.mu.Lock()
	c.timer = time.AfterFunc(o.cfg.TCPReporting, c.tick)
	c.mu.Unlock()
	return c.end
}

// tcpConn is one observed connection.
type tcpConn struct {
	o        *tcpObserver
	info     *tcp.ConnInfo
	mu       sync.Mutex
	timer    *time.Timer
	done     bool
	opened   bool
	labels   *labelSet
	values   []string
	sent     int64
	received int64
}

func (c *tcpConn) tick() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return
	}
	c.report(false)
	c.timer.Reset(c.o.cfg.TCPReporting)
}

func (c *tcpConn) end() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done = true
	c.timer.Stop()
	c.report(true)
}

func (c *tcpConn) report(closed bool) {
	o, s := c.o, c.o.s
	ov := o.cfg.overrides
	if !c.opened {
		if !closed && !c.info.Resolved() {
			return
		}
		c.labels = newLabelSet(c.standardLabels())
		c.values = evaluate(ov, func(b *attrs.Bag) { attrs.FromTCP(b, c.info, s.node, o.direction) })
		s.record(ov, TCPConnectionsOpened, c.labels, c.values, 1)
		c.opened = true
	}
	sent, received := c.info.BytesSent.Load(), c.info.BytesReceived.Load()
	s.record(ov, TCPSentBytes, c.labels, c.values, float64(sent-c.sent))
	s.record(ov, TCPReceivedBytes, c.labels, c.values, float64(received-c.received))
	c.sent, c.received = sent, received
	if closed {
		s.record(ov, TCPConnectionsClosed, c.labels, c.values, 1)
	}
}

func (c *tcpConn) standardLabels() []Label {
	o, info := c.o, c.info
	sd := side{server: o.server, node: o.s.node}
	cl := o.clusters.Get(info.Cluster)
	down, up := info.Workloads()
	if o.server {
		sd.peer = down
	} else if sd.peer = up; sd.peer == nil {
		sd.peer = endpointPeer(cl, info.UpstreamHost())
	}
	sd.service("", "", info.Cluster, cl, true)
	if o.server {
		sd.tls(info.Peer)
	} else {
		sd.tls(info.UpstreamPeer())
	}
	flags := "-"
	if info.Failed {
		flags = "UF"
	}
	return sd.tcpLabels(flags)
}
