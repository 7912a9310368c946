package pilot

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/lateenmesh/lateen/internal/config"
	"github.com/lateenmesh/lateen/internal/mesh"
)

// Version is reported in pilot_info.
const Version = "1.31.0-lateen"

// metrics are pilot's own Prometheus metrics, named as istiod's (the xDS
// and CA ones live with those packages).
type metrics struct {
	buildTime   prometheus.Histogram
	services    prometheus.Gauge
	virtualSvcs prometheus.Gauge
	subsets     prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	start := time.Now()
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	}
	m := &metrics{
		buildTime: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "pilot_pushcontext_init_seconds",
			Help:    "Seconds to build a mesh snapshot from a configuration change.",
			Buckets: []float64{.01, .1, .5, 1, 3, 5}}),
		services:    gauge("pilot_services", "Services known to pilot."),
		virtualSvcs: gauge("pilot_virt_services", "VirtualServices known to pilot."),
		subsets:     gauge("pilot_destrule_subsets", "DestinationRule subsets known to pilot."),
	}
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "pilot_info", Help: "Pilot version."}, []string{"version"})
	info.WithLabelValues(Version).Set(1)
	uptime := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "istiod_uptime_seconds",
		Help: "Seconds since pilot started."}, func() float64 { return time.Since(start).Seconds() })
	reg.MustRegister(m.buildTime, m.services, m.virtualSvcs, m.subsets, info, uptime)
	return m
}

// snapshot records a new snapshot, built in d.
func (m *metrics) snapshot(snap *mesh.Snapshot, d time.Duration) {
	m.buildTime.Observe(d.Seconds())
	m.services.Set(float64(len(snap.Registry.Services())))
	m.virtualSvcs.Set(float64(len(snap.Config.List(config.VirtualService))))
	subsets := 0
	for _, o := range snap.Config.List(config.DestinationRule) {
		if dr, ok := o.Spec.(*networking.DestinationRule); ok {
			subsets += len(dr.GetSubsets())
		}
	}
	m.subsets.Set(float64(subsets))
}
