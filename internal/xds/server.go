// Package xds publishes each connected proxy's configuration over ADS
// (state of the world) with go-control-plane, and records per proxy and
// per type what was sent, acknowledged and rejected.
package xds

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/protobuf/proto"

	"github.com/lateenmesh/lateen/internal/mesh"
)

// Options configure the ADS server.
type Options struct {
	// Address to listen on for plaintext xDS (default 127.0.0.1:15010).
	Address string
	// Listener, when set, is used instead of listening on Address.
	Listener net.Listener
	// Endpoints are more gRPC servers serving the same ADS, such as TLS on
	// 15012 with the CA registered beside it.
	Endpoints []Endpoint
	// Workers translate and publish proxy configurations in parallel
	// (default GOMAXPROCS).
	Workers int
	Logger  *slog.Logger
	Metrics *Metrics
	// Now is the clock for status timestamps.
	Now func() time.Time
}

// Endpoint is one gRPC server on which ADS is served.
type Endpoint struct {
	Name     string // for logs, e.g. "secure"
	Listener net.Listener
	// ServerOptions are added to the defaults (credentials, interceptors).
	ServerOptions []grpc.ServerOption
	// Register adds more services to the same server (e.g. the CA).
	Register func(*grpc.Server)
}

// Server serves ADS to proxies.
type Server struct {
	opts   Options
	cache  cachev3.SnapshotCache
	status *statusBook
	queue  *pushQueue

	snapshot atomic.Pointer[mesh.Snapshot]

	mu      sync.Mutex
	streams map[int64]string // stream → node id
	// verified are the streams of proxies whose identity was verified.
	verified map[int64]bool
	proxies  map[string]*proxyConn
}

type proxyConn struct {
	proxy    *mesh.Proxy
	streams  int
	verified bool // one of its streams was verified
}

// New returns a server; it listens on nothing until Run.
func New(opts Options) *Server {
	if opts.Address == "" {
		opts.Address = "127.0.0.1:15010"
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(nil)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Server{
		opts:     opts,
		cache:    cachev3.NewSnapshotCache(true, cachev3.IDHash{}, nil),
		status:   newStatusBook(),
		queue:    newPushQueue(),
		streams:  map[int64]string{},
		verified: map[int64]bool{},
		proxies:  map[string]*proxyConn{},
	}
}

// Update publishes a new mesh snapshot: every connected proxy is queued for
// a push; a proxy whose configuration did not change sees nothing.
func (s *Server) Update(snap *mesh.Snapshot) {
	s.snapshot.Store(snap)
	s.mu.Lock()
	ids := make([]string, 0, len(s.proxies))
	for id := range s.proxies {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	s.opts.Metrics.triggers.WithLabelValues("config").Inc()
	s.queue.add(time.Now(), ids...)
}

// Status lists every connected proxy's sync state.
func (s *Server) Status() []ProxyStatus { return s.status.snapshot() }

// Run serves gRPC on the plaintext listener and every Endpoint until ctx
// is done.
func (s *Server) Run(ctx context.Context) error {
	lis := s.opts.Listener
	if lis == nil {
		var err error
		if lis, err = net.Listen("tcp", s.opts.Address); err != nil {
			closeEndpoints(s.opts.Endpoints)
			return fmt.Errorf("xds: listen: %w", err)
		}
	}
	srv := serverv3.NewServer(ctx, &nackAwareCache{SnapshotCache: s.cache, status: s.status}, s.callbacks())
	endpoints := append([]Endpoint{{Name: "plaintext", Listener: lis}}, s.opts.Endpoints...)
	servers := grpcServers(srv, endpoints)

	var wg sync.WaitGroup
	for range s.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.pushLoop(ctx)
		}()
	}
	errc := make(chan error, len(servers))
	for i, ep := range endpoints {
		go func() { errc <- servers[i].Serve(ep.Listener) }()
		s.opts.Logger.Info("serving xDS", "component", "xds", "endpoint", ep.Name, "address", ep.Listener.Addr().String())
	}
	var err error
	pending := len(servers)
	select {
	case <-ctx.Done():
	case err = <-errc:
		pending--
	}
	for _, gs := range servers {
		gs.Stop()
	}
	for range pending {
		<-errc
	}
	s.queue.close()
	wg.Wait()
	if err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("xds: serve: %w", err)
	}
	return nil
}

// grpcServers builds one gRPC server per endpoint, each serving the same
// ADS and the endpoint's extra services.
func grpcServers(ads serverv3.Server, endpoints []Endpoint) []*grpc.Server {
	servers := make([]*grpc.Server, len(endpoints))
	for i, ep := range endpoints {
		servers[i] = newGRPCServer(ep.ServerOptions...)
		discoveryv3.RegisterAggregatedDiscoveryServiceServer(servers[i], ads)
		if ep.Register != nil {
			ep.Register(servers[i])
		}
	}
	return servers
}

