package load

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// HTTPTarget is where HTTP/1.1 requests go.
type HTTPTarget struct {
	// Addr is the host:port connected to (the server, or an HTTP proxy).
	Addr string `json:"addr"`
	// URL is the request target: a path ("/") for a server, an absolute
	// URL ("http://host:port/") for an HTTP proxy.
	URL string `json:"url"`
	// Host is the Host header.
	Host string `json:"host"`
	// BodySize is the expected response body length; a different length
	// counts as an error. 0 accepts any.
	BodySize int `json:"body_size"`
}

// requestTimeout bounds one request, so a stuck connection counts as an
// error instead of stopping its worker.
const requestTimeout = 10 * time.Second

// Dial returns a Dial for keep-alive HTTP/1.1 connections to t.
func (t HTTPTarget) Dial() Dial {
	req := []byte(fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: lateen-bench\r\n\r\n", t.URL, t.Host))
	return func(ctx context.Context) (Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", t.Addr)
		if err != nil {
			return nil, err
		}
		return &httpConn{conn: c, br: bufio.NewReaderSize(c, 16<<10), req: req, bodySize: t.BodySize}, nil
	}
}

type httpConn struct {
	conn     net.Conn
	br       *bufio.Reader
	req      []byte
	bodySize int
}

func (c *httpConn) Do(context.Context) error {
	if err := c.conn.SetDeadline(time.Now().Add(requestTimeout)); err != nil {
		return err
	}
	if _, err := c.conn.Write(c.req); err != nil {
		return err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return err
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s", resp.Status)
	}
	if c.bodySize > 0 && n != int64(c.bodySize) {
		return fmt.Errorf("body of %d bytes, want %d", n, c.bodySize)
	}
	if resp.Close {
		return errConnClosed
	}
	return nil
}

// errConnClosed makes the worker dial again after a response that closed
// the connection; the request itself succeeded, so the worker counts it.
var errConnClosed = errors.New("load: server closed the connection")

func (c *httpConn) Close() error { return c.conn.Close() }

// Once sends one request to t and reports whether it succeeded.
func (t HTTPTarget) Once(ctx context.Context) error {
	c, err := t.Dial()(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Do(ctx); err != nil && err != errConnClosed {
		return err
	}
	return nil
}
