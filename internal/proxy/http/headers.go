package http

import (
	nethttp "net/http"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// applyHeaderOps applies one level's header mutations to h. Names are
// canonical already (the decoder made them so), so h is used as a map.
func applyHeaderOps(h nethttp.Header, remove []string, add []resource.HeaderValue) {
	for _, name := range remove {
		delete(h, name)
	}
	for _, hv := range add {
		switch {
		case hv.AddIfAbsent:
			if len(h[hv.Name]) == 0 {
				h[hv.Name] = []string{hv.Value}
			}
		case hv.Append:
			h[hv.Name] = append(h[hv.Name], hv.Value)
		default:
			h[hv.Name] = []string{hv.Value}
		}
	}
}

// headerLevels returns the header ops of a forwarded request, most specific
// first: Envoy applies weighted cluster, then route, then virtual host, so
// the virtual host's values win.
func headerLevels(rt *route, wc *resource.WeightedCluster) []*resource.HeaderOps {
	levels := make([]*resource.HeaderOps, 0, 3)
	if wc != nil && !wc.Headers.Empty() {
		levels = append(levels, &wc.Headers)
	}
	if !rt.cfg.Headers.Empty() {
		levels = append(levels, &rt.cfg.Headers)
	}
	if !rt.vhost.cfg.Headers.Empty() {
		levels = append(levels, &rt.vhost.cfg.Headers)
	}
	return levels
}

func applyRequestOps(h nethttp.Header, levels []*resource.HeaderOps) {
	for _, l := range levels {
		applyHeaderOps(h, l.RequestRemove, l.RequestAdd)
	}
}

func applyResponseOps(h nethttp.Header, levels []*resource.HeaderOps) {
	for _, l := range levels {
		applyHeaderOps(h, l.ResponseRemove, l.ResponseAdd)
	}
}
