package controlplane

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/xdsclient"
)

// maxMessage is the largest xDS response a simulated proxy accepts. Envoy
// sets no small limit; gRPC's default (4 MiB) is lateen-proxy's today.
const maxMessage = 256 << 20

// simProxy is one simulated proxy: lateen-proxy's own ADS client (real
// decoding, real ACK/NACK) with an Applier that keeps nothing, and a gRPC
// interceptor that sees every response and acknowledgement.
type simProxy struct {
	id, namespace string
	// client is lateen-proxy's ADS client, or the light one (Options.Light).
	client   interface{ Run(context.Context) error }
	synced   chan struct{} // closed on the first complete configuration
	syncOnce sync.Once
	hub      *hub

	mu    sync.Mutex
	watch *watch
	seen  proxyWatch
}

// proxyWatch is what one proxy saw of the current change.
type proxyWatch struct {
	responses int
	bytes     int64
	nacks     int
	marked    map[string]string // nonce → type URL of responses carrying the marker
	acked     map[string]bool
	done      time.Time
	// arrived is when the first response carrying the marker arrived, by
	// type (before the client decoded it); delivered, when every type had.
	arrived   map[string]time.Time
	delivered time.Time
}

// watch is the change being measured.
type watch struct {
	start  time.Time
	marker []byte
	types  []string // every one must arrive with the marker and be ACKed
}

// hub is shared by every simulated proxy: it counts completions and the
// last response time, so the harness can wait without polling each proxy.
type hub struct {
	done         atomic.Int64
	progress     chan struct{}
	lastResponse atomic.Int64 // unix nanoseconds
}

func newHub() *hub { return &hub{progress: make(chan struct{}, 1)} }

func (h *hub) signal() {
	select {
	case h.progress <- struct{}{}:
	default:
	}
}

func newSimProxy(address string, info xdsclient.NodeInfo, decoders *xdsclient.Decoders, h *hub, light bool) (*simProxy, error) {
	p := &simProxy{namespace: info.Namespace, synced: make(chan struct{}), hub: h}
	node := xdsclient.Node(info)
	p.id = node.Id
	if light {
		p.client = &lightClient{address: address, node: node, p: p}
		return p, nil
	}
	c, err := xdsclient.New(xdsclient.Options{
		Address: address, Node: node, Applier: p, Decoders: decoders,
		Logger: slog.New(slog.DiscardHandler),
		DialOptions: []grpc.DialOption{
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage)),
			grpc.WithStreamInterceptor(p.intercept),
		},
	})
	if err != nil {
		return nil, err
	}
	p.client = c
	return p, nil
}

// Apply accepts every complete configuration (xdsclient.Applier).
func (p *simProxy) Apply(*resource.Config) error {
	p.syncOnce.Do(func() { close(p.synced) })
	return nil
}

// setWatch starts (or, with nil, ends) measuring a change.
func (p *simProxy) setWatch(w *watch) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.watch = w
	p.seen = proxyWatch{marked: map[string]string{}, acked: map[string]bool{}, arrived: map[string]time.Time{}}
}

func (p *simProxy) result() proxyWatch {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seen
}

func (p *simProxy) received(r *discoveryv3.DiscoveryResponse) {
	p.hub.lastResponse.Store(time.Now().UnixNano())
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.watch == nil {
		return
	}
	p.seen.responses++
	p.seen.bytes += int64(proto.Size(r))
	for _, a := range r.GetResources() {
		if bytes.Contains(a.GetValue(), p.watch.marker) {
			p.seen.marked[r.GetNonce()] = r.GetTypeUrl()
			p.arrived(r.GetTypeUrl())
			return
		}
	}
}

// arrived records the first marked response of a type (p.mu held).
func (p *simProxy) arrived(typeURL string) {
	if _, ok := p.seen.arrived[typeURL]; ok {
		return
	}
	now := time.Now()
	p.seen.arrived[typeURL] = now
	for _, t := range p.watch.types {
		if _, ok := p.seen.arrived[t]; !ok {
			return
		}
	}
	p.seen.delivered = now
}

func (p *simProxy) sending(r *discoveryv3.DiscoveryRequest) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.watch == nil || r.GetResponseNonce() == "" {
		return
	}
	typeURL, ok := p.seen.marked[r.GetResponseNonce()]
	if !ok {
		return
	}
	if r.GetErrorDetail() != nil {
		p.seen.nacks++
		return
	}
	p.seen.acked[typeURL] = true
	if !p.seen.done.IsZero() {
		return
	}
	for _, t := range p.watch.types {
		if !p.seen.acked[t] {
			return
		}
	}
	p.seen.done = time.Now()
	p.hub.done.Add(1)
	p.hub.signal()
}

func (p *simProxy) intercept(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string,
	streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	cs, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		return nil, err
	}
	return &recordingStream{ClientStream: cs, p: p}, nil
}

// recordingStream reports responses as they are received and requests
// (ACKs and NACKs) as they are sent.
type recordingStream struct {
	grpc.ClientStream
	p *simProxy
}

func (s *recordingStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if r, ok := m.(*discoveryv3.DiscoveryResponse); ok && err == nil {
		s.p.received(r)
	}
	return err
}

func (s *recordingStream) SendMsg(m any) error {
	if r, ok := m.(*discoveryv3.DiscoveryRequest); ok {
		s.p.sending(r)
	}
	return s.ClientStream.SendMsg(m)
}
