package pilot

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/lateenmesh/lateen/internal/mesh"
	"github.com/lateenmesh/lateen/internal/xds"
)

func (p *Pilot) serveHTTP(ctx context.Context, lis net.Listener) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ready", p.handleReady)
	mux.Handle("GET /metrics", promhttp.HandlerFor(p.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /debug/syncz", p.handleSyncz)
	mux.HandleFunc("GET /debug/configz", p.handleConfigz)
	mux.HandleFunc("POST /debug/ca/rotate-root", p.handleRotateRoot)
	// Go's profiles, as istiod serves them: the HTTP port listens on
	// loopback by default.
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-errc
		return nil
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}

// handleRotateRoot replaces the self-signed root now (the operator's
// "rotate the root" step; it also happens by itself near the root's end of
// life). Proxies get the new bundle over SDS and trust both roots until
// the old one expires; a plugged-in CA rotates by replacing its files.
func (p *Pilot) handleRotateRoot(w http.ResponseWriter, _ *http.Request) {
	if p.ca == nil {
		http.Error(w, "no CA is running", http.StatusNotFound)
		return
	}
	if err := p.ca.RotateRoot(); err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	roots := p.ca.Roots()
	out := struct {
		Roots   int    `json:"roots"`
		Subject string `json:"subject"`
	}{Roots: len(roots)}
	if len(roots) > 0 {
		out.Subject = roots[0].Subject.String()
	}
	writeJSON(w, out)
}

func (p *Pilot) handleReady(w http.ResponseWriter, _ *http.Request) {
	if !p.ready.Load() {
		http.Error(w, "not ready: configuration not loaded yet", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

type syncz struct {
	Proxies []syncProxy `json:"proxies"`
}

type syncProxy struct {
	xds.ProxyStatus
	Synced bool `json:"synced"`
}

func (p *Pilot) handleSyncz(w http.ResponseWriter, _ *http.Request) {
	out := syncz{Proxies: []syncProxy{}}
	if s := p.xdsServer(); s != nil {
		for _, ps := range s.Status() {
			out.Proxies = append(out.Proxies, syncProxy{ProxyStatus: ps, Synced: ps.Synced()})
		}
	}
	writeJSON(w, out)
}

type configz struct {
	Version  uint64           `json:"version"`
	Accepted []acceptedObject `json:"accepted"`
	Rejected []rejectedObject `json:"rejected"`
	// Ignored lists accepted objects (or parts) that do not take effect.
	Ignored []mesh.Note `json:"ignored"`
}

type acceptedObject struct {
	Kind      string          `json:"kind"`
	Namespace string          `json:"namespace"`
	Name      string          `json:"name"`
	Origin    string          `json:"origin"`
	Spec      json.RawMessage `json:"spec"`
}

type rejectedObject struct {
	Kind         string `json:"kind,omitempty"`
	Namespace    string `json:"namespace,omitempty"`
	Name         string `json:"name,omitempty"`
	Origin       string `json:"origin"`
	Error        string `json:"error"`
	KeptLastGood bool   `json:"keptLastGood"`
}

func (p *Pilot) handleConfigz(w http.ResponseWriter, _ *http.Request) {
	out := configz{Accepted: []acceptedObject{}, Rejected: []rejectedObject{}, Ignored: []mesh.Note{}}
	snap := p.snapshot.Load()
	if snap == nil {
		writeJSON(w, out)
		return
	}
	out.Version = snap.Config.Version()
	out.Ignored = append(out.Ignored, snap.Ignored...)
	for _, o := range snap.Config.All() {
		out.Accepted = append(out.Accepted, acceptedObject{
			Kind: o.Kind.Name, Namespace: o.Meta.Namespace, Name: o.Meta.Name,
			Origin: o.Origin.String(), Spec: specJSON(o.Spec),
		})
	}
	for _, r := range snap.Config.Rejected() {
		out.Rejected = append(out.Rejected, rejectedObject{
			Kind: r.Key.Kind.Name, Namespace: r.Key.Namespace, Name: r.Key.Name,
			Origin: r.Origin.String(), Error: r.Error(), KeptLastGood: r.KeptLastGood,
		})
	}
	writeJSON(w, out)
}

func specJSON(m proto.Message) json.RawMessage {
	b, err := protojson.Marshal(m)
	if err != nil {
		return json.RawMessage(`null`)
	}
	return b
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
