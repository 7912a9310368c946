// Command lateen is Lateen's CLI (istioctl's job) and runs `lateen demo`,
// the whole mesh with Istio's sample apps on one machine.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/lateenmesh/lateen/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	env := &cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Executable: exe, Getenv: os.Getenv}
	code := cli.Main(ctx, env, os.Args[1:])
	stop()
	os.Exit(code)
}
