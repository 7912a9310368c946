//go:build linux

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lateenmesh/lateen/internal/demo"
)

// promText fetches a workload's Prometheus endpoint: port 15090 (the
// proxy's own) or 15020 (merged with the app's).
func (d *Demo) promText(t *testing.T, workload, port string) string {
	t.Helper()
	w := d.workload(t, workload)
	body, err := get(d.client, "http://"+net.JoinHostPort(w.Address, port)+"/stats/prometheus")
	if err != nil {
		t.Fatalf("%s:%s: %v", workload, port, err)
	}
	return body
}

// promSum sums the samples of metric whose labels include want.
func promSum(text, metric string, want map[string]string) float64 {
	var sum float64
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), metric)
		if !ok || rest == "" || (rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		labels := map[string]string{}
		if rest[0] == '{' {
			end := strings.LastIndex(rest, "}")
			for _, kv := range strings.Split(rest[1:end], "\",") {
				k, v, _ := strings.Cut(kv, "=")
				labels[k] = strings.Trim(v, `"`)
			}
			rest = rest[end+1:]
		}
		match := true
		for k, v := range want {
			match = match && labels[k] == v
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64); match && err == nil {
			sum += v
		}
	}
	return sum
}

// metricRise waits until metric (summed over the series matching labels)
// at a workload's :15090 is exactly before+n.
func (d *Demo) metricRise(t *testing.T, workload, metric string, labels map[string]string, before, n float64) {
	t.Helper()
	eventually(t, 15*time.Second, fmt.Sprintf("%s at %s %v to rise by %v", metric, workload, labels, n), func() error {
		if got := promSum(d.promText(t, workload, "15090"), metric, labels); got != before+n {
			return fmt.Errorf("%v, want %v", got, before+n)
		}
		return nil
	})
}

// TestIstioStandardMetrics: one request from productpage to details rises
// istio_requests_total by exactly one at both proxies, with Istio's
// labels: both sides know both principals (from the mTLS handshake); the
// server side reports the connection as mutual TLS, the client side, as
// Istio's, cannot tell ("unknown").
func TestIstioStandardMetrics(t *testing.T) {
	d := sharedDemo(t)
	common := map[string]string{"source_workload": "productpage-v1", "source_workload_namespace": "default",
		"source_app": "productpage", "source_version": "v1", "destination_workload": "details-v1",
		"destination_workload_namespace": "default", "destination_app": "details", "destination_version": "v1",
		"destination_service": "details.default.svc.cluster.local", "destination_service_name": "details",
		"destination_service_namespace": "default", "request_protocol": "http", "response_code": "200",
		"response_flags": "-"}
	principals := with(common, "source_principal", "spiffe://cluster.local/ns/default/sa/bookinfo-productpage",
		"destination_principal", "spiffe://cluster.local/ns/default/sa/bookinfo-details")
	server := with(principals, "reporter", "destination", "connection_security_policy", "mutual_tls")
	client := with(principals, "reporter", "source", "connection_security_policy", "unknown")
	beforeServer := promSum(d.promText(t, "details-v1", "15090"), "istio_requests_total", server)
	beforeClient := promSum(d.promText(t, "productpage-v1", "15090"), "istio_requests_total", client)

	resp, err := d.sidecarClient(t, "productpage-v1").Get("http://details:9080/details/0")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("productpage → details: %s", resp.Status)
	}
	d.metricRise(t, "details-v1", "istio_requests_total", server, beforeServer, 1)
	d.metricRise(t, "productpage-v1", "istio_requests_total", client, beforeClient, 1)
	text := d.promText(t, "details-v1", "15090")
	if n := promSum(text, "istio_request_duration_milliseconds_count", server); n < 1 {
		t.Errorf("istio_request_duration_milliseconds_count %v", n)
	}
	for _, h := range []string{"istio_request_bytes_bucket", "istio_response_bytes_bucket"} {
		if n := promSum(text, h, with(server, "le", "+Inf")); n < 1 {
			t.Errorf("%s{le=+Inf} %v", h, n)
		}
	}
}

