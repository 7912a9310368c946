package xds

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/xdsclient"
)

// firstConfig is an xdsclient Applier that reports its first complete
// configuration.
type firstConfig chan *resource.Config

func (f firstConfig) Apply(cfg *resource.Config) error {
	select {
	case f <- cfg:
	default:
	}
	return nil
}

// TestLargeConfigurationReachesProxy serves a mesh whose cluster response
// is larger than gRPC's default 4 MiB limit to lateen-proxy's own ADS
// client with its default options.
func TestLargeConfigurationReachesProxy(t *testing.T) {
	if testing.Short() {
		t.Skip("translates 5,000 services")
	}
	var docs []string
	const services = 5000
	for i := range services {
		docs = append(docs, fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: svc-%04d, namespace: ns-%d}
spec:
  hosts: [svc-%04d.ns-%d.svc.cluster.local]
  ports: [{number: 8080, name: http, protocol: HTTP}]
  location: MESH_INTERNAL
  resolution: STATIC
  endpoints: [{address: 127.50.%d.%d}]`, i, i%10, i, i%10, i/250, i%250+1))
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{Listener: lis})
	s.Update(snapshotOf(t, strings.Join(docs, "\n---\n"), 1))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()

	applied := make(firstConfig, 1)
	c, err := xdsclient.New(xdsclient.Options{Address: lis.Addr().String(), Applier: applied,
		Node: xdsclient.Node(xdsclient.NodeInfo{Type: "sidecar", IP: "127.0.0.9", WorkloadName: "sleep", Namespace: "ns-0",
			InterceptionMode: "NONE"})})
	if err != nil {
		t.Fatal(err)
	}
	go c.Run(ctx) //nolint:errcheck // returns nil when ctx ends
	select {
	case cfg := <-applied:
		if len(cfg.Clusters) < services {
			t.Fatalf("got %d clusters, want at least %d", len(cfg.Clusters), services)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("no configuration applied within 2 minutes")
	}
	for _, st := range s.Status() {
		for _, ts := range st.Types {
			if ts.TypeURL == resourcev3.ClusterType && ts.Rejects > 0 {
				t.Errorf("clusters rejected: %+v", ts.LastNack)
			}
		}
	}
	size := 0
	s.cache.mu.Lock()
	for _, n := range s.cache.nodes {
		if set := n.sets[resourcev3.ClusterType]; set != nil {
			size = set.size
		}
	}
	s.cache.mu.Unlock()
	if size <= 4<<20 {
		t.Errorf("cluster response is %d bytes: the test needs more than 4 MiB", size)
	}
}
