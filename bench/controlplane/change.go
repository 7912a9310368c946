package controlplane

import (
	"context"
	"fmt"
	"time"

	"github.com/lateenmesh/lateen/bench/proc"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// changeKind is one kind of configuration change: a marker that appears in
// the xDS resources it produces, the types that must carry the marker (and
// be ACKed) for a proxy to count as updated, and the edit itself.
type changeKind struct {
	name, description string
	types             []string
	marker            func(m *mesh, k int) string
	apply             func(m *mesh, marker string) error
}

var changeKinds = []changeKind{
	{
		name: "virtualservice", description: "one VirtualService edited (a route added for a namespace-0 service)",
		types:  []string{resource.RouteType},
		marker: func(_ *mesh, k int) string { return fmt.Sprintf("bench-rev-%d", k) },
		apply:  func(m *mesh, marker string) error { return m.editVirtualService(marker) },
	},
	{
		name: "endpoint", description: "one endpoint added to a namespace-0 service",
		types:  []string{resource.EndpointType},
		marker: func(m *mesh, _ int) string { return m.address() },
		apply:  func(m *mesh, marker string) error { return m.addEndpoint(marker) },
	},
	{
		name: "service", description: "one service (with its endpoints) added to namespace 0",
		types:  []string{resource.ClusterType, resource.EndpointType, resource.RouteType},
		marker: func(m *mesh, k int) string { return m.newServiceHost(k) },
		apply:  func(m *mesh, marker string) error { return m.addService(marker) },
	},
}

// measurement is one change.
type measurement struct {
	latencies               []time.Duration // of the affected proxies that ACKed
	delivered               []time.Duration // until their last marked response arrived
	affected, missing       int
	unneeded, leaked, nacks int
	responses               int
	bytes                   int64
	receivers               int // proxies that received anything
	translations            float64
	pilotCPU                time.Duration
}

// quietFor is how long no proxy may receive anything for a change to be
// over (late and unneeded pushes are counted until then).
const quietFor = time.Second

// change makes one change and measures it.
func (b *bench) change(ctx context.Context, kind changeKind) (measurement, error) {
	b.changes++
	w := &watch{marker: []byte(kind.marker(b.mesh, b.changes)), types: kind.types}
	var m measurement
	b.hub.done.Store(0)
	for _, p := range b.proxies {
		p.setWatch(w)
		if b.mesh.affected(p.namespace) {
			m.affected++
		}
	}
	defer func() {
		for _, p := range b.proxies {
			p.setWatch(nil)
		}
	}()
	translations, _ := b.pilot.Metric("pilot_xds_push_time_count")
	cpu, err := proc.Read(b.pilot.PID())
	if err != nil {
		return m, err
	}
	w.start = time.Now()
	if err := kind.apply(b.mesh, string(w.marker)); err != nil {
		return m, err
	}
	b.waitDone(ctx, int64(m.affected))
	b.quiesce(ctx, quietFor, 15*time.Second)
	if after, err := b.pilot.Metric("pilot_xds_push_time_count"); err == nil {
		m.translations = after - translations
	}
	if after, err := proc.Read(b.pilot.PID()); err == nil {
		m.pilotCPU = after.CPU - cpu.CPU
	}
	b.collect(w, &m)
	if err := b.group.Exited(); err != nil {
		return m, err
	}
	return m, ctx.Err()
}

func (b *bench) collect(w *watch, m *measurement) {
	for _, p := range b.proxies {
		r := p.result()
		m.responses += r.responses
		m.bytes += r.bytes
		m.nacks += r.nacks
		if r.responses > 0 {
			m.receivers++
		}
		if !b.mesh.affected(p.namespace) {
			if r.responses > 0 {
				m.unneeded++
			}
			if len(r.marked) > 0 {
				m.leaked++
			}
			continue
		}
		if r.done.IsZero() {
			m.missing++
			continue
		}
		m.latencies = append(m.latencies, r.done.Sub(w.start))
		if !r.delivered.IsZero() {
			m.delivered = append(m.delivered, r.delivered.Sub(w.start))
		}
	}
}

// waitDone returns when n proxies completed the current change, or after
// the timeout.
func (b *bench) waitDone(ctx context.Context, n int64) {
	timeout := time.NewTimer(b.o.Timeout)
	defer timeout.Stop()
	for b.hub.done.Load() < n {
		select {
		case <-b.hub.progress:
		case <-timeout.C:
			b.o.Logger.Warn("change not acknowledged by every affected proxy", "component", "controlplane",
				"done", b.hub.done.Load(), "affected", n, "timeout", b.o.Timeout)
			return
		case <-ctx.Done():
			return
		}
	}
}

// quiesce waits until no proxy received anything for quiet, at most max.
func (b *bench) quiesce(ctx context.Context, quiet, most time.Duration) {
	deadline := time.Now().Add(most)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		last := time.Unix(0, b.hub.lastResponse.Load())
		if time.Since(last) >= quiet {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
