// Command lateen-pilot is Lateen's control plane (istiod's job): it reads
// Istio configuration and serves it to proxies as Envoy xDS.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/lateenmesh/lateen/internal/pilot/pilotcmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := pilotcmd.Main(ctx, os.Args[1:], os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "lateen-pilot:", err)
		}
		os.Exit(1)
	}
}
