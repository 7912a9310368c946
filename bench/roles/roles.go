// Package roles are the child processes the data-plane harness starts from
// its own binary: the upstream server and one Go ReverseProxy of a pair.
package roles

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/lateenmesh/lateen/bench/goproxy"
	"github.com/lateenmesh/lateen/bench/upstream"
)

// Upstream runs "upstream --http ADDR --grpc ADDR".
func Upstream(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("lateen-bench upstream", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o upstream.Options
	fs.StringVar(&o.HTTPAddress, "http", "", "HTTP/1.1 listen address")
	fs.StringVar(&o.GRPCAddress, "grpc", "", "gRPC (h2c) listen address")
	if err := parse(fs, args); err != nil {
		return err
	}
	o.Logger = slog.New(slog.NewTextHandler(stderr, nil)).With("program", "lateen-bench upstream")
	s, err := upstream.New(o)
	if err != nil {
		return err
	}
	return s.Run(ctx)
}

// GoProxy runs "goproxy --config FILE".
func GoProxy(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("lateen-bench goproxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	conf := fs.String("config", "", "JSON file of goproxy.Options (written by the dataplane harness)")
	if err := parse(fs, args); err != nil {
		return err
	}
	data, err := os.ReadFile(*conf)
	if err != nil {
		return err
	}
	var o goproxy.Options
	if err := json.Unmarshal(data, &o); err != nil {
		return fmt.Errorf("%s: %w", *conf, err)
	}
	o.Logger = slog.New(slog.NewTextHandler(stderr, nil)).With("program", "lateen-bench goproxy")
	p, err := goproxy.New(o)
	if err != nil {
		return err
	}
	return p.Run(ctx)
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	return nil
}

// Main runs the role named by args[0].
func Main(ctx context.Context, args []string, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("roles: want upstream or goproxy")
	}
	switch args[0] {
	case "upstream":
		return Upstream(ctx, args[1:], stderr)
	case "goproxy":
		return GoProxy(ctx, args[1:], stderr)
	}
	return fmt.Errorf("roles: unknown role %q", args[0])
}
