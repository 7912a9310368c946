package xdsclient

import (
	"hash/fnv"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/stats"
)

// health is the proxy's view of its control plane, as Envoy's stats:
// control_plane.connected_state, and per xDS type update_attempt,
// update_success, update_rejected and version (a hash of version_info):
// cluster_manager.cds.*, listener_manager.lds.*, control_plane.{eds,rds,sds}.*.
type health struct {
	connected *stats.Gauge
	types     map[string]*typeHealth
}

type typeHealth struct {
	attempt, success, rejected *stats.Counter
	version                    *stats.Gauge
}

var healthPrefix = map[string]string{
	resource.ClusterType:  "cluster_manager.cds.",
	resource.ListenerType: "listener_manager.lds.",
	resource.EndpointType: "control_plane.eds.",
	resource.RouteType:    "control_plane.rds.",
	resource.SecretType:   "control_plane.sds.",
}

func newHealth(s *stats.Store) *health {
	if s == nil {
		return nil
	}
	h := &health{connected: s.Gauge("control_plane.connected_state"), types: map[string]*typeHealth{}}
	for typeURL, p := range healthPrefix {
		h.types[typeURL] = &typeHealth{attempt: s.Counter(p + "update_attempt"), success: s.Counter(p + "update_success"),
			rejected: s.Counter(p + "update_rejected"), version: s.Gauge(p + "version")}
	}
	return h
}

func (h *health) setConnected(up bool) {
	if h == nil {
		return
	}
	v := int64(0)
	if up {
		v = 1
	}
	h.connected.Set(v)
}

// update records one response of a type, accepted (err nil) or not.
func (h *health) update(typeURL, version string, err error) {
	if h == nil || h.types[typeURL] == nil {
		return
	}
	th := h.types[typeURL]
	th.attempt.Inc()
	if err != nil {
		th.rejected.Inc()
		return
	}
	th.success.Inc()
	f := fnv.New64a()
	_, _ = f.Write([]byte(version))
	th.version.Set(int64(f.Sum64() & (1<<53 - 1))) // exact as a Prometheus float
}
