package tcp

import (
	"fmt"
	"log/slog"

	"github.com/lateenmesh/lateen/internal/proxy/cluster"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/stats"
)

// BuildContext is what network filter factories may use.
type BuildContext struct {
	Clusters *cluster.Set
	Stats    *stats.Store
	Logger   *slog.Logger
	// Listener and Direction are the listener's name and
	// traffic_direction (INBOUND, OUTBOUND or "").
	Listener, Direction string
}

// Filter is what a network filter placed before the TCP proxy adds: an
// observer, an exchanger, or both (nil fields: none).
type Filter struct {
	Observer  Observer
	Exchanger Exchanger
}

// FilterFactory builds a network filter from the config its decoder
// produced.
type FilterFactory func(cfg any, bc BuildContext) (Filter, error)

// Filters is the registry of network filters that may precede the TCP
// proxy, keyed by type URL (the one inside a TypedStruct).
type Filters struct {
	factories map[string]FilterFactory
	observers []namedObserver
}

// ObserverFactory builds an observer from the TCP proxy's own
// configuration, e.g. its access_log (nil, nil when it asks for nothing).
type ObserverFactory func(cfg *resource.TCPProxy, bc BuildContext) (Observer, error)

type namedObserver struct {
	name string
	fac  ObserverFactory
}

// RegisterObserver adds an observer factory under a name (for errors);
// every TCP proxy built with these filters gets its observer.
func (f *Filters) RegisterObserver(name string, fac ObserverFactory) {
	f.observers = append(f.observers, namedObserver{name, fac})
}

// NewFilters returns an empty registry.
func NewFilters() *Filters { return &Filters{factories: map[string]FilterFactory{}} }

// Register sets the factory of a filter type.
func (f *Filters) Register(typeURL string, fac FilterFactory) { f.factories[typeURL] = fac }

// Build adds to p the observers and the exchanger of its network filters
// cfgs, then the registered observers.
func (f *Filters) Build(p *Proxy, cfgs []resource.NetworkFilter, bc BuildContext) error {
	if err := f.buildNetwork(p, cfgs, bc); err != nil {
		return err
	}
	for _, o := range f.observers {
		obs, err := o.fac(p.cfg, bc)
		if err != nil {
			return fmt.Errorf("%s: %w", o.name, err)
		}
		if obs != nil {
			p.Observers = append(p.Observers, obs)
		}
	}
	return nil
}

func (f *Filters) buildNetwork(p *Proxy, cfgs []resource.NetworkFilter, bc BuildContext) error {
	for i, c := range cfgs {
		fac := f.factories[c.TypeURL]
		if fac == nil {
			return fmt.Errorf("filters[%d]: network filter type %q not implemented", i, c.TypeURL)
		}
		nf, err := fac(c.Config, bc)
		if err != nil {
			return fmt.Errorf("filters[%d] (%s): %w", i, c.Name, err)
		}
		if nf.Observer != nil {
			p.Observers = append(p.Observers, nf.Observer)
		}
		if nf.Exchanger != nil {
			if p.Exchanger != nil {
				return fmt.Errorf("filters[%d] (%s): a second metadata exchange filter", i, c.Name)
			}
			p.Exchanger = nf.Exchanger
		}
	}
	for _, o := range f.observers {
		obs, err := o.fac(p.cfg, bc)
		if err != nil {
			return fmt.Errorf("%s: %w", o.name, err)
		}
		if obs != nil {
			p.Observers = append(p.Observers, obs)
		}
	}
	return nil
}