// TestIstioMetricsCircuitBreaker: the circuit breaker's 503s carry the
// response flag UO in the client's metrics.
func TestIstioMetricsCircuitBreaker(t *testing.T) {
	d := sharedDemo(t)
	d.apply(t, sample("httpbin-circuit-breaker.yaml"))
	c := d.sidecarClient(t, "sleep")
	labels := map[string]string{"reporter": "source", "source_workload": "sleep", "destination_service_name": "httpbin",
		"response_code": "503", "response_flags": "UO"}
	before := promSum(d.promText(t, "sleep", "15090"), "istio_requests_total", labels)
	eventually(t, propagation, "503 UO in sleep's metrics", func() error {
		codes, err := loadGet(c, "http://httpbin:8000/delay/0.1", 30, 3)
		if err != nil {
			return err
		}
		got := promSum(d.promText(t, "sleep", "15090"), "istio_requests_total", labels)
		if codes[http.StatusServiceUnavailable] == 0 || got < before+float64(codes[503]) {
			return fmt.Errorf("codes %v, istio_requests_total%v %v (before %v)", codes, labels, got, before)
		}
		return nil
	})
}

// TestIstioTCPMetrics: a TCP echo session to tcp-echo is counted at its
// sidecar, opened and closed, with its bytes both ways.
func TestIstioTCPMetrics(t *testing.T) {
	d := sharedDemo(t)
	w := d.workload(t, "tcp-echo-v1")
	labels := map[string]string{"reporter": "destination", "destination_workload": "tcp-echo-v1",
		"destination_service": "tcp-echo.default.svc.cluster.local", "request_protocol": "tcp"}
	text := d.promText(t, "tcp-echo-v1", "15090")
	before := map[string]float64{}
	for _, m := range []string{"istio_tcp_connections_opened_total", "istio_tcp_connections_closed_total",
		"istio_tcp_received_bytes_total", "istio_tcp_sent_bytes_total"} {
		before[m] = promSum(text, m, labels)
	}
	const msg = "hello metrics\n"
	c, err := net.DialTimeout("tcp", net.JoinHostPort(w.Address, "9000"), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.Contains(line, strings.TrimSpace(msg)) {
		t.Fatalf("echo %q, %v", line, err)
	}
	c.Close()
	d.metricRise(t, "tcp-echo-v1", "istio_tcp_connections_closed_total", labels, before["istio_tcp_connections_closed_total"], 1)
	text = d.promText(t, "tcp-echo-v1", "15090")
	if got := promSum(text, "istio_tcp_connections_opened_total", labels); got != before["istio_tcp_connections_opened_total"]+1 {
		t.Errorf("opened %v, want %v", got, before["istio_tcp_connections_opened_total"]+1)
	}
	if got := promSum(text, "istio_tcp_received_bytes_total", labels) - before["istio_tcp_received_bytes_total"]; got != float64(len(msg)) {
		t.Errorf("received bytes rose by %v, want %d", got, len(msg))
	}
	if got := promSum(text, "istio_tcp_sent_bytes_total", labels) - before["istio_tcp_sent_bytes_total"]; got != float64(len(line)) {
		t.Errorf("sent bytes rose by %v, want %d", got, len(line))
	}
}

// TestMergedMetrics: a sidecar's :15020 serves its own metrics and its
// app's (productpage's request_result_total), :15090 only its own.
func TestMergedMetrics(t *testing.T) {
	d := sharedDemo(t)
	if _, err := d.productPage(d.client); err != nil {
		t.Fatal(err)
	}
	merged := d.promText(t, "productpage-v1", "15020")
	if promSum(merged, "request_result_total", map[string]string{"destination_app": "details"}) < 1 {
		t.Errorf("no app metric request_result_total{destination_app=details} on :15020")
	}
	if promSum(merged, "envoy_server_live", nil) != 1 || promSum(merged, "istio_requests_total", nil) < 1 {
		t.Errorf(":15020 lacks the proxy's metrics")
	}
	if own := d.promText(t, "productpage-v1", "15090"); strings.Contains(own, "request_result_total") {
		t.Errorf(":15090 has the app's metrics")
	}
}

// TestPrometheusScrapesDemo runs a real Prometheus (Debian's package,
// installed by .ci/run) on the demo's generated configuration, scraping
// every proxy's :15020 and pilot every second, and checks PromQL over
// Istio's standard metrics: the request count through the ingress, its
// rate, the productpage → reviews split, the app's own metric, pilot's.
func TestPrometheusScrapesDemo(t *testing.T) {
	d := sharedDemo(t)
	promURL := startPrometheus(t, d)
	q := func(query string) (map[string]float64, error) { return promQuery(promURL, query) }
	const dest = `reporter="destination",destination_workload="productpage-v1",response_code="200"`
	eventually(t, time.Minute, "Prometheus scraping productpage's sidecar", func() error {
		_, err := single(q(`sum(istio_requests_total{` + dest + `}) or vector(0)`))
		if err != nil {
			return err
		}
		up, err := q(`sum(up{job="envoy-stats"})`)
		if err != nil || up[""] != float64(len(d.Workloads)) {
			return fmt.Errorf("targets up: %v, %v (want %d)", up, err, len(d.Workloads))
		}
		return nil
	})
	before, err := single(q(`sum(istio_requests_total{` + dest + `}) or vector(0)`))
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	for range n {
		if _, err := d.productPage(d.client); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, time.Minute, "Prometheus counting the pages", func() error {
		after, err := single(q(`sum(istio_requests_total{` + dest + `})`))
		if err != nil || after != before+n {
			return fmt.Errorf("productpage requests %v (before %v, want +%d): %v", after, before, n, err)
		}
		rate, err := single(q(`sum(rate(istio_requests_total{` + dest + `}[30s]))`))
		if err != nil || rate <= 0 {
			return fmt.Errorf("rate %v, %v", rate, err)
		}
		split, err := q(`sum by (destination_workload) (increase(istio_requests_total{reporter="source",source_workload="productpage-v1",destination_service_name="reviews"}[5m]))`)
		if err != nil || len(split) < 2 {
			return fmt.Errorf("productpage → reviews by version %v, %v", split, err)
		}
		app, err := single(q(`sum(request_result_total{destination_app="details"})`))
		if err != nil || app < n {
			return fmt.Errorf("app metric request_result_total %v, %v", app, err)
		}
		proxies, err := single(q(`max(pilot_xds)`))
		if err != nil || proxies != float64(len(d.Workloads)) {
			return fmt.Errorf("pilot_xds %v, %v (want %d)", proxies, err, len(d.Workloads))
		}
		return nil
	})
}

// startPrometheus runs prometheus on the demo's configuration with a 1 s
// scrape interval and returns its URL.
func startPrometheus(t *testing.T, d *Demo) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("prometheus is not installed (.ci/run installs Debian's package)")
		}
		t.Skip("prometheus is not installed (apt-get install prometheus)")
	}
	dir := t.TempDir()
	cfg, err := demo.PrometheusConfig(d.Workloads, d.State.PilotHTTP, "1s")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr, "--log.level=warn")
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logf.Name()); err == nil {
				t.Logf("prometheus log:\n%s", b)
			}
		}
	})
	u := "http://" + addr
	eventually(t, time.Minute, "Prometheus ready", func() error {
		_, err := get(d.client, u+"/-/ready")
		return err
	})
	return u
}

// promQuery runs an instant PromQL query and returns its vector, keyed by
// the result's labels (rendered k=v,...; "" for none).
func promQuery(base, query string) (map[string]float64, error) {
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var doc struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return nil, err
	}
	if doc.Status != "success" {
		return nil, fmt.Errorf("query %s: %s", query, doc.Error)
	}
	out := map[string]float64{}
	for _, r := range doc.Data.Result {
		var keys []string
		for k, v := range r.Metric {
			keys = append(keys, k+"="+v)
		}
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("query %s: value %v", query, r.Value[1])
		}
		out[strings.Join(keys, ",")] = v
	}
	return out, nil
}

// single is the only value of a query without labels.
func single(m map[string]float64, err error) (float64, error) {
	if err != nil {
		return 0, err
	}
	v, ok := m[""]
	if !ok || len(m) != 1 {
		return 0, fmt.Errorf("want one unlabelled value, got %v", m)
	}
	return v, nil
}

func with(m map[string]string, kv ...string) map[string]string {
	out := make(map[string]string, len(m)+len(kv)/2)
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}
