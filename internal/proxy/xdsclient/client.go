// Package xdsclient is the proxy's ADS client (state of the world). It
// subscribes in Envoy's order, decodes every resource through the Decoders
// registry, ACKs or NACKs each response, and hands the runtime a Config only
// when it is complete and reference-closed.
package xdsclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/stats"
)

// Applier receives complete configurations. An error keeps the previous
// configuration serving and is sent to the control plane as a NACK.
type Applier interface {
	Apply(cfg *resource.Config) error
}

// MaxMessageSize is the largest ADS response the client accepts (pilot
// sends up to the same size): a state-of-the-world response of tens of
// thousands of clusters fits, where gRPC's default (4 MiB) stops at a few
// thousand services.
const MaxMessageSize = 256 << 20

// Options configure a Client.
type Options struct {
	Address     string // host:port of the ADS server
	Node        *corev3.Node
	Applier     Applier
	Decoders    *Decoders // nil: NewDecoders()
	Logger      *slog.Logger
	DialOptions []grpc.DialOption // nil: TLS when set, else plaintext
	// TLS, when set (and DialOptions is nil), dials the ADS server over
	// TLS with this configuration (pilot's 15012).
	TLS        *tls.Config
	BackoffMin time.Duration // default 100ms
	BackoffMax time.Duration // default 10s
	// Stats, when set, receives the control plane health stats (see
	// health.go).
	Stats *stats.Store
}

// Client is an ADS client.
type Client struct {
	opts    Options
	log     *slog.Logger
	state   *state // accepted (ACKed) resources
	applied *state // what the Applier last accepted; nil before
	health  *health
}

// New validates opts. It does no I/O.
func New(opts Options) (*Client, error) {
	if opts.Address == "" || opts.Node == nil || opts.Applier == nil {
		return nil, errors.New("xdsclient: Address, Node and Applier are required")
	}
	if opts.Decoders == nil {
		opts.Decoders = NewDecoders()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.DialOptions == nil {
		creds := insecure.NewCredentials()
		if opts.TLS != nil {
			creds = credentials.NewTLS(opts.TLS)
		}
		opts.DialOptions = []grpc.DialOption{grpc.WithTransportCredentials(creds)}
	}
	// Ours first: a caller's own call options override it.
	opts.DialOptions = append([]grpc.DialOption{grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageSize))},
		opts.DialOptions...)
	if opts.BackoffMin <= 0 {
		opts.BackoffMin = 100 * time.Millisecond
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = 10 * time.Second
	}
	return &Client{opts: opts, log: opts.Logger.With("component", "xdsclient"), state: newState(),
		health: newHealth(opts.Stats)}, nil
}

