package http

import (
	"fmt"
	nethttp "net/http"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/stats"
)

// FaultTypeURL is the fault injection filter's typed_config type URL (also
// the type of its typed_per_filter_config).
const FaultTypeURL = "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault"

// faultBody is the body of an injected abort, as Envoy's.
const faultBody = "fault filter abort"

// faultFilter is envoy.filters.http.fault: it delays requests before they
// go on and/or aborts them with a local reply. A route's
// typed_per_filter_config replaces the filter's own config.
type faultFilter struct {
	name  string
	cfg   *resource.FaultConfig
	stats faultStats
	next  nethttp.Handler
}

type faultStats struct {
	delays, aborts *stats.Counter
	active         *stats.Gauge
}

func newFaultFilter(cfg any, bc BuildContext) (Filter, error) {
	fc, ok := cfg.(*resource.FaultConfig)
	if !ok {
		return nil, fmt.Errorf("fault filter: unexpected config %T", cfg)
	}
	p := "http." + bc.StatPrefix + ".fault."
	st := faultStats{delays: bc.Stats.Counter(p + "delays_injected"), aborts: bc.Stats.Counter(p + "aborts_injected"),
		active: bc.Stats.Gauge(p + "active_faults")}
	return func(next nethttp.Handler) nethttp.Handler {
		return &faultFilter{name: bc.FilterName, cfg: fc, stats: st, next: next}
	}, nil
}

func (f *faultFilter) ServeHTTP(w nethttp.ResponseWriter, r *nethttp.Request) {
	info := InfoFrom(r.Context())
	cfg := f.cfg
	if rc, ok := info.Route().PerFilterConfig[f.name].(*resource.FaultConfig); ok {
		cfg = rc
	}
	injected := false // the request counts once in active_faults
	inject := func() {
		if !injected {
			injected = true
			f.stats.active.Inc()
		}
	}
	defer func() {
		if injected {
			f.stats.active.Dec()
		}
	}()
	if d := cfg.Delay; d != nil && d.Fixed > 0 && sample(d.Percentage) {
		inject()
		f.stats.delays.Inc()
		info.Flags |= FlagDelayInjected
		if !wait(r, d.Fixed) {
			info.Flags |= FlagDownstreamTerminated
			info.ResponseCode = 499 // the client went away during the delay
			return
		}
	}
	if a := cfg.Abort; a != nil && sample(a.Percentage) {
		inject()
		f.stats.aborts.Inc()
		localReplyGRPC(w, info, a.HTTPStatus, FlagFaultInjected, faultBody, a.GRPCStatus)
		return
	}
	f.next.ServeHTTP(w, r)
}

// wait holds the request for d; false when the client went away first.
func wait(r *nethttp.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}
