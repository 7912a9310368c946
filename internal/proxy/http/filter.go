package http

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	nethttp "net/http"

	"github.com/lateenmesh/lateen/internal/proxy/cluster"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/stats"
)

// RouterTypeURL is the router filter's typed_config type URL.
const RouterTypeURL = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"

// BuildContext is what filter factories may use while building a chain for
// one configuration.
type BuildContext struct {
	Clusters *cluster.Set
	Stats    *stats.Store
	Logger   *slog.Logger
	// StatPrefix is the connection manager's stat_prefix (filter stats are
	// http.<stat_prefix>.<filter>.*); set by NewConnManager.
	StatPrefix string
	// FilterName is the name the filter has in http_filters: routes key
	// their typed_per_filter_config by it. Set for each filter built.
	FilterName string
	// Listener and Direction are the listener's name and
	// traffic_direction (INBOUND, OUTBOUND or "").
	Listener, Direction string
}

// Filter wraps the rest of the chain. A filter reads the selected route
// (and its per-filter config) from InfoFrom(r.Context()).
type Filter func(next nethttp.Handler) nethttp.Handler

// Factory builds a filter from the config its xdsclient decoder produced.
type Factory func(cfg any, bc BuildContext) (Filter, error)

// Filters is the HTTP filter registry, keyed by typed_config type URL.
type Filters struct {
	factories map[string]Factory
	observers []namedObserver
}

// NewFilters returns the registry of implemented filters: fault, CORS and
// the router.
func NewFilters() *Filters {
	f := &Filters{factories: map[string]Factory{}}
	f.Register(RouterTypeURL, newRouterFilter)
	f.Register(FaultTypeURL, newFaultFilter)
	f.Register(CorsTypeURL, newCorsFilter)
	return f
}

// Register sets the factory of a filter type.
func (f *Filters) Register(typeURL string, fac Factory) { f.factories[typeURL] = fac }

// Has reports whether a filter type has a factory.
func (f *Filters) Has(typeURL string) bool { return f.factories[typeURL] != nil }

// chain builds the handler for the filters (router last).
func (f *Filters) chain(cfgs []resource.HTTPFilter, bc BuildContext) (nethttp.Handler, error) {
	h := nethttp.Handler(nethttp.NotFoundHandler())
	for i := len(cfgs) - 1; i >= 0; i-- {
		fac := f.factories[cfgs[i].TypeURL]
		if fac == nil {
			return nil, fmt.Errorf("http_filters[%d]: filter type %q not implemented", i, cfgs[i].TypeURL)
		}
		bc.FilterName = cfgs[i].Name
		filter, err := fac(cfgs[i].Config, bc)
		if err != nil {
			return nil, fmt.Errorf("http_filters[%d] (%s): %w", i, cfgs[i].Name, err)
		}
		h = filter(h)
	}
	return h, nil
}

func newRouterFilter(_ any, bc BuildContext) (Filter, error) {
	r := newRouter(bc)
	return func(nethttp.Handler) nethttp.Handler { return r }, nil
}

// sample draws whether a request falls in a fraction, as Envoy's runtime
// featureEnabled does with a FractionalPercent.
func sample(f resource.Fraction) bool {
	return f >= resource.Million || (f > 0 && resource.Fraction(rand.Uint32N(uint32(resource.Million))) < f)
}