func newGRPCServer(extra ...grpc.ServerOption) *grpc.Server {
	opts := []grpc.ServerOption{
		grpc.MaxConcurrentStreams(1 << 20),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	}
	return grpc.NewServer(append(opts, extra...)...)
}

func closeEndpoints(eps []Endpoint) {
	for _, ep := range eps {
		ep.Listener.Close()
	}
}

func (s *Server) callbacks() serverv3.Callbacks {
	return serverv3.CallbackFuncs{
		StreamOpenFunc:     s.onOpen,
		StreamRequestFunc:  s.onRequest,
		StreamResponseFunc: s.onResponse,
		StreamClosedFunc:   s.onClosed,
	}
}

// onRequest registers a proxy on its first request and records ACKs and
// NACKs (requests carrying the nonce of a response).
func (s *Server) onRequest(stream int64, req *discoveryv3.DiscoveryRequest) error {
	id, err := s.register(stream, req.GetNode())
	if err != nil {
		s.opts.Logger.Warn("refusing proxy", "component", "xds", "error", err)
		return err
	}
	if req.ResponseNonce == "" {
		return nil
	}
	now := s.opts.Now()
	if detail := req.GetErrorDetail(); detail != nil {
		rejected := s.status.ack(id, req.TypeUrl, req.VersionInfo, req.ResponseNonce, detail.GetMessage(), now)
		s.opts.Metrics.rejects.WithLabelValues(shortType(req.TypeUrl)).Inc()
		s.opts.Logger.Warn("proxy rejected configuration", "component", "xds", "proxy", id,
			"type", shortType(req.TypeUrl), "version", rejected, "error", detail.GetMessage())
		return nil
	}
	s.status.ack(id, req.TypeUrl, req.VersionInfo, req.ResponseNonce, "", now)
	return nil
}

func (s *Server) register(stream int64, node *corev3.Node) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.streams[stream]; ok {
		return id, nil
	}
	p, err := ParseNode(node)
	if err != nil {
		return "", err
	}
	s.streams[stream] = p.ID
	pc := s.proxies[p.ID]
	if pc == nil {
		pc = &proxyConn{}
		s.proxies[p.ID] = pc
		s.status.connect(p.ID, p.Namespace, p.WorkloadName, s.opts.Now())
		s.opts.Metrics.connected.Inc()
		s.opts.Logger.Info("proxy connected", "component", "xds", "proxy", p.ID)
	}
	pc.proxy = p
	pc.streams++
	pc.verified = pc.verified || s.verified[stream]
	s.opts.Metrics.triggers.WithLabelValues("proxy").Inc()
	s.queue.addFirst(p.ID)
	return p.ID, nil
}

func (s *Server) onResponse(_ context.Context, stream int64, req *discoveryv3.DiscoveryRequest, resp *discoveryv3.DiscoveryResponse) {
	s.mu.Lock()
	id := s.streams[stream]
	s.mu.Unlock()
	s.status.sentResponse(id, resp.TypeUrl, resp.VersionInfo, resp.Nonce, s.opts.Now())
	s.opts.Metrics.pushes.WithLabelValues(shortType(resp.TypeUrl)).Inc()
}

func (s *Server) onClosed(stream int64, _ *corev3.Node) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.verified, stream)
	id, ok := s.streams[stream]
	if !ok {
		return
	}
	delete(s.streams, stream)
	pc := s.proxies[id]
	if pc == nil {
		return
	}
	if pc.streams--; pc.streams > 0 {
		return
	}
	delete(s.proxies, id)
	s.cache.ClearSnapshot(id)
	s.status.disconnect(id)
	s.opts.Metrics.connected.Dec()
	s.opts.Logger.Info("proxy disconnected", "component", "xds", "proxy", id)
}

func (s *Server) proxy(id string) *mesh.Proxy {
	s.mu.Lock()
	defer s.mu.Unlock()
	if pc := s.proxies[id]; pc != nil {
		return pc.proxy
	}
	return nil
}

// nackAwareCache stops a NACK from being answered at once with the very
// version the proxy just rejected: it makes the watch wait for the next
// change instead.
type nackAwareCache struct {
	cachev3.SnapshotCache
	status *statusBook
}

func (c *nackAwareCache) CreateWatch(req *cachev3.Request, sub cachev3.Subscription, ch chan cachev3.Response) (func(), error) {
	if req.GetErrorDetail() != nil {
		if v := c.status.lastSent(req.GetNode().GetId(), req.TypeUrl); v != "" {
			r := proto.Clone(req).(*cachev3.Request)
			r.VersionInfo = v
			req = r
		}
	}
	return c.SnapshotCache.CreateWatch(req, sub, ch)
}
