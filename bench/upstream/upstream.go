// Package upstream is the benchmarks' backend: a minimal HTTP/1.1 server
// that answers every request with a fixed 1 KB body, and a gRPC server with
// one unary method answering the same payload. It does as little as a
// server can, so that what a benchmark measures is what sits in between.
package upstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// PayloadSize is the size of every response body.
const PayloadSize = 1024

// Payload returns the response body: PayloadSize printable bytes.
func Payload() []byte { return bytes.Repeat([]byte("lateen-bench-1kb"), PayloadSize/16) }

// EchoMethod is the gRPC method the upstream serves: it takes a
// google.protobuf.BytesValue and answers one holding the payload.
const EchoMethod = "/lateen.bench.Echo/Get"

// Options configure the upstream.
type Options struct {
	HTTPAddress string // "" serves no HTTP
	GRPCAddress string // "" serves no gRPC
	Logger      *slog.Logger
}

// Server is the upstream.
type Server struct {
	opts Options

	mu    sync.Mutex
	addrs map[string]net.Addr
}

// New checks options; it starts nothing.
func New(opts Options) (*Server, error) {
	if opts.HTTPAddress == "" && opts.GRPCAddress == "" {
		return nil, errors.New("upstream: an HTTP or gRPC address is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Server{opts: opts, addrs: map[string]net.Addr{}}, nil
}

// Run serves until ctx is done.
func (s *Server) Run(ctx context.Context) error {
	var lis []net.Listener
	closeAll := func() {
		for _, l := range lis {
			l.Close()
		}
	}
	for _, a := range []struct{ name, addr string }{{"http", s.opts.HTTPAddress}, {"grpc", s.opts.GRPCAddress}} {
		if a.addr == "" {
			lis = append(lis, nil)
			continue
		}
		l, err := net.Listen("tcp", a.addr)
		if err != nil {
			closeAll()
			return fmt.Errorf("upstream: %s listen: %w", a.name, err)
		}
		s.mu.Lock()
		s.addrs[a.name] = l.Addr()
		s.mu.Unlock()
		lis = append(lis, l)
	}
	errc := make(chan error, 2)
	n := 0
	if lis[0] != nil {
		n++
		go func() { errc <- serveHTTP(ctx, lis[0]) }()
	}
	if lis[1] != nil {
		n++
		go func() { errc <- serveGRPC(ctx, lis[1]) }()
	}
	s.opts.Logger.Info("upstream serving", "component", "upstream", "http", s.Addr("http"), "grpc", s.Addr("grpc"))
	var first error
	for range n {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Addr returns the bound address of "http" or "grpc", once Run listens.
func (s *Server) Addr(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.addrs[name]; a != nil {
		return a.String()
	}
	return ""
}

func serveHTTP(ctx context.Context, l net.Listener) error {
	body := Payload()
	size := strconv.Itoa(len(body))
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("Content-Length", size)
			_, _ = w.Write(body)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       5 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case <-ctx.Done():
		_ = srv.Close()
		<-errc
		return nil
	case err := <-errc:
		return fmt.Errorf("upstream: http: %w", err)
	}
}

func serveGRPC(ctx context.Context, l net.Listener) error {
	gs := grpc.NewServer()
	RegisterEcho(gs)
	errc := make(chan error, 1)
	go func() { errc <- gs.Serve(l) }()
	select {
	case <-ctx.Done():
		gs.Stop()
		<-errc
		return nil
	case err := <-errc:
		return fmt.Errorf("upstream: grpc: %w", err)
	}
}

// RegisterEcho registers the Echo service (EchoMethod) on s.
func RegisterEcho(s grpc.ServiceRegistrar) {
	payload := Payload()
	s.RegisterService(&grpc.ServiceDesc{
		ServiceName: "lateen.bench.Echo",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: "Get",
			Handler: func(_ any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
				if err := dec(new(wrapperspb.BytesValue)); err != nil {
					return nil, err
				}
				return wrapperspb.Bytes(payload), nil
			},
		}},
	}, struct{}{})
}
