package xds

import (
	"context"
	"errors"
	"sync"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/types/known/anypb"
)

// sotwCache serves state-of-the-world ADS from per-proxy resource sets
// (the go-control-plane server asks it for watches). It differs from
// go-control-plane's snapshot cache in three ways:
//
//   - Resources arrive encoded (items), shared between proxies and
//     pushes: nothing is marshalled again per response.
//   - Responses of the types the protocol lets a server send in part (all
//     but clusters and listeners) carry only the resources the proxy does
//     not hold yet at their current content: an endpoint change sends one
//     ClusterLoadAssignment, not all of them. What a proxy holds is what
//     its stream acknowledged (the subscription's returned resources),
//     restricted to what it subscribes to; a NACK forgets it, so the next
//     response (for the next change) is whole.
//   - A NACK is not answered with the version just rejected: the watch
//     waits for the next change.
//   - The bytes of responses not answered yet are bounded (sendBudget).
type sotwCache struct {
	mu     sync.Mutex
	nodes  map[string]*nodeState
	nextID int64
	status *statusBook
	budget *sendBudget
}

type nodeState struct {
	sets    map[string]*resourceSet // by type URL
	watches map[int64]*sotwWatch
}

type sotwWatch struct {
	req *cachev3.Request
	sub cachev3.Subscription
	ch  chan cachev3.Response
	// clientVersion is the version the proxy has (for a NACK: the one it
	// rejected, so that only a change is sent); held is what it holds of
	// a type sent in part (nil: nothing).
	clientVersion string
	held          map[string]string
	// pending is the response held back by the send budget, for set
	// pendingFor (reused while the set is the same).
	pending    *sotwResponse
	pendingFor *resourceSet
}

var _ cachev3.Cache = (*sotwCache)(nil)

// newSotwCache returns a cache whose unanswered responses hold at most
// maxInFlight bytes (0: no bound).
func newSotwCache(status *statusBook, maxInFlight int, now func() time.Time) *sotwCache {
	return &sotwCache{nodes: map[string]*nodeState{}, status: status, budget: newSendBudget(maxInFlight, now)}
}

// partial reports whether responses of a type may carry part of its
// resources (the protocol requires the whole set for clusters and
// listeners).
func partial(typeURL string) bool {
	return typeURL != resourcev3.ClusterType && typeURL != resourcev3.ListenerType
}

func (c *sotwCache) node(id string) *nodeState {
	n := c.nodes[id]
	if n == nil {
		n = &nodeState{sets: map[string]*resourceSet{}, watches: map[int64]*sotwWatch{}}
		c.nodes[id] = n
	}
	return n
}

// CreateWatch answers a request now when the proxy lacks something of the
// current set, else keeps the watch until SetNode changes it. A request
// answers the proxy's previous response of its type.
func (c *sotwCache) CreateWatch(req *cachev3.Request, sub cachev3.Subscription, ch chan cachev3.Response) (func(), error) {
	id := req.GetNode().GetId()
	// The watch keeps the request without its resource names (the
	// subscription has them): thousands of names per proxy otherwise.
	kept := &cachev3.Request{Node: req.GetNode(), TypeUrl: req.GetTypeUrl(), VersionInfo: req.GetVersionInfo(),
		ResponseNonce: req.GetResponseNonce(), ErrorDetail: req.GetErrorDetail()}
	w := &sotwWatch{req: kept, sub: sub, ch: ch, clientVersion: req.GetVersionInfo()}
	if req.GetErrorDetail() != nil {
		w.clientVersion = c.status.lastSent(id, req.GetTypeUrl())
	} else if req.GetResponseNonce() != "" {
		w.held = sub.ReturnedResources()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.node(id)
	c.nextID++
	wid := c.nextID
	n.watches[wid] = w
	c.budget.answered(id, req.GetTypeUrl())
	c.try(id, n, wid)
	c.drain()
	return func() { c.cancel(id, wid) }, nil
}

func (c *sotwCache) cancel(id string, wid int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.nodes[id]; n != nil {
		delete(n.watches, wid)
	}
}

// AddNode starts serving a connected proxy.
func (c *sotwCache) AddNode(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.node(id)
}

// SetNode makes sets the proxy's resources and answers its watches (a
// proxy that disconnected meanwhile is ignored).
func (c *sotwCache) SetNode(id string, sets map[string]*resourceSet) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodes[id]
	if n == nil {
		return
	}
	for typeURL, set := range sets {
		n.sets[typeURL] = set
	}
	for wid := range n.watches {
		c.try(id, n, wid)
	}
	c.drain()
}

