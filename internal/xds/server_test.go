package xds

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/lateenmesh/lateen/internal/config"
	"github.com/lateenmesh/lateen/internal/mesh"
	"github.com/lateenmesh/lateen/internal/wait"
)

const registryYAML = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews.default.svc.cluster.local]
  ports: [{number: 9080, name: http, protocol: HTTP}]
  resolution: STATIC
  workloadSelector: {labels: {app: reviews}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: reviews-v1, namespace: default}
spec: {address: 127.0.0.5, labels: {app: reviews, version: v1}}
`

// moreEndpointYAML adds an endpoint to the reviews service.
const moreEndpointYAML = `---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: reviews-v2, namespace: default}
spec: {address: 127.0.0.6, labels: {app: reviews, version: v2}}
`

func snapshotOf(t *testing.T, yaml string, version uint64) *mesh.Snapshot {
	t.Helper()
	objs, rejs := config.Decode(config.Origin{File: "t.yaml"}, []byte(yaml))
	if len(rejs) > 0 {
		t.Fatal(rejs)
	}
	return mesh.Build(config.NewSet(version, objs, nil), mesh.Options{})
}

func startServer(t *testing.T) (*Server, discoveryv3.AggregatedDiscoveryServiceClient) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{Listener: lis})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return s, discoveryv3.NewAggregatedDiscoveryServiceClient(conn)
}

func testNode() *corev3.Node {
	md, _ := structpb.NewStruct(map[string]any{
		"NAMESPACE": "default", "LABELS": map[string]any{"app": "sleep"}, "INTERCEPTION_MODE": "NONE",
	})
	return &corev3.Node{Id: "sidecar~127.0.0.9~sleep.default~default.svc.cluster.local", Metadata: md}
}

func recv(t *testing.T, stream discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient) *discoveryv3.DiscoveryResponse {
	t.Helper()
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// waitStatus polls the server's status until cond holds for the proxy's
// clusters.
func waitStatus(t *testing.T, s *Server, cond func(TypeStatus) bool) TypeStatus {
	t.Helper()
	var got TypeStatus
	wait.For(t, 10*time.Second, "xDS status", func() error {
		for _, p := range s.Status() {
			for _, ts := range p.Types {
				if ts.TypeURL == resourcev3.ClusterType && cond(ts) {
					got = ts
					return nil
				}
			}
		}
		return fmt.Errorf("status %+v", s.Status())
	})
	return got
}

func TestADSSendsClustersRecordsAckAndNack(t *testing.T) {
	s, client := startServer(t)
	s.Update(snapshotOf(t, registryYAML, 1))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := client.StreamAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&discoveryv3.DiscoveryRequest{Node: testNode(), TypeUrl: resourcev3.ClusterType}); err != nil {
		t.Fatal(err)
	}
	resp := recv(t, stream)
	names := map[string]bool{}
	for _, a := range resp.Resources {
		var c clusterv3.Cluster
		if err := a.UnmarshalTo(&c); err != nil {
			t.Fatal(err)
		}
		names[c.Name] = true
	}
	for _, want := range []string{"outbound|9080||reviews.default.svc.cluster.local", "PassthroughCluster", "BlackHoleCluster"} {
		if !names[want] {
			t.Errorf("missing cluster %s in %v", want, names)
		}
	}
	// ACK.
	if err := stream.Send(&discoveryv3.DiscoveryRequest{TypeUrl: resourcev3.ClusterType, VersionInfo: resp.VersionInfo, ResponseNonce: resp.Nonce}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, s, func(ts TypeStatus) bool { return ts.AckedVersion == resp.VersionInfo })

	// A change that adds a subset cluster is pushed; the proxy NACKs it.
	s.Update(snapshotOf(t, registryYAML+`---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec: {host: reviews, subsets: [{name: v1, labels: {version: v1}}]}
`, 2))
	resp2 := recv(t, stream)
	if resp2.VersionInfo == resp.VersionInfo {
		t.Fatal("version did not change")
	}
	if err := stream.Send(&discoveryv3.DiscoveryRequest{TypeUrl: resourcev3.ClusterType, VersionInfo: resp.VersionInfo,
		ResponseNonce: resp2.Nonce, ErrorDetail: &status.Status{Message: "cluster x: field y not supported"}}); err != nil {
		t.Fatal(err)
	}
	ts := waitStatus(t, s, func(ts TypeStatus) bool { return ts.LastNack != nil })
	if ts.LastNack.Version != resp2.VersionInfo || ts.LastNack.Error != "cluster x: field y not supported" || ts.AckedVersion != resp.VersionInfo {
		t.Errorf("status after NACK: %+v nack %+v", ts, ts.LastNack)
	}
	// The NACK is not answered with the rejected version again: the next
	// response comes only with the next change.
	s.Update(snapshotOf(t, registryYAML, 3))
	resp3 := recv(t, stream)
	if resp3.VersionInfo != resp.VersionInfo {
		t.Errorf("after NACK got version %s, want the next change (%s)", resp3.VersionInfo, resp.VersionInfo)
	}
}

func TestUnchangedConfigurationIsNotResent(t *testing.T) {
	s, client := startServer(t)
	s.Update(snapshotOf(t, registryYAML, 1))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := client.StreamAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	send := func(r *discoveryv3.DiscoveryRequest) {
		if err := stream.Send(r); err != nil {
			t.Fatal(err)
		}
	}
	send(&discoveryv3.DiscoveryRequest{Node: testNode(), TypeUrl: resourcev3.ClusterType})
	cds := recv(t, stream)
	send(&discoveryv3.DiscoveryRequest{TypeUrl: resourcev3.ClusterType, VersionInfo: cds.VersionInfo, ResponseNonce: cds.Nonce})
	cluster := "outbound|9080||reviews.default.svc.cluster.local"
	send(&discoveryv3.DiscoveryRequest{TypeUrl: resourcev3.EndpointType, ResourceNames: []string{cluster}})
	eds := recv(t, stream)
	send(&discoveryv3.DiscoveryRequest{TypeUrl: resourcev3.EndpointType, ResourceNames: []string{cluster}, VersionInfo: eds.VersionInfo, ResponseNonce: eds.Nonce})

	// A snapshot with the same content sends nothing; an endpoint change
	// sends endpoints only.
	s.Update(snapshotOf(t, registryYAML, 2))
	s.Update(snapshotOf(t, registryYAML+moreEndpointYAML, 3))
	next := recv(t, stream)
	if next.TypeUrl != resourcev3.EndpointType || next.VersionInfo == eds.VersionInfo {
		t.Fatalf("after an endpoint change got %s version %s; want new endpoints", next.TypeUrl, next.VersionInfo)
	}
	if ts := waitStatus(t, s, func(TypeStatus) bool { return true }); ts.Pushes != 1 {
		t.Errorf("clusters pushed %d times; an endpoint-only change must not resend clusters", ts.Pushes)
	}
}

func TestParseNode(t *testing.T) {
	p, err := ParseNode(testNode())
	if err != nil {
		t.Fatal(err)
	}
	if p.Type != mesh.Sidecar || p.IP() != "127.0.0.9" || p.WorkloadName != "sleep" || p.Namespace != "default" ||
		p.Labels["app"] != "sleep" || p.InterceptionMode != "NONE" {
		t.Errorf("parsed %+v", p)
	}
	for _, id := range []string{"", "sidecar~1.2.3.4", "gateway~1.2.3.4~a.b~c"} {
		if _, err := ParseNode(&corev3.Node{Id: id}); err == nil {
			t.Errorf("ParseNode(%q) accepted", id)
		}
	}
}
