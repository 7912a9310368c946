package metrics

import (
	nethttp "net/http"
	"net/http/httptest"
	"testing"
	"time"

	proxyhttp "github.com/lateenmesh/lateen/internal/proxy/http"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// BenchmarkHTTPRecord measures the per-request cost of the istio.stats
// observer: labels, four series lookups and updates; with overrides, the
// CEL evaluation too.
func BenchmarkHTTPRecord(b *testing.B) {
	for _, tc := range []struct {
		name string
		cfg  *resource.StatsConfig
	}{
		{"standard", &resource.StatsConfig{}},
		{"with tag expression", &resource.StatsConfig{Metrics: []resource.StatsMetric{
			{Name: "requests_total", Dimensions: map[string]string{"request_host": "request.host"}}}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := New(workload("productpage-v1", "default"))
			c, err := Compile(tc.cfg)
			if err != nil {
				b.Fatal(err)
			}
			o := &httpObserver{s: s, cfg: c, direction: "OUTBOUND"}
			r := httptest.NewRequest("GET", "http://details:9080/details/0", nil)
			info := &proxyhttp.Info{Authority: "details:9080", ResponseCode: 200, Duration: 3 * time.Millisecond,
				UpstreamWorkload: workload("details-v1", "default"), ResponseHeader: nethttp.Header{"Content-Type": {"text/plain"}},
				BytesSent: 178, Cluster: "outbound|9080||details.default.svc.cluster.local", RouteName: "default"}
			b.ReportAllocs()
			for b.Loop() {
				o.record(r, info)
			}
		})
	}
}
