// Command lateen-bench runs Lateen's benchmarks: the data plane against
// nginx, HAProxy and Go's ReverseProxy, sidecar memory against mesh size,
// and the control plane under many proxies. See bench/README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/lateenmesh/lateen/bench/benchcmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := benchcmd.Main(ctx, os.Args[1:], os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "lateen-bench:", err)
		}
		os.Exit(1)
	}
}
