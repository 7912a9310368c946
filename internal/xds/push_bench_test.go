package xds

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/lateenmesh/lateen/internal/config"
	"github.com/lateenmesh/lateen/internal/mesh"
)

// benchMesh is the control-plane benchmark's mesh (bench/controlplane):
// services spread over 10 namespaces, 10 endpoints each, namespaces 0-4
// scoped to themselves by a Sidecar; extra adds that many endpoints to
// the second service of namespace 0 and vs names a VirtualService's
// route prefix.
func benchMesh(services, extra int, vs string) []string {
	var docs []string
	for i := range services {
		ns := fmt.Sprintf("ns-%02d", i%10)
		var eps []string
		n := 10
		if i == 10 {
			n += extra
		}
		for j := range n {
			eps = append(eps, fmt.Sprintf("{address: 127.251.%d.%d}", (i*10+j)/256%256, (i*10+j)%256))
		}
		docs = append(docs, fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: svc-%05d, namespace: %s}
spec:
  hosts: [svc-%05d.%s.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 8080, name: http, protocol: HTTP}]
  endpoints: [%s]`, i, ns, i, ns, strings.Join(eps, ", ")))
	}
	for ns := range 5 {
		docs = append(docs, fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: ns-%02d}
spec:
  egress: [{hosts: ["./*"]}]`, ns))
	}
	docs = append(docs, fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: ns-00}
spec:
  hosts: [svc-00000.ns-00.svc.cluster.local]
  http:
  - match: [{uri: {prefix: /%s}}]
    route: [{destination: {host: svc-00000.ns-00.svc.cluster.local}}]
  - route: [{destination: {host: svc-00000.ns-00.svc.cluster.local}}]`, vs))
	return docs
}

func benchMeshSnapshot(b *testing.B, version uint64, docs []string) *mesh.Snapshot {
	b.Helper()
	objs, rejs := config.Decode(config.Origin{File: "bench.yaml"}, []byte(strings.Join(docs, "\n---\n")))
	if len(rejs) > 0 {
		b.Fatal(rejs[0])
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, o := range objs {
		o.Meta.CreationTimestamp = base.Add(time.Duration(i) * time.Second)
	}
	return mesh.Build(config.NewSet(version, objs, nil), mesh.Options{})
}

func benchNode(i int) *corev3.Node {
	ns := fmt.Sprintf("ns-%02d", i%10)
	md, _ := structpb.NewStruct(map[string]any{"NAMESPACE": ns, "LABELS": map[string]any{"app": "sim"},
		"INTERCEPTION_MODE": "NONE", "SERVICE_ACCOUNT": "sim"})
	return &corev3.Node{Id: fmt.Sprintf("sidecar~127.252.%d.%d~sim-%04d.%s~%s.svc.cluster.local", i/256, i%256, i, ns, ns), Metadata: md}
}

// BenchmarkPushEndpointChange measures pilot's work for one endpoint
// change to 500 connected proxies over 1,000 services: the snapshot is
// rebuilt, every proxy is considered, the affected ones (60%) are
// translated and their sets computed (no gRPC).
func BenchmarkPushEndpointChange(b *testing.B) {
	const proxies = 500
	s := New(Options{})
	for i := range proxies {
		if _, err := s.register(int64(i+1), benchNode(i)); err != nil {
			b.Fatal(err)
		}
	}
	s.queue = newPushQueue()
	pushAll := func() (pushed int) {
		for id := range s.proxies {
			if s.push(id) {
				pushed++
			}
		}
		return pushed
	}
	s.Update(benchMeshSnapshot(b, 1, benchMesh(1000, 0, "a")))
	pushAll()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		snap := benchMeshSnapshot(b, uint64(i+2), benchMesh(1000, i%2+1, "a"))
		b.StartTimer()
		s.Update(snap)
		if n := pushAll(); n != proxies*6/10 {
			b.Fatalf("%d proxies translated, want %d", n, proxies*6/10)
		}
	}
}
