package demo

import (
	"fmt"
	"net"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"
)

// PrometheusFile is the Prometheus configuration the demo writes into its
// state directory: `prometheus --config.file=<state>/prometheus.yml`
// scrapes every proxy's merged endpoint and pilot.
const PrometheusFile = "prometheus.yml"

// prometheusAnnotations are the scrape annotations of every workload, as
// Istio's injector leaves them with metrics merging: Prometheus scrapes
// the sidecar's :15020, which adds the app's own metrics.
func prometheusAnnotations() object {
	return object{"prometheus.io/scrape": "true", "prometheus.io/port": "15020", "prometheus.io/path": "/stats/prometheus"}
}

// appMetricsURL is where a workload's sidecar finds the app's metrics
// ("" when the app serves none).
func appMetricsURL(w *Workload) string {
	if w.AppMetrics == nil {
		return ""
	}
	host := w.Address
	if w.Netns != "" {
		host = "127.0.0.1" // as Istio's agent scrapes the app in its pod, uncaptured
	}
	return fmt.Sprintf("http://%s%s", net.JoinHostPort(host, fmt.Sprint(w.AppMetrics.Port)), w.AppMetrics.Path)
}

// PrometheusConfig is a Prometheus configuration scraping the workloads'
// merged endpoints (labelled like Kubernetes pods: namespace, pod, app,
// version) and pilot's /metrics every interval.
func PrometheusConfig(workloads []*Workload, pilotHTTP, interval string) ([]byte, error) {
	var targets []any
	for _, w := range workloads {
		labels := object{"namespace": w.Namespace, "pod": w.Name}
		for _, k := range []string{"app", "version"} {
			if v := w.Labels[k]; v != "" {
				labels[k] = v
			}
		}
		targets = append(targets, object{"targets": []any{net.JoinHostPort(w.Address, "15020")}, "labels": labels})
	}
	return yaml.Marshal(object{
		"global": object{"scrape_interval": interval, "evaluation_interval": interval},
		"scrape_configs": []any{
			object{"job_name": "envoy-stats", "metrics_path": "/stats/prometheus", "static_configs": targets},
			object{"job_name": "pilot", "metrics_path": "/metrics",
				"static_configs": []any{object{"targets": []any{pilotHTTP}, "labels": object{"app": "istiod"}}}},
		},
	})
}

func (d *demo) writePrometheusConfig() error {
	data, err := PrometheusConfig(d.workloads, d.pilotAddr(15014), "15s")
	if err != nil {
		return err
	}
	path := filepath.Join(d.opts.StateDir, PrometheusFile)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return err
	}
	d.written = append(d.written, path)
	return nil
}
