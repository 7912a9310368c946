// Command lateen-proxy is the Lateen data plane: one process per workload
// (sidecar) or gateway (router), doing Envoy's job. Flags are parsed by
// proxycmd; it runs until SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/lateenmesh/lateen/internal/proxy/proxycmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := proxycmd.Main(ctx, os.Args[1:], os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "lateen-proxy:", err)
		}
		os.Exit(1)
	}
}
