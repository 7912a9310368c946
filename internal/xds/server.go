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
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	"github.com/lateenmesh/lateen/internal/mesh"
	"github.com/lateenmesh/lateen/internal/translate"
)

// MaxMessageSize is the largest xDS message pilot sends or accepts, and
// lateen-proxy accepts: a state-of-the-world response of tens of thousands
// of clusters (about 1.5 KB each) fits. gRPC's default receive limit of
// 4 MiB is reached at a few thousand services.
const MaxMessageSize = 256 << 20

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
	// MaxInFlightBytes bounds the bytes of responses sent and not yet
	// acknowledged (default 32 MiB; negative: no bound): the memory a
	// change pushed to many proxies holds in pilot's buffers at once.
	MaxInFlightBytes int
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
	cache  *sotwCache
	status *statusBook
	queue  *pushQueue
	// translator memoizes translation pieces and class parts; encoder,
	// encoded resources and sets. Both are shared by every push.
	translator *translate.Cache
	encoder    *encoder

	snapshot atomic.Pointer[mesh.Snapshot]

	mu      sync.Mutex
	streams map[int64]string // stream → node id
	// verified are the streams of proxies whose identity was verified.
	verified map[int64]bool
	proxies  map[string]*proxyConn
}

type proxyConn struct {
	proxy   *mesh.Proxy
	streams int
	// verified: one of its streams was verified; closed: disconnected.
	verified atomic.Bool
	closed   atomic.Bool
	// stale: a stream (re)registered the proxy, its last push counts for
	// nothing.
	stale atomic.Bool

	// pushMu serializes the proxy's pushes; deps is what its last one
	// was built from.
	pushMu sync.Mutex
	deps   mesh.DepState
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
	if opts.MaxInFlightBytes == 0 {
		opts.MaxInFlightBytes = 32 << 20
	}
	status := newStatusBook()
	return &Server{
		opts:       opts,
		cache:      newSotwCache(status, opts.MaxInFlightBytes, opts.Now),
		status:     status,
		queue:      newPushQueue(),
		translator: translate.NewCache(),
		encoder:    newEncoder(),
		streams:    map[int64]string{},
		verified:   map[int64]bool{},
		proxies:    map[string]*proxyConn{},
	}
}

// generationsKept is how many snapshots a memoized piece, encoded resource
// or set survives without being used.
const generationsKept = 8

// Update publishes a new mesh snapshot: every connected proxy is queued; a
// proxy that depends on nothing that changed is not translated again, and
// one whose configuration did not change sees nothing.
func (s *Server) Update(snap *mesh.Snapshot) {
	s.snapshot.Store(snap)
	s.translator.NextGeneration(generationsKept)
	s.encoder.sweep(generationsKept)
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
	srv := serverv3.NewServer(ctx, s.cache, s.callbacks())
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
	failed, err := s.serveUntilDone(ctx, errc)
	pending := len(servers)
	if failed {
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

// serveUntilDone waits for ctx to end or a server to return (failed, with
// its error), retrying held-back responses meanwhile.
func (s *Server) serveUntilDone(ctx context.Context, errc <-chan error) (failed bool, err error) {
	retry := time.NewTicker(5 * time.Second)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return false, nil
		case err := <-errc:
			return true, err
		case <-retry.C:
			s.cache.Retry()
		}
	}
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
		grpc.MaxSendMsgSize(MaxMessageSize),
		grpc.MaxRecvMsgSize(MaxMessageSize),
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
		s.cache.AddNode(p.ID)
		s.status.connect(p.ID, p.Namespace, p.WorkloadName, s.opts.Now())
		s.opts.Metrics.connected.Inc()
		s.opts.Logger.Info("proxy connected", "component", "xds", "proxy", p.ID)
	}
	pc.proxy = p
	pc.streams++
	pc.stale.Store(true)
	if s.verified[stream] {
		pc.verified.Store(true)
	}
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
	pc.closed.Store(true)
	s.cache.ClearNode(id)
	s.status.disconnect(id)
	s.opts.Metrics.connected.Dec()
	s.opts.Logger.Info("proxy disconnected", "component", "xds", "proxy", id)
}

// conn returns a connected proxy's state.
func (s *Server) conn(id string) *proxyConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proxies[id]
}
