package http

import (
	"context"
	"errors"
	"fmt"
	"io"
	nethttp "net/http"
	"strings"
)

// upgrade completes a protocol switch (101): the downstream connection is
// hijacked, gets the upstream's 101 and then the bytes both ways until
// either side ends or the request's context does.
func (rt *router) upgrade(w nethttp.ResponseWriter, out *nethttp.Request, resp *nethttp.Response, f *forward, ctx context.Context) {
	reqType, respType := upgradeType(out.Header), upgradeType(resp.Header)
	if !isPrint(respType) {
		rt.fail(w, f, ctx, fmt.Errorf("backend tried to switch to invalid protocol %q", respType))
		return
	}
	if !strings.EqualFold(reqType, respType) {
		rt.fail(w, f, ctx, fmt.Errorf("backend tried to switch protocol %q when %q was requested", respType, reqType))
		return
	}
	backend, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		rt.fail(w, f, ctx, errors.New("101 switching protocols response with non-writable body"))
		return
	}
	conn, brw, err := nethttp.NewResponseController(w).Hijack()
	if errors.Is(err, nethttp.ErrNotSupported) {
		rt.fail(w, f, ctx, fmt.Errorf("can't switch protocols using non-Hijacker ResponseWriter type %T", w))
		return
	}
	stop := context.AfterFunc(ctx, func() { backend.Close() })
	defer func() {
		if stop() {
			backend.Close()
		}
	}()
	if err != nil {
		rt.fail(w, f, ctx, fmt.Errorf("hijack failed on protocol switch: %w", err))
		return
	}
	defer conn.Close()
	copyHeader(w.Header(), resp.Header)
	resp.Header, resp.Body = w.Header(), nil // Write sends the headers only
	if err := resp.Write(brw); err != nil {
		return
	}
	if err := brw.Flush(); err != nil {
		return
	}
	errc := make(chan error, 2)
	go func() { errc <- copyHalf(backend, conn) }()
	go func() { errc <- copyHalf(conn, backend) }()
	if err := <-errc; err == nil {
		<-errc
	}
}

// copyHalf copies one direction of an upgraded connection, then
// half-closes dst when it can.
func copyHalf(dst io.Writer, src io.Reader) error {
	if _, err := io.Copy(dst, src); err != nil {
		return err
	}
	if cw, ok := dst.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errUpgradeCopyDone
}

var errUpgradeCopyDone = errors.New("upgraded connection copy complete")