// Run connects and follows the ADS stream until ctx ends, reconnecting with
// exponential backoff. The applied configuration keeps serving meanwhile.
func (c *Client) Run(ctx context.Context) error {
	conn, err := grpc.NewClient(c.opts.Address, c.opts.DialOptions...)
	if err != nil {
		return fmt.Errorf("xdsclient: dial %s: %w", c.opts.Address, err)
	}
	defer conn.Close()
	backoff := c.opts.BackoffMin
	for {
		start := time.Now()
		err := c.stream(ctx, discoveryv3.NewAggregatedDiscoveryServiceClient(conn))
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(start) > c.opts.BackoffMax {
			backoff = c.opts.BackoffMin // the stream was healthy for a while
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		c.log.Warn("ADS stream ended, reconnecting", "err", err, "after", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		backoff = min(2*backoff, c.opts.BackoffMax)
	}
}

func (c *Client) stream(ctx context.Context, client discoveryv3.AggregatedDiscoveryServiceClient) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := client.StreamAggregatedResources(ctx)
	if err != nil {
		return err
	}
	c.health.setConnected(true)
	defer c.health.setConnected(false)
	for _, ts := range c.state.types {
		ts.requested, ts.nonce = false, ""
	}
	first := true
	send := func(typeURL string, nack error) error {
		req := c.request(typeURL, nack)
		if first {
			req.Node, first = c.opts.Node, false
		}
		return st.Send(req)
	}
	if err := c.subscribe(send); err != nil {
		return err
	}
	for {
		resp, err := st.Recv()
		if err != nil {
			return err
		}
		if err := c.handle(resp, send); err != nil {
			return err
		}
	}
}

// subscribe sends the requests that are due, in Envoy's order: CDS, then EDS
// for the EDS clusters, LDS once CDS arrived, then RDS for referenced routes.
func (c *Client) subscribe(send func(string, error) error) error {
	cds, lds := c.state.types[resource.ClusterType], c.state.types[resource.ListenerType]
	for _, typeURL := range subscribeOrder {
		ts := c.state.types[typeURL]
		switch {
		case ts.requested:
			continue
		case typeURL == resource.ListenerType && !answered(cds):
			continue
		case typeURL == resource.EndpointType && (!answered(cds) || len(ts.names) == 0):
			continue
		case typeURL == resource.RouteType && (!answered(lds) || len(ts.names) == 0):
			continue
		case typeURL == resource.SecretType && (!answered(cds) || len(ts.names) == 0):
			continue
		}
		ts.requested = true
		if err := send(typeURL, nil); err != nil {
			return err
		}
	}
	return nil
}

// answered reports whether a type got a response (accepted or not).
func answered(ts *typeState) bool { return ts.received || ts.nonce != "" }

func (c *Client) request(typeURL string, nack error) *discoveryv3.DiscoveryRequest {
	ts := c.state.types[typeURL]
	req := &discoveryv3.DiscoveryRequest{
		TypeUrl:       typeURL,
		VersionInfo:   ts.version,
		ResponseNonce: ts.nonce,
		ResourceNames: ts.names,
	}
	if nack != nil {
		req.ErrorDetail = &statuspb.Status{Code: int32(codes.InvalidArgument), Message: nack.Error()}
	}
	return req
}

// handle processes one response and ACKs or NACKs it.
func (c *Client) handle(resp *discoveryv3.DiscoveryResponse, send func(string, error) error) error {
	typeURL := resp.GetTypeUrl()
	ts, ok := c.state.types[typeURL]
	if !ok {
		return fmt.Errorf("response for unsubscribed type %s", typeURL)
	}
	ts.nonce = resp.GetNonce()
	err := c.accept(resp)
	c.health.update(typeURL, resp.GetVersionInfo(), err)
	if err != nil {
		c.log.Warn("NACK", "type", shortType(typeURL), "version", resp.GetVersionInfo(), "err", err)
		return send(typeURL, err)
	}
	c.log.Debug("ACK", "type", shortType(typeURL), "version", resp.GetVersionInfo())
	if err := send(typeURL, nil); err != nil {
		return err
	}
	return c.resubscribe(send)
}

// accept decodes a response and, when the resulting state is complete,
// applies it. On error the previous state is kept.
func (c *Client) accept(resp *discoveryv3.DiscoveryResponse) error {
	typeURL := resp.GetTypeUrl()
	ts := c.state.types[typeURL]
	res, err := c.decodeAll(resp)
	if err != nil {
		return err
	}
	if !wildcard(typeURL) {
		merged := restrict(ts.resources, ts.names)
		for name, e := range restrict(res, ts.names) {
			merged[name] = e
		}
		res = merged
	}
	next := c.state.with(typeURL, res)
	next.types[typeURL].version = resp.GetVersionInfo()
	next.types[typeURL].received = true
	updateNames(next)
	if err := c.apply(next); err != nil {
		return err
	}
	c.commit(next)
	return nil
}

// apply hands next to the Applier when it is complete. Otherwise the
// incomplete types are held and the largest complete mix of accepted and
// applied types is applied, so that (for example) endpoint updates still
// flow while a route waits for its cluster.
func (c *Client) apply(next *state) error {
	cfg := next.config()
	ok, missing := next.complete(cfg)
	if ok {
		if err := c.opts.Applier.Apply(cfg); err != nil {
			return err
		}
		c.applied = next.snapshot()
		return nil
	}
	c.log.Debug("configuration incomplete, holding", "waiting_for", missing)
	partial := c.partial(next)
	if partial == nil {
		return nil
	}
	if err := c.opts.Applier.Apply(partial.config()); err != nil {
		return err
	}
	c.applied = partial.snapshot()
	return nil
}

// partial returns the complete mix of next and applied types that takes the
// most types from next (at least one), or nil.
func (c *Client) partial(next *state) *state {
	if c.applied == nil {
		return nil
	}
	var best *state
	bestN := 0
	full := 1<<len(subscribeOrder) - 1
	for mask := 1; mask < full; mask++ {
		cand, n := &state{types: map[string]*typeState{}}, 0
		for i, t := range subscribeOrder {
			cand.types[t] = c.applied.types[t]
			if mask&(1<<i) != 0 {
				cand.types[t], n = next.types[t], n+1
			}
		}
		if n <= bestN {
			continue
		}
		if ok, _ := cand.complete(cand.config()); ok {
			best, bestN = cand, n
		}
	}
	return best
}

// commit makes next the client's state, keeping request bookkeeping.
func (c *Client) commit(next *state) {
	for typeURL, ts := range next.types {
		old := c.state.types[typeURL]
		old.version, old.received, old.resources = ts.version, ts.received, ts.resources
		if !sameNames(old.names, ts.names) {
			old.names, old.requested = ts.names, false
		}
	}
}

// updateNames recomputes the EDS and RDS subscriptions from CDS and LDS and
// drops resources no longer subscribed. Fresh typeStates avoid aliasing.
func updateNames(s *state) {
	cfg := s.config()
	for typeURL, names := range map[string][]string{
		resource.EndpointType: cfg.EDSNames(),
		resource.RouteType:    cfg.RouteNames(),
		resource.SecretType:   cfg.SecretNames(),
	} {
		ts := *s.types[typeURL]
		ts.names = names
		ts.resources = restrict(ts.resources, names)
		s.types[typeURL] = &ts
	}
}

func (c *Client) resubscribe(send func(string, error) error) error {
	return c.subscribe(send)
}

func (c *Client) decodeAll(resp *discoveryv3.DiscoveryResponse) (map[string]entry, error) {
	res := make(map[string]entry, len(resp.GetResources()))
	var errs []string
	for i, a := range resp.GetResources() {
		name, v, err := c.opts.Decoders.decode(resp.GetTypeUrl(), a, i)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		if _, dup := res[name]; dup {
			errs = append(errs, fmt.Sprintf("%s %q: duplicate resource name", shortType(resp.GetTypeUrl()), name))
		}
		res[name] = entry{value: v, raw: a, version: resp.GetVersionInfo()}
	}
	if len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, "; "))
	}
	return res, nil
}
