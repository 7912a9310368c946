package translate

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lateenmesh/lateen/internal/config"
	"github.com/lateenmesh/lateen/internal/mesh"
)

// benchSnapshot is a mesh of n services in 10 namespaces, each with two
// HTTP ports and two endpoints, a DestinationRule with two subsets for every
// tenth service and a VirtualService for every fifth.
func benchSnapshot(b *testing.B, n int) *mesh.Snapshot {
	b.Helper()
	var docs []string
	for i := range n {
		ns := fmt.Sprintf("ns%d", i%10)
		host := fmt.Sprintf("svc%d.%s.svc.cluster.local", i, ns)
		docs = append(docs, fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: svc%d, namespace: %s}
spec:
  hosts: [%s]
  addresses: [10.%d.%d.%d]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - {name: http, number: 8080, protocol: HTTP}
  - {name: http-admin, number: 80, protocol: HTTP}
  endpoints:
  - {address: 10.200.%d.%d, labels: {version: v1}}
  - {address: 10.201.%d.%d, labels: {version: v2}}`, i, ns, host, i/65536, (i/256)%256, i%256, i/256, i%256, i/256, i%256))
		if i%10 == 0 {
			docs = append(docs, fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: svc%d, namespace: %s}
spec:
  host: %s
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}`, i, ns, host))
		}
		if i%5 == 0 {
			docs = append(docs, fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: svc%d, namespace: %s}
spec:
  hosts: [%s]
  http:
  - match:
    - headers: {end-user: {exact: jason}}
    route:
    - destination: {host: %s, port: {number: 8080}}
  - route:
    - destination: {host: %s, port: {number: 8080}}
      weight: 90
    - destination: {host: %s, port: {number: 80}}
      weight: 10`, i, ns, host, host, host, host))
		}
	}
	objs, rejs := config.Decode(config.Origin{File: "bench.yaml"}, []byte(strings.Join(docs, "\n---\n")))
	if len(rejs) > 0 {
		b.Fatal(rejs[0])
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, o := range objs {
		o.Meta.CreationTimestamp = base.Add(time.Duration(i) * time.Second)
	}
	return mesh.Build(config.NewSet(1, objs, nil), mesh.Options{})
}

func benchProxy() *mesh.Proxy {
	return &mesh.Proxy{ID: "sidecar~10.0.0.1~sleep.ns0~ns0.svc.cluster.local", Type: mesh.Sidecar,
		IPs: []string{"10.0.0.1"}, Namespace: "ns0", WorkloadName: "sleep", InterceptionMode: mesh.InterceptNone}
}

// BenchmarkTranslate1000Services translates one sidecar's view of a mesh of
// 1,000 services (2,000 HTTP virtual hosts, 200 VirtualServices, 100
// DestinationRules).
func BenchmarkTranslate1000Services(b *testing.B) {
	view := benchSnapshot(b, 1000).ViewFor(benchProxy())
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Translate(view)
	}
}

// BenchmarkViewFor1000Services cuts the same snapshot down to one proxy's
// view (visibility, scope, host binding).
func BenchmarkViewFor1000Services(b *testing.B) {
	snap := benchSnapshot(b, 1000)
	p := benchProxy()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		snap.ViewFor(p)
	}
}
