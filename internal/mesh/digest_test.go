package mesh

import (
	"fmt"
	"strings"
	"testing"
	"time"

	networking "istio.io/api/networking/v1alpha3"

	"github.com/lateenmesh/lateen/internal/config"
	"github.com/lateenmesh/lateen/internal/registry"
)

func TestDigestOf(t *testing.T) {
	w := &registry.Workload{Name: "a", Labels: map[string]string{"app": "a", "version": "v1"}, Ports: map[string]uint32{"http": 80}}
	same := &registry.Workload{Name: "a", Labels: map[string]string{"version": "v1", "app": "a"}, Ports: map[string]uint32{"http": 80}}
	if DigestOf(w) != DigestOf(same) {
		t.Error("equal workloads (maps built in another order) have different digests")
	}
	base := registry.Service{Hostname: "h", Ports: []registry.Port{{Name: "http", Number: 80}}, Created: time.Unix(1, 0)}
	for name, change := range map[string]func(*registry.Service){
		"hostname":  func(s *registry.Service) { s.Hostname = "g" },
		"port":      func(s *registry.Service) { s.Ports = []registry.Port{{Name: "http", Number: 81}} },
		"addresses": func(s *registry.Service) { s.Addresses = []string{"10.0.0.1"} },
		"created":   func(s *registry.Service) { s.Created = time.Unix(2, 0) },
		"source":    func(s *registry.Service) { s.Source = config.Key{Name: "x"} },
		"external":  func(s *registry.Service) { s.MeshExternal = true },
	} {
		c := base
		change(&c)
		if DigestOf(&c) == DigestOf(&base) {
			t.Errorf("changing the %s keeps the digest", name)
		}
	}
	a := &networking.DestinationRule{Host: "a", Subsets: []*networking.Subset{{Name: "v1", Labels: map[string]string{"version": "v1"}}}}
	b := &networking.DestinationRule{Host: "a", Subsets: []*networking.Subset{{Name: "v1", Labels: map[string]string{"version": "v2"}}}}
	if DigestOf(a) == DigestOf(b) {
		t.Error("different protos have the same digest")
	}
	if DigestOf("ab", "c") == DigestOf("a", "bc") {
		t.Error("the encoding is ambiguous")
	}
}

// BenchmarkServiceDigests digests 1,000 services with 10 endpoints each,
// as every new snapshot does once.
func BenchmarkServiceDigests(b *testing.B) {
	var docs []string
	for i := range 1000 {
		var eps []string
		for j := range 10 {
			eps = append(eps, fmt.Sprintf("{address: 127.251.%d.%d}", (i*10+j)/256%256, (i*10+j)%256))
		}
		docs = append(docs, fmt.Sprintf("apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: svc-%05d, namespace: ns}\nspec:\n  hosts: [svc-%05d.ns.svc.cluster.local]\n  location: MESH_INTERNAL\n  resolution: STATIC\n  ports: [{number: 8080, name: http, protocol: HTTP}]\n  endpoints: [%s]", i, i, strings.Join(eps, ", ")))
	}
	objs, rejs := config.Decode(config.Origin{File: "bench.yaml"}, []byte(strings.Join(docs, "\n---\n")))
	if len(rejs) > 0 {
		b.Fatal(rejs[0])
	}
	s := Build(config.NewSet(1, objs, nil), Options{})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s.memo.digests.services = nil
		for _, svc := range s.Registry.Services() {
			s.ServiceDigest(svc)
		}
	}
}
