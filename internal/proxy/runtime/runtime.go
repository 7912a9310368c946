// Package runtime holds the proxy's active configuration. Apply builds the
// new listener → HTTP handler → route table → cluster graph beside the old
// one and swaps it in atomically; a build error leaves the old one serving.
package runtime

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/lateenmesh/lateen/internal/proxy/cluster"
	proxyhttp "github.com/lateenmesh/lateen/internal/proxy/http"
	"github.com/lateenmesh/lateen/internal/proxy/listener"
	"github.com/lateenmesh/lateen/internal/proxy/mtls"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/stats"
	"github.com/lateenmesh/lateen/internal/proxy/tcp"
)

// Options configure a Runtime.
type Options struct {
	// WildcardAddress replaces a listener address of 0.0.0.0 or ::.
	WildcardAddress string
	Stats           *stats.Store
	Logger          *slog.Logger
	Listeners       *listener.Manager
	HTTP            *proxyhttp.Server
	Filters         *proxyhttp.Filters // nil: proxyhttp.NewFilters()
	TCPFilters      *tcp.Filters       // nil: tcp.NewFilters()
	// TLS resolves the secrets of transport sockets (nil: a store
	// without workload identity).
	TLS *mtls.Store
}

// Graph is one active configuration and what was built from it. It is
// immutable.
type Graph struct {
	Config   *resource.Config
	Clusters *cluster.Set
}

// Runtime applies configurations.
type Runtime struct {
	opts     Options
	log      *slog.Logger
	mu       sync.Mutex // serializes Apply
	clusters *cluster.Manager
	slots    map[string]*proxyhttp.Slot
	current  atomic.Pointer[Graph]
	ready    chan struct{}
	readyOne sync.Once
}

// New returns a runtime with no configuration.
func New(opts Options) (*Runtime, error) {
	if opts.Listeners == nil || opts.HTTP == nil || opts.Stats == nil {
		return nil, errors.New("runtime: Listeners, HTTP and Stats are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Filters == nil {
		opts.Filters = proxyhttp.NewFilters()
	}
	if opts.TLS == nil {
		opts.TLS = mtls.NewStore(mtls.Options{Stats: opts.Stats, Logger: opts.Logger})
	}
	if opts.TCPFilters == nil {
		opts.TCPFilters = tcp.NewFilters()
	}
	return &Runtime{opts: opts, log: opts.Logger.With("component", "runtime"),
		clusters: cluster.NewManager(opts.Stats), slots: map[string]*proxyhttp.Slot{}, ready: make(chan struct{})}, nil
}

// Current returns the active graph (nil before the first Apply).
func (r *Runtime) Current() *Graph { return r.current.Load() }

// Ready is closed once the first configuration is applied.
func (r *Runtime) Ready() <-chan struct{} { return r.ready }

// Apply builds cfg and swaps it in. On error nothing changes.
func (r *Runtime) Apply(cfg *resource.Config) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	secrets := r.opts.TLS.Secrets(cfg.Secrets)
	set, err := r.clusters.Build(cfg, secrets)
	if err != nil {
		return err
	}
	b := &build{rt: r, cfg: cfg, clusters: set, slots: map[string]*proxyhttp.Slot{}, cms: map[string]*proxyhttp.ConnManager{},
		secrets: secrets}
	specs, err := b.listeners()
	if err != nil {
		return err
	}
	pending, err := r.opts.Listeners.Prepare(specs)
	if err != nil {
		return err
	}
	r.commit(b, set)
	pending.Commit()
	r.current.Store(&Graph{Config: cfg, Clusters: set})
	r.readyOne.Do(func() { close(r.ready) })
	r.log.Info("configuration applied", "listeners", len(cfg.Listeners), "clusters", len(cfg.Clusters),
		"routes", len(cfg.Routes), "cds_version", cfg.Versions[resource.ClusterType], "lds_version", cfg.Versions[resource.ListenerType])
	return nil
}

// commit points the HTTP slots at the new connection managers and drains the
// slots of removed chains.
func (r *Runtime) commit(b *build, set *cluster.Set) {
	for key, slot := range b.slots {
		slot.Store(b.cms[key])
	}
	for key, slot := range r.slots {
		if b.slots[key] != slot {
			slot.Drain()
		}
	}
	r.slots = b.slots
	r.clusters.Commit(set)
}

// Close releases pooled upstream connections.
func (r *Runtime) Close() { r.clusters.Close() }

// bindAddress maps a listener address to the address to bind.
func (r *Runtime) bindAddress(l *resource.Listener) string {
	host := l.Address
	if (host == "0.0.0.0" || host == "::") && r.opts.WildcardAddress != "" {
		host = r.opts.WildcardAddress
	}
	return net.JoinHostPort(host, strconv.Itoa(int(l.Port)))
}

func wrap(kind, name string, err error) error {
	return fmt.Errorf("%s %q: %w", kind, name, err)
}
