package load

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/lateenmesh/lateen/bench/upstream"
)

// GRPCTarget is where gRPC calls go: plaintext HTTP/2 (h2c) to Addr with
// Authority as :authority (a sidecar routes by it).
type GRPCTarget struct {
	Addr      string `json:"addr"`
	Authority string `json:"authority"`
	BodySize  int    `json:"body_size"`
}

// GRPCClient is one HTTP/2 connection shared by the load's workers, as a
// gRPC application has.
type GRPCClient struct {
	conn     *grpc.ClientConn
	bodySize int
}

// NewGRPCClient prepares a connection to t; it connects on first use.
func NewGRPCClient(t GRPCTarget) (*GRPCClient, error) {
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if t.Authority != "" {
		opts = append(opts, grpc.WithAuthority(t.Authority))
	}
	conn, err := grpc.NewClient("passthrough:///"+t.Addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("load: grpc %s: %w", t.Addr, err)
	}
	return &GRPCClient{conn: conn, bodySize: t.BodySize}, nil
}

// Close closes the connection.
func (c *GRPCClient) Close() error { return c.conn.Close() }

// Dial returns workers that call upstream.EchoMethod on the shared
// connection.
func (c *GRPCClient) Dial() Dial {
	return func(context.Context) (Conn, error) { return grpcCall{c}, nil }
}

// Once makes one call.
func (c *GRPCClient) Once(ctx context.Context) error { return grpcCall{c}.Do(ctx) }

type grpcCall struct{ c *GRPCClient }

func (g grpcCall) Do(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	out := new(wrapperspb.BytesValue)
	if err := g.c.conn.Invoke(ctx, upstream.EchoMethod, wrapperspb.Bytes([]byte("ping")), out); err != nil {
		return err
	}
	if g.c.bodySize > 0 && len(out.Value) != g.c.bodySize {
		return fmt.Errorf("payload of %d bytes, want %d", len(out.Value), g.c.bodySize)
	}
	return nil
}

func (grpcCall) Close() error { return nil }
