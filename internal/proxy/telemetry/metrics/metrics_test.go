package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lateenmesh/lateen/internal/proxy/cluster"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/stats"
	"github.com/lateenmesh/lateen/internal/proxy/telemetry/peer"
)

func TestWriteText(t *testing.T) {
	r := NewRegistry()
	c := r.Family("istio_requests_total", Counter, nil)
	c.With([]Label{{"reporter", "source"}, {"x", `a"b\c` + "\n"}}).Add(2)
	h := r.Family("istio_request_duration_milliseconds", Histogram, []float64{1, 10, 1000000})
	s := h.With([]Label{{"reporter", "source"}})
	h.Observe(s, 0.5)
	h.Observe(s, 10)
	h.Observe(s, 5000000)
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := `# TYPE istio_request_duration_milliseconds histogram
istio_request_duration_milliseconds_bucket{reporter="source",le="1"} 1
istio_request_duration_milliseconds_bucket{reporter="source",le="10"} 2
istio_request_duration_milliseconds_bucket{reporter="source",le="1e+06"} 2
istio_request_duration_milliseconds_bucket{reporter="source",le="+Inf"} 3
istio_request_duration_milliseconds_sum{reporter="source"} 5.0000105e+06
istio_request_duration_milliseconds_count{reporter="source"} 3
# TYPE istio_requests_total counter
istio_requests_total{reporter="source",x="a\"b\\c\n"} 2
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("exposition (-want +got):\n%s", diff)
	}
}

func workload(name, ns string) *peer.Workload {
	return peer.New(peer.Workload{Workload: name, Namespace: ns, Cluster: "Kubernetes",
		Labels: map[string]string{"app": strings.Split(name, "-")[0], "version": "v1"}})
}

func labelMap(ls []Label) map[string]string {
	m := map[string]string{}
	for _, l := range ls {
		m[l.Name] = l.Value
	}
	return m
}

func TestLabels(t *testing.T) {
	details := &cluster.Cluster{Config: &resource.Cluster{Name: "outbound|9080||details.default.svc.cluster.local",
		Service: &resource.ClusterService{Host: "details.default.svc.cluster.local", Name: "details", Namespace: "default"}}}
	for _, tc := range []struct {
		name string
		sd   side
		host string
		cl   *cluster.Cluster
		want map[string]string
	}{{
		name: "server with mTLS and peer",
		sd: side{server: true, node: workload("details-v1", "default"), peer: workload("productpage-v1", "default"),
			peerSAN: "spiffe://cluster.local/ns/default/sa/bookinfo-productpage", mtls: true},
		host: "details:9080",
		cl: &cluster.Cluster{Config: &resource.Cluster{Name: "inbound|9080||",
			Service: &resource.ClusterService{Host: "details.default.svc.cluster.local", Name: "details", Namespace: "default"}}},
		want: map[string]string{"reporter": "destination", "source_workload": "productpage-v1", "source_app": "productpage",
			"source_principal": "spiffe://cluster.local/ns/default/sa/bookinfo-productpage", "source_workload_namespace": "default",
			"destination_workload": "details-v1", "destination_service": "details.default.svc.cluster.local",
			"destination_service_name": "details", "destination_principal": "unknown",
			"connection_security_policy": "mutual_tls", "source_canonical_revision": "v1"},
	}, {
		name: "client, peer unknown",
		sd:   side{node: workload("productpage-v1", "default")},
		host: "details:9080",
		cl:   details,
		want: map[string]string{"reporter": "source", "source_workload": "productpage-v1", "destination_workload": "unknown",
			"destination_workload_namespace": "unknown", "destination_service": "details.default.svc.cluster.local",
			"destination_service_name": "details", "destination_canonical_revision": "latest",
			"connection_security_policy": "unknown"},
	}, {
		name: "server without TLS, no cluster metadata: canonical service",
		sd:   side{server: true, node: workload("details-v1", "default")},
		host: "details:9080",
		want: map[string]string{"destination_service": "details", "source_workload": "unknown",
			"connection_security_policy": "none", "source_canonical_revision": "latest"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			name := ""
			if tc.cl != nil {
				name = tc.cl.Config.Name
			}
			tc.sd.service(tc.host, "default", name, tc.cl, tc.sd.server)
			got := labelMap(tc.sd.httpLabels(false, 200, "", "-"))
			if len(got) != len(standardTags) {
				t.Errorf("got %d labels, want %d", len(got), len(standardTags))
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestServiceFallbacks(t *testing.T) {
	var s side
	s.service("httpbin.org", "allow_any", "PassthroughCluster", nil, false)
	if s.serviceHost != "httpbin.org" || s.serviceName != "PassthroughCluster" {
		t.Errorf("allow_any: host %q name %q", s.serviceHost, s.serviceName)
	}
	s = side{}
	s.service("nowhere", "block_all", "BlackHoleCluster", nil, false)
	if s.serviceName != "BlackHoleCluster" {
		t.Errorf("block_all: name %q", s.serviceName)
	}
}

func TestCompileOverrides(t *testing.T) {
	c, err := Compile(&resource.StatsConfig{DisableHostHeaderFallback: true, TCPReportingDuration: 2 * time.Second,
		Metrics: []resource.StatsMetric{
			{Name: "requests_total", Dimensions: map[string]string{"request_host": "request.host",
				"source_app": `"x-" + request.method`}, TagsToRemove: []string{"response_flags"}},
			{Name: "request_bytes", Drop: true},
			{TagsToRemove: []string{"source_cluster"}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	if !c.DisableHostHeaderFallback || c.TCPReporting != 2*time.Second {
		t.Errorf("config %+v", c)
	}
	o := c.overrides
	if !o.dropped(RequestBytes) || o.dropped(RequestsTotal) {
		t.Errorf("dropped: request_bytes %v requests_total %v", o.dropped(RequestBytes), o.dropped(RequestsTotal))
	}
	values := []string{"reviews", "x-GET"}
	if o.exprs[0].String() != "request.host" {
		values = []string{"x-GET", "reviews"}
	}
	got := labelMap(o.apply(RequestsTotal, []Label{{"reporter", "source"}, {"source_app", "productpage"},
		{"response_flags", "-"}, {"source_cluster", "Kubernetes"}}, values))
	want := map[string]string{"reporter": "source", "source_app": "x-GET", "request_host": "reviews"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests_total labels (-want +got):\n%s", diff)
	}
	got = labelMap(o.apply(ResponseBytes, []Label{{"reporter", "source"}, {"source_cluster", "Kubernetes"}}, values))
	if diff := cmp.Diff(map[string]string{"reporter": "source"}, got); diff != "" {
		t.Errorf("response_bytes labels (-want +got):\n%s", diff)
	}
	if d, _ := Compile(&resource.StatsConfig{}); d.TCPReporting != defaultTCPReporting || d.overrides != nil {
		t.Errorf("defaults %+v", d)
	}
}

func TestCompileRejects(t *testing.T) {
	for name, m := range map[string]resource.StatsMetric{
		"bad expression": {Dimensions: map[string]string{"x": "request.host =="}},
		"unknown root":   {Dimensions: map[string]string{"x": "requst.host"}},
		"unknown metric": {Name: "my_metric", Drop: true},
		"remove unknown": {TagsToRemove: []string{"nope"}},
	} {
		if _, err := Compile(&resource.StatsConfig{Metrics: []resource.StatsMetric{m}}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestPromName(t *testing.T) {
	for _, tc := range []struct {
		in     string
		name   string
		labels []Label
	}{
		{"cluster.outbound|9080||reviews.default.svc.cluster.local.upstream_rq_total", "envoy_cluster_upstream_rq_total",
			[]Label{{"cluster_name", "outbound|9080||reviews.default.svc.cluster.local"}}},
		{"cluster.outbound|80||httpbin.org.upstream_rq_503", "envoy_cluster_upstream_rq",
			[]Label{{"cluster_name", "outbound|80||httpbin.org"}, {"response_code", "503"}}},
		{"cluster.x.outlier_detection.ejections_active", "envoy_cluster_outlier_detection_ejections_active",
			[]Label{{"cluster_name", "x"}}},
		{"http.inbound_127.0.0.1_9080.downstream_rq_2xx", "envoy_http_downstream_rq",
			[]Label{{"http_conn_manager_prefix", "inbound_127.0.0.1_9080"}, {"response_code_class", "2xx"}}},
		{"listener.127.0.0.1_9080.downstream_cx_total", "envoy_listener_downstream_cx_total",
			[]Label{{"listener_address", "127.0.0.1_9080"}}},
		{"tcp.inbound|9000||.downstream_cx_total", "envoy_tcp_downstream_cx_total", []Label{{"tcp_prefix", "inbound|9000||"}}},
		{"server.live", "envoy_server_live", nil},
		{"cluster_manager.cds.update_success", "envoy_cluster_manager_cds_update_success", nil},
	} {
		name, labels := promName(tc.in)
		if name != tc.name || !cmp.Equal(labels, tc.labels) {
			t.Errorf("%s: got %s %v, want %s %v", tc.in, name, labels, tc.name, tc.labels)
		}
	}
}

func TestWriteEnvoyStats(t *testing.T) {
	s := stats.New()
	s.Counter("cluster.a.upstream_rq_200").Add(3)
	s.Counter("cluster.b.upstream_rq_200").Add(1)
	s.Gauge("server.live").Set(1)
	var b strings.Builder
	if err := WriteEnvoyStats(&b, s.Snapshot(), []string{"server.", "cluster."}); err != nil {
		t.Fatal(err)
	}
	want := `# TYPE envoy_cluster_upstream_rq counter
envoy_cluster_upstream_rq{cluster_name="a",response_code="200"} 3
envoy_cluster_upstream_rq{cluster_name="b",response_code="200"} 1
# TYPE envoy_server_live gauge
envoy_server_live 1
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
