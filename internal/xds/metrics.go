package xds

import (
	"strings"

	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the ADS server's Prometheus metrics, named as istiod's.
type Metrics struct {
	connected     prometheus.Gauge
	pushes        *prometheus.CounterVec
	rejects       *prometheus.CounterVec
	translateTime prometheus.Histogram
}

// NewMetrics creates the metrics and registers them with reg (nil: not
// registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pilot_xds", Help: "Number of proxies connected over xDS.",
		}),
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pilot_xds_pushes", Help: "xDS responses sent, by type.",
		}, []string{"type"}),
		rejects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pilot_total_xds_rejects", Help: "xDS responses rejected by proxies (NACKs), by type.",
		}, []string{"type"}),
		translateTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "pilot_xds_push_time", Help: "Seconds to translate and publish one proxy's configuration.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
		}),
	}
	if reg != nil {
		reg.MustRegister(m.connected, m.pushes, m.rejects, m.translateTime)
	}
	return m
}

// shortType names a type URL as istiod's metrics do: cds, eds, lds, rds.
func shortType(typeURL string) string {
	switch typeURL {
	case resourcev3.ClusterType:
		return "cds"
	case resourcev3.EndpointType:
		return "eds"
	case resourcev3.ListenerType:
		return "lds"
	case resourcev3.RouteType:
		return "rds"
	case resourcev3.SecretType:
		return "sds"
	}
	return typeURL[strings.LastIndex(typeURL, ".")+1:]
}

// typeOrder sorts types in the order proxies subscribe to them.
func typeOrder(typeURL string) int {
	switch typeURL {
	case resourcev3.ClusterType:
		return 0
	case resourcev3.EndpointType:
		return 1
	case resourcev3.ListenerType:
		return 2
	case resourcev3.RouteType:
		return 3
	case resourcev3.SecretType:
		return 4
	}
	return 5
}
