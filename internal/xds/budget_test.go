package xds

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/lateenmesh/lateen/internal/wait"
)

func TestSendBudget(t *testing.T) {
	now := time.Unix(0, 0)
	b := newSendBudget(100, func() time.Time { return now })
	if !b.admit("a", "cds", 150) {
		t.Fatal("a response larger than the budget is refused while nothing is outstanding")
	}
	if b.admit("b", "cds", 10) {
		t.Fatal("admitted past the budget")
	}
	b.answered("a", "cds")
	if !b.admit("b", "cds", 60) || !b.admit("c", "eds", 40) || b.admit("d", "eds", 1) {
		t.Fatalf("after the answer: used %d of 100", b.used)
	}
	b.forget("b")
	if b.used != 40 {
		t.Fatalf("after forgetting b: used %d, want 40", b.used)
	}
	now = now.Add(time.Minute)
	if !b.admit("d", "eds", 100) || b.used != 100 {
		t.Fatalf("an unanswered response still counts after its expiry: used %d", b.used)
	}
}

// TestBudgetHoldsResponsesBack checks that a proxy's response waits while
// another proxy's unanswered responses fill the budget, and is sent once
// they are answered.
func TestBudgetHoldsResponsesBack(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{Listener: lis, MaxInFlightBytes: 1})
	s.Update(snapshotOf(t, registryYAML, 1))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := discoveryv3.NewAggregatedDiscoveryServiceClient(conn)

	a := newADSClient(t, client)
	a.send(&discoveryv3.DiscoveryRequest{Node: testNode(), TypeUrl: resourcev3.ClusterType})
	cdsA := a.expect(resourcev3.ClusterType)

	b := newADSClient(t, client)
	md, _ := structpb.NewStruct(map[string]any{"NAMESPACE": "default", "INTERCEPTION_MODE": "NONE"})
	b.send(&discoveryv3.DiscoveryRequest{Node: &corev3.Node{Id: "sidecar~127.0.0.8~b.default~default.svc.cluster.local",
		Metadata: md}, TypeUrl: resourcev3.ClusterType})
	got := make(chan *discoveryv3.DiscoveryResponse, 1)
	go func() {
		resp, err := b.stream.Recv()
		if err == nil {
			got <- resp
		}
	}()
	// b's proxy is connected (its push done) before a answers.
	waitConnected(t, s, 2)
	select {
	case <-got:
		t.Fatal("b was answered while a's response was outstanding")
	default:
	}
	a.ack(cdsA)
	select {
	case resp := <-got:
		if resp.TypeUrl != resourcev3.ClusterType {
			t.Fatalf("b got %s", resp.TypeUrl)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("b was not answered after a acknowledged")
	}
}

// waitConnected waits until n proxies are connected and pushed.
func waitConnected(t *testing.T, s *Server, n int) {
	t.Helper()
	wait.For(t, 10*time.Second, "proxies pushed", func() error {
		s.cache.mu.Lock()
		defer s.cache.mu.Unlock()
		pushed := 0
		for _, node := range s.cache.nodes {
			if node.sets[resourcev3.ClusterType] != nil {
				pushed++
			}
		}
		if pushed < n {
			return fmt.Errorf("%d of %d proxies pushed", pushed, n)
		}
		return nil
	})
}
