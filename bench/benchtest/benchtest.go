// Package benchtest lets the harnesses' smoke tests run without building
// anything: the test binary re-runs itself as lateen-pilot, lateen-proxy or
// the benchmark's own roles (bench/roles), chosen by an environment variable that the
// test's TestMain reads:
//
//	func TestMain(m *testing.M) { benchtest.TestMain(m) }
package benchtest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/lateenmesh/lateen/bench/launch"
	"github.com/lateenmesh/lateen/bench/roles"
	"github.com/lateenmesh/lateen/internal/pilot/pilotcmd"
	"github.com/lateenmesh/lateen/internal/proxy/proxycmd"
)

// RoleEnv selects the role a re-run test binary plays.
const RoleEnv = "LATEEN_BENCH_TEST_ROLE"

// Binaries runs every role from the test binary exe (os.Args[0]).
func Binaries(exe string) launch.Binaries {
	role := func(r string) launch.Command { return launch.Command{Path: exe, Env: []string{RoleEnv + "=" + r}} }
	return launch.Binaries{Pilot: role("pilot"), Proxy: role("proxy"), Self: role("bench")}
}

// TestMain plays the role RoleEnv names, if any, else runs the tests; it
// exits.
func TestMain(m *testing.M) {
	if role := os.Getenv(RoleEnv); role != "" {
		os.Exit(Main(role, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// Main runs role with args until SIGTERM and returns the exit code.
func Main(role string, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	run := map[string]func(context.Context, []string, *os.File) error{
		"pilot": func(ctx context.Context, a []string, w *os.File) error { return pilotcmd.Main(ctx, a, w) },
		"proxy": func(ctx context.Context, a []string, w *os.File) error { return proxycmd.Main(ctx, a, w) },
		"bench": func(ctx context.Context, a []string, w *os.File) error { return roles.Main(ctx, a, w) },
	}[role]
	if run == nil {
		fmt.Fprintf(os.Stderr, "benchtest: unknown role %q\n", role)
		return 2
	}
	if err := run(ctx, args, os.Stderr); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(os.Stderr, "%s: %v\n", role, err)
		return 1
	}
	return 0
}
