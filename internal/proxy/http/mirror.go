package http

import (
	"context"
	"errors"
	"io"
	nethttp "net/http"
	"net/http/httptrace"
	"sync"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/cluster"
	"github.com/lateenmesh/lateen/internal/proxy/lb"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// Mirrors (request_mirror_policies) are fire and forget: a mirror never
// delays or fails the request it copies.
const (
	// maxMirrorsInFlight bounds the mirrored requests in flight per router;
	// beyond it mirrors are dropped (upstream_rq_shadow_dropped).
	maxMirrorsInFlight = 256
	// mirrorBufferBytes bounds the request body a mirror may lag behind the
	// request by; a mirror further behind is aborted.
	mirrorBufferBytes = 1 << 20
	// mirrorTimeout bounds a mirror when the route has no timeout.
	mirrorTimeout = time.Minute
	// mirrorDrainBytes is how much of a mirror's response is read (and
	// discarded) before it is closed.
	mirrorDrainBytes = 64 << 10
)

var errMirrorBehind = errors.New("mirror fell too far behind the request body")

// startMirrors sends a copy of the request (as it goes upstream, with its
// authority's host suffixed "-shadow") to each mirror cluster its fraction
// selects. The copy gets the body as the request streams it.
func (rt *router) startMirrors(out *nethttp.Request, f *forward) {
	for _, m := range f.action.Mirrors {
		if sample(m.Fraction) {
			rt.startMirror(out, f, m)
		}
	}
}

func (rt *router) startMirror(out *nethttp.Request, f *forward, m resource.MirrorPolicy) {
	cl := rt.clusters.Get(m.Cluster)
	if cl == nil {
		return
	}
	st := rt.clusterStats(m.Cluster)
	select {
	case rt.mirrors <- struct{}{}:
	default:
		st.shadowDropped.Inc()
		return
	}
	if !cl.Acquire() {
		<-rt.mirrors
		st.shadowDropped.Inc()
		return
	}
	d := f.timeouts.global
	if d <= 0 {
		d = mirrorTimeout
	}
	ctx, cancel := context.WithTimeout(withoutTrace{context.WithoutCancel(out.Context())}, d)
	req := out.Clone(ctx)
	req.Body, req.GetBody = f.mirrorBody(out), nil
	if !m.KeepHost {
		req.Host = shadowHost(out.Host)
	}
	go rt.shadow(req, cl, func() { cancel(); cl.Release(); <-rt.mirrors })
}

// withoutTrace hides the request's httptrace hooks from a mirror: they
// relay 1xx responses to the client and record the connection used, and
// a mirror's response is nobody's business.
type withoutTrace struct{ context.Context }

func (c withoutTrace) Value(key any) any {
	v := c.Context.Value(key)
	if _, ok := v.(*httptrace.ClientTrace); ok {
		return nil
	}
	return v
}

// mirrorBody returns a body for a mirror: a copy of a buffered body, or a
// branch of the streamed one.
func (f *forward) mirrorBody(out *nethttp.Request) io.ReadCloser {
	switch {
	case out.Body == nil || out.Body == nethttp.NoBody:
		return nethttp.NoBody
	case out.GetBody != nil:
		if b, err := out.GetBody(); err == nil {
			return b
		}
	}
	if f.mirror == nil {
		f.mirror = &mirrorTee{src: out.Body}
		out.Body = f.mirror
	}
	return f.mirror.branch()
}

// finishMirror ends the mirrors' bodies that the request did not finish
// (its body was not read to the end): they are aborted.
func (f *forward) finishMirror() {
	if f.mirror != nil {
		f.mirror.finish()
	}
}

// shadow sends a mirrored request and discards its response.
func (rt *router) shadow(req *nethttp.Request, cl *cluster.Cluster, done func()) {
	defer done()
	ep, ok := cl.Pick(&lb.Request{HTTP: req})
	if !ok {
		cl.Stats.NoHealthyUpstream.Inc()
		req.Body.Close()
		return
	}
	req.URL.Host = ep.Address
	cl.Stats.RqTotal.Inc()
	resp, err := cl.Upstream.RoundTrip(req)
	if err != nil {
		return
	}
	cl.Stats.RqCodes.Record(resp.StatusCode)
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, mirrorDrainBytes))
	resp.Body.Close()
}

// mirrorTee is a request body that hands what is read from it to the
// mirrors' bodies too, without ever blocking the request.
type mirrorTee struct {
	src   io.ReadCloser
	mu    sync.Mutex
	pipes []*mirrorPipe
}

func (t *mirrorTee) branch() *mirrorPipe {
	p := &mirrorPipe{}
	p.cond = sync.NewCond(&p.mu)
	t.mu.Lock()
	t.pipes = append(t.pipes, p)
	t.mu.Unlock()
	return p
}

func (t *mirrorTee) Read(b []byte) (int, error) {
	n, err := t.src.Read(b)
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range t.pipes {
		if n > 0 {
			p.offer(b[:n])
		}
		if err != nil {
			p.closeWrite(err)
		}
	}
	return n, err
}

func (t *mirrorTee) Close() error { return t.src.Close() }

func (t *mirrorTee) finish() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range t.pipes {
		p.closeWrite(io.ErrUnexpectedEOF)
	}
}

// mirrorPipe is one mirror's body: chunks copied from the request body, at
// most mirrorBufferBytes of them waiting.
type mirrorPipe struct {
	mu     sync.Mutex
	cond   *sync.Cond
	chunks [][]byte
	size   int
	err    error // set once the writer is done: io.EOF or why it failed
}

func (p *mirrorPipe) offer(b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return
	}
	if p.size+len(b) > mirrorBufferBytes {
		p.err, p.chunks, p.size = errMirrorBehind, nil, 0
		p.cond.Broadcast()
		return
	}
	p.chunks = append(p.chunks, append([]byte(nil), b...))
	p.size += len(b)
	p.cond.Broadcast()
}

func (p *mirrorPipe) closeWrite(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		p.err = err
		if err != io.EOF {
			p.chunks, p.size = nil, 0
		}
		p.cond.Broadcast()
	}
}

func (p *mirrorPipe) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.chunks) == 0 && p.err == nil {
		p.cond.Wait()
	}
	if len(p.chunks) == 0 {
		return 0, p.err
	}
	n := copy(b, p.chunks[0])
	if n == len(p.chunks[0]) {
		p.chunks = p.chunks[1:]
	} else {
		p.chunks[0] = p.chunks[0][n:]
	}
	p.size -= n
	return n, nil
}

// Close discards what is buffered; later offers are dropped.
func (p *mirrorPipe) Close() error {
	p.closeWrite(io.ErrClosedPipe)
	return nil
}
