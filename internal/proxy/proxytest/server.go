// Package proxytest holds helpers for the proxy's tests: a fake management
// server (go-control-plane's, ADS, on a real socket) and builders of the
// xDS resources docs/xds.md allows. It is imported by tests only.
package proxytest

import (
	"context"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"
)

// Server is a go-control-plane ADS management server on 127.0.0.1.
type Server struct {
	Addr  string
	Cache cachev3.SnapshotCache

	mu      sync.Mutex
	cond    *sync.Cond
	reqs    []*discoveryv3.DiscoveryRequest
	streams int
	grpc    *grpc.Server
	ctx     context.Context
	cancel  context.CancelFunc
}

// NewServer starts a management server; it stops when the test ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := &Server{Cache: cachev3.NewSnapshotCache(true, cachev3.IDHash{}, nil)}
	s.cond = sync.NewCond(&s.mu)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	s.serve(ln)
	t.Cleanup(func() {
		s.mu.Lock()
		g := s.grpc
		s.mu.Unlock()
		g.Stop()
		s.cancel()
	})
	return s
}

func (s *Server) serve(ln net.Listener) {
	cb := serverv3.CallbackFuncs{
		StreamOpenFunc: func(context.Context, int64, string) error {
			s.mu.Lock()
			s.streams++
			s.cond.Broadcast()
			s.mu.Unlock()
			return nil
		},
		StreamRequestFunc: func(_ int64, req *discoveryv3.DiscoveryRequest) error {
			s.mu.Lock()
			s.reqs = append(s.reqs, req)
			s.cond.Broadcast()
			s.mu.Unlock()
			return nil
		},
	}
	g := grpc.NewServer()
	discoveryv3.RegisterAggregatedDiscoveryServiceServer(g, serverv3.NewServer(s.ctx, s.Cache, cb))
	s.mu.Lock()
	s.grpc = g
	s.mu.Unlock()
	go func() { _ = g.Serve(ln) }()
}

// Restart drops every stream and serves again on the same address.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	g := s.grpc
	s.mu.Unlock()
	g.Stop()
	var ln net.Listener
	var err error
	deadline := time.Now().Add(5 * time.Second)
	for ln, err = net.Listen("tcp", s.Addr); err != nil && time.Now().Before(deadline); ln, err = net.Listen("tcp", s.Addr) {
		time.Sleep(10 * time.Millisecond) // the port is released asynchronously
	}
	if err != nil {
		t.Fatal(err)
	}
	s.serve(ln)
}

// Resources is one snapshot's resources by kind.
type Resources struct {
	Clusters, Endpoints, Listeners, Routes []types.Resource
	Secrets                                []types.Resource // SDS secrets served over ADS
}

// Set publishes a snapshot for nodeID.
func (s *Server) Set(t testing.TB, nodeID, version string, r Resources) {
	t.Helper()
	snap, err := cachev3.NewSnapshot(version, map[resourcev3.Type][]types.Resource{
		resourcev3.ClusterType: r.Clusters, resourcev3.EndpointType: r.Endpoints,
		resourcev3.ListenerType: r.Listeners, resourcev3.RouteType: r.Routes, resourcev3.SecretType: r.Secrets,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Cache.SetSnapshot(context.Background(), nodeID, snap); err != nil {
		t.Fatal(err)
	}
}

// WaitRequest waits (up to 10s) for a request, past or future, matching f.
func (s *Server) WaitRequest(t testing.TB, what string, f func(*discoveryv3.DiscoveryRequest) bool) *discoveryv3.DiscoveryRequest {
	t.Helper()
	var found *discoveryv3.DiscoveryRequest
	s.waitFor(t, what, func() bool {
		i := slices.IndexFunc(s.reqs, f)
		if i >= 0 {
			found = s.reqs[i]
		}
		return i >= 0
	})
	return found
}

// WaitStreams waits until n streams were opened in total.
func (s *Server) WaitStreams(t testing.TB, n int) {
	t.Helper()
	s.waitFor(t, "stream", func() bool { return s.streams >= n })
}

// Requests returns a copy of every request received.
func (s *Server) Requests() []*discoveryv3.DiscoveryRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

func (s *Server) waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	timer := time.AfterFunc(10*time.Second, func() { s.mu.Lock(); s.cond.Broadcast(); s.mu.Unlock() })
	defer timer.Stop()
	deadline := time.Now().Add(10 * time.Second)
	s.mu.Lock()
	defer s.mu.Unlock()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		s.cond.Wait()
	}
}

// Eventually polls cond until it holds or 10s pass.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// FreePort returns a port free on 127.0.0.1 right now.
func FreePort(t testing.TB) uint32 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return uint32(ln.Addr().(*net.TCPAddr).Port)
}
