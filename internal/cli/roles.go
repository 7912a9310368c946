package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/lateenmesh/lateen/internal/pilot/pilotcmd"
	"github.com/lateenmesh/lateen/internal/proxy/proxycmd"
	"github.com/lateenmesh/lateen/samples"
)

// The role commands let `lateen demo` start every part of the mesh from
// this one binary.

func runPilot(ctx context.Context, env *Env, args []string) error {
	return pilotcmd.Main(ctx, args, env.Stderr)
}

func runProxy(ctx context.Context, env *Env, args []string) error {
	return proxycmd.Main(ctx, args, env.Stderr)
}

func runSample(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: lateen sample APP [flags]")
	}
	if err := samples.Run(ctx, args[0], args[1:], env.Stdout); err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	return nil
}
