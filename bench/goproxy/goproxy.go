// Package goproxy is the Go baseline of the data-plane benchmark: the
// standard library's httputil.ReverseProxy, configured as a sidecar pair
// would be (plaintext in, mutual TLS to the peer; mutual TLS in, plaintext
// to the app), with HTTP/2 where gRPC needs it. It shows what a plain Go
// proxy costs, so that Lateen's own overhead can be told apart.
package goproxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"time"
)

// Route is one listener and where it forwards.
type Route struct {
	// Listen is host:port.
	Listen string `json:"listen"`
	// TLS serves mutual TLS (ServerCert, ServerKey, CA) instead of
	// plaintext.
	TLS bool `json:"tls"`
	// Upstream is an http:// or https:// URL (https uses ClientCert,
	// ClientKey and CA, verifying ServerName).
	Upstream string `json:"upstream"`
	// HTTP2 speaks HTTP/2 on both sides (h2c when plaintext), for gRPC;
	// otherwise HTTP/1.1.
	HTTP2 bool `json:"http2"`
}

// Options configure the proxy.
type Options struct {
	Routes     []Route `json:"routes"`
	CA         string  `json:"ca"`
	ServerCert string  `json:"server_cert"`
	ServerKey  string  `json:"server_key"`
	ClientCert string  `json:"client_cert"`
	ClientKey  string  `json:"client_key"`
	ServerName string  `json:"server_name"`
	Logger     *slog.Logger
}

// Proxy is the running proxy.
type Proxy struct {
	opts Options
}

// New checks options; it does no I/O.
func New(opts Options) (*Proxy, error) {
	if len(opts.Routes) == 0 {
		return nil, errors.New("goproxy: no routes")
	}
	for _, r := range opts.Routes {
		if _, err := url.Parse(r.Upstream); err != nil {
			return nil, fmt.Errorf("goproxy: upstream %q: %w", r.Upstream, err)
		}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Proxy{opts: opts}, nil
}

// Run serves every route until ctx is done.
func (p *Proxy) Run(ctx context.Context) error {
	var servers []*http.Server
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for _, r := range p.opts.Routes {
		srv, err := p.server(r)
		if err != nil {
			return err
		}
		l, err := net.Listen("tcp", r.Listen)
		if err != nil {
			return fmt.Errorf("goproxy: %w", err)
		}
		servers, listeners = append(servers, srv), append(listeners, l)
	}
	errc := make(chan error, len(servers))
	for i, srv := range servers {
		go func() {
			if srv.TLSConfig != nil {
				errc <- srv.ServeTLS(listeners[i], "", "")
			} else {
				errc <- srv.Serve(listeners[i])
			}
		}()
	}
	p.opts.Logger.Info("goproxy serving", "component", "goproxy", "routes", len(servers))
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	for _, srv := range servers {
		_ = srv.Close()
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("goproxy: %w", err)
	}
	return nil
}

func (p *Proxy) server(r Route) (*http.Server, error) {
	target, _ := url.Parse(r.Upstream)
	transport, err := p.transport(target, r.HTTP2)
	if err != nil {
		return nil, err
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
		},
		Transport: transport,
	}
	if r.HTTP2 {
		rp.FlushInterval = -1
	}
	srv := &http.Server{Handler: rp, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 5 * time.Minute}
	var protos http.Protocols
	protos.SetHTTP1(true)
	if r.HTTP2 {
		protos.SetHTTP2(true)
		protos.SetUnencryptedHTTP2(true)
	}
	srv.Protocols = &protos
	if r.TLS {
		cfg, err := p.serverTLS()
		if err != nil {
			return nil, err
		}
		srv.TLSConfig = cfg
	}
	return srv, nil
}

func (p *Proxy) transport(target *url.URL, h2 bool) (*http.Transport, error) {
	t := &http.Transport{
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     5 * time.Minute,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}
	var protos http.Protocols
	switch {
	case h2 && target.Scheme == "https":
		protos.SetHTTP2(true)
	case h2:
		protos.SetUnencryptedHTTP2(true)
	default:
		protos.SetHTTP1(true)
	}
	t.Protocols = &protos
	if target.Scheme == "https" {
		cfg, err := p.clientTLS()
		if err != nil {
			return nil, err
		}
		t.TLSClientConfig = cfg
	}
	return t, nil
}

func (p *Proxy) serverTLS() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(p.opts.ServerCert, p.opts.ServerKey)
	if err != nil {
		return nil, fmt.Errorf("goproxy: server certificate: %w", err)
	}
	pool, err := loadPool(p.opts.CA)
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}, nil
}

func (p *Proxy) clientTLS() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(p.opts.ClientCert, p.opts.ClientKey)
	if err != nil {
		return nil, fmt.Errorf("goproxy: client certificate: %w", err)
	}
	pool, err := loadPool(p.opts.CA)
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, ServerName: p.opts.ServerName, MinVersion: tls.VersionTLS12}, nil
}

func loadPool(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("goproxy: CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("goproxy: CA %s: no certificates", path)
	}
	return pool, nil
}
