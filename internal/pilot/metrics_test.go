package pilot

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lateenmesh/lateen/internal/config"
	"github.com/lateenmesh/lateen/internal/mesh"
)

func TestSnapshotMetrics(t *testing.T) {
	objs, rejs := config.Decode(config.Origin{File: "t.yaml"}, []byte(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews.default.svc.cluster.local]
  ports: [{number: 9080, name: http, protocol: HTTP}]
  resolution: STATIC
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec: {host: reviews, subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec: {hosts: [reviews], http: [{route: [{destination: {host: reviews, subset: v1}}]}]}
`))
	if len(rejs) > 0 {
		t.Fatal(rejs)
	}
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	m.snapshot(mesh.Build(config.NewSet(1, objs, nil), mesh.Options{}), 20*time.Millisecond)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		for _, mt := range f.GetMetric() {
			switch {
			case mt.GetGauge() != nil:
				got[f.GetName()] = mt.GetGauge().GetValue()
			case mt.GetHistogram() != nil:
				got[f.GetName()] = float64(mt.GetHistogram().GetSampleCount())
			}
		}
	}
	for name, want := range map[string]float64{"pilot_services": 1, "pilot_virt_services": 1, "pilot_destrule_subsets": 2,
		"pilot_pushcontext_init_seconds": 1, "pilot_info": 1} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v", name, got[name], want)
		}
	}
	if _, ok := got["istiod_uptime_seconds"]; !ok {
		t.Error("no istiod_uptime_seconds")
	}
}
