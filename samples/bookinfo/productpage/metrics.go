package productpage

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/lateenmesh/lateen/samples/internal/appkit"
)

// results counts productpage's calls to the other services by outcome, as
// Istio's productpage does (request_result_total on /metrics, Prometheus
// text format): the app's own metrics, which a sidecar merges with its own.
type results struct {
	mu     sync.Mutex
	counts map[[2]string]uint64 // destination_app, response_code
}

func newResults() *results { return &results{counts: map[[2]string]uint64{}} }

// record counts one call to u: its status, 200 when it worked, 0 when no
// answer came.
func (r *results) record(u string, err error) {
	app := "unknown"
	if pu, perr := url.Parse(u); perr == nil {
		app, _, _ = strings.Cut(pu.Hostname(), ".")
	}
	code := "200"
	if err != nil {
		code = "0"
		var se *appkit.StatusError
		if errors.As(err, &se) {
			code = strconv.Itoa(se.Status)
		}
	}
	r.mu.Lock()
	r.counts[[2]string{app, code}]++
	r.mu.Unlock()
}

func (r *results) serveMetrics(w http.ResponseWriter, _ *http.Request) {
	r.mu.Lock()
	keys := make([][2]string, 0, len(r.counts))
	for k := range r.counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+keys[i][1] < keys[j][0]+keys[j][1] })
	var b strings.Builder
	b.WriteString("# HELP request_result_total Results of requests\n# TYPE request_result_total counter\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "request_result_total{destination_app=%q,response_code=%q} %d\n", k[0], k[1], r.counts[k])
	}
	r.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = w.Write([]byte(b.String()))
}
