package http

import (
	nethttp "net/http"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// Observer follows every request a connection manager handles, including
// local replies such as 404 NR: access logs, tracing and telemetry are
// observers. Begin runs before route selection and may change the request
// (e.g. add trace headers that the router forwards upstream); the returned
// end func, when not nil, runs once the response is complete, with Info
// final (code, flags, bytes, duration, upstream).
type Observer interface {
	Begin(r *nethttp.Request, info *Info) (end func())
}

// ObserverFactory builds the observer for one connection manager from its
// configuration (nil, nil when the config asks for nothing).
type ObserverFactory func(cfg *resource.HTTPConnectionManager, bc BuildContext) (Observer, error)

// RegisterObserver adds an observer factory under a name (for errors);
// every connection manager built with these filters gets its observer.
func (f *Filters) RegisterObserver(name string, fac ObserverFactory) {
	f.observers = append(f.observers, namedObserver{name, fac})
}

type namedObserver struct {
	name string
	fac  ObserverFactory
}

func (f *Filters) buildObservers(cfg *resource.HTTPConnectionManager, bc BuildContext) ([]Observer, error) {
	var out []Observer
	for _, o := range f.observers {
		obs, err := o.fac(cfg, bc)
		if err != nil {
			return nil, err
		}
		if obs != nil {
			out = append(out, obs)
		}
	}
	return out, nil
}

// begin starts every observer and returns the func that ends them, last
// started first.
func beginObservers(obs []Observer, r *nethttp.Request, info *Info) func() {
	if len(obs) == 0 {
		return func() {}
	}
	ends := make([]func(), 0, len(obs))
	for _, o := range obs {
		if end := o.Begin(r, info); end != nil {
			ends = append(ends, end)
		}
	}
	return func() {
		for i := len(ends) - 1; i >= 0; i-- {
			ends[i]()
		}
	}
}