// Retry sends held-back responses that fit now (outstanding responses
// may have expired without an answer).
func (c *sotwCache) Retry() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drain()
}

// ClearNode forgets a disconnected proxy.
func (c *sotwCache) ClearNode(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.nodes, id)
	c.budget.forget(id)
	c.drain()
}

// try answers watch wid of node id if the proxy lacks something and the
// send budget admits the response; a response held back by the budget is
// retried by drain.
func (c *sotwCache) try(id string, n *nodeState, wid int64) {
	w := n.watches[wid]
	if w == nil {
		return
	}
	set := n.sets[w.req.GetTypeUrl()]
	if set == nil {
		return
	}
	resp := w.pending
	if w.pendingFor != set {
		resp = respondTo(w, set)
	}
	if resp == nil {
		return
	}
	if !c.budget.admit(id, w.req.GetTypeUrl(), resp.size) {
		w.pending, w.pendingFor = resp, set
		c.budget.wait(id, wid)
		return
	}
	delete(n.watches, wid)
	w.ch <- resp
}

// drain retries the watches the budget held back.
func (c *sotwCache) drain() {
	for _, ww := range c.budget.takeWaiting() {
		if n := c.nodes[ww.node]; n != nil {
			c.try(ww.node, n, ww.id)
		}
	}
}

// respondTo is what a watch is to be sent of set, or nil. Clusters and
// listeners go whole whenever the version differs from the proxy's; the
// other types carry the subscribed resources the proxy does not hold at
// their current content. A new stream's first request is always
// answered.
func respondTo(w *sotwWatch, set *resourceSet) *sotwResponse {
	typeURL := w.req.GetTypeUrl()
	first, nack := w.req.GetResponseNonce() == "", w.req.GetErrorDetail() != nil
	if (nack || !partial(typeURL)) && !first && set.version == w.clientVersion {
		return nil
	}
	if !partial(typeURL) {
		return &sotwResponse{req: w.req, version: set.version, resources: set.anys(), size: set.size}
	}
	resp := &sotwResponse{req: w.req, version: set.version}
	subscribed, wildcard := w.sub.SubscribedResources(), w.sub.IsWildcard()
	for _, it := range set.items {
		if _, ok := subscribed[it.name]; (ok || wildcard) && w.held[it.name] != it.hash {
			resp.resources = append(resp.resources, it.any)
			resp.size += len(it.any.Value)
		}
	}
	if len(resp.resources) == 0 && !first && !nack {
		return nil
	}
	resp.returned = set.returnedFor(subscribed, wildcard)
	return resp
}

// Fetch is not served (REST xDS).
func (c *sotwCache) Fetch(context.Context, *cachev3.Request) (cachev3.Response, error) {
	return nil, errors.New("xds: fetch is not supported")
}

// CreateDeltaWatch is not served: the proxies speak state of the world.
func (c *sotwCache) CreateDeltaWatch(*cachev3.DeltaRequest, cachev3.Subscription, chan cachev3.DeltaResponse) (func(), error) {
	return nil, errors.New("xds: delta xDS is not supported yet")
}

// sotwResponse is one response; its resources are shared, encoded.
type sotwResponse struct {
	req       *cachev3.Request
	version   string
	resources []*anypb.Any
	size      int
	returned  map[string]string
}

func (r *sotwResponse) GetDiscoveryResponse() (*discoveryv3.DiscoveryResponse, error) {
	return &discoveryv3.DiscoveryResponse{VersionInfo: r.version, Resources: r.resources, TypeUrl: r.req.GetTypeUrl()}, nil
}

func (r *sotwResponse) GetRequest() *discoveryv3.DiscoveryRequest { return r.req }

func (r *sotwResponse) GetVersion() (string, error) { return r.version, nil }

func (r *sotwResponse) GetResponseVersion() string { return r.version }

func (r *sotwResponse) GetReturnedResources() map[string]string { return r.returned }

func (r *sotwResponse) GetContext() context.Context { return context.Background() }
