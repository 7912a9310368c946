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
	convergence   prometheus.Histogram
	queueTime     prometheus.Histogram
	triggers      *prometheus.CounterVec
	configSize    *prometheus.HistogramVec
	internalErrs  prometheus.Counter
	skipped       prometheus.Counter
}

// istiod's buckets for convergence and queue times (seconds).
var convergenceBuckets = []float64{.1, .5, 1, 3, 5, 10, 20, 30}

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
	m.convergence = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "pilot_proxy_convergence_time",
		Help: "Delay in seconds between a configuration change and a proxy receiving all of its configuration.", Buckets: convergenceBuckets})
	m.queueTime = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "pilot_proxy_queue_time",
		Help: "Time in seconds a proxy is in the push queue before being dequeued.", Buckets: convergenceBuckets})
	m.triggers = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pilot_push_triggers",
		Help: "Number of times a push was triggered, by reason (config: a new snapshot; proxy: a proxy connected)."}, []string{"type"})
	m.configSize = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "pilot_xds_config_size_bytes",
		Help:    "Distribution of the size of one proxy's configuration of one type, in bytes.",
		Buckets: []float64{1, 10000, 1000000, 4000000, 10000000, 40000000}}, []string{"type"})
	m.internalErrs = prometheus.NewCounter(prometheus.CounterOpts{Name: "pilot_total_xds_internal_errors",
		Help: "Configurations that could not be published to a proxy."})
	m.skipped = prometheus.NewCounter(prometheus.CounterOpts{Name: "pilot_xds_push_skipped",
		Help: "Queued proxies not translated again: nothing their configuration depends on changed."})
	if reg != nil {
		reg.MustRegister(m.connected, m.pushes, m.rejects, m.translateTime, m.convergence, m.queueTime,
			m.triggers, m.configSize, m.internalErrs, m.skipped)
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

// observeSizes records the size of each type of one proxy's configuration.
func (m *Metrics) observeSizes(sets map[string]*resourceSet) {
	for typeURL, set := range sets {
		if len(set.items) > 0 {
			m.configSize.WithLabelValues(shortType(typeURL)).Observe(float64(set.size))
		}
	}
}
