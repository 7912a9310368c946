package cli

import (
	"context"
	"errors"
	"fmt"
	"os/exec"

	"github.com/lateenmesh/lateen/internal/demo"
)

func runExec(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "exec")
	stateDir := fs.String("state-dir", defaultStateDir(env), "state directory of the running demo")
	fs.Usage = func() {
		fmt.Fprintln(env.Stderr, "usage: lateen exec [--state-dir DIR] WORKLOAD -- CMD [ARGS...]\n"+
			"Runs CMD as WORKLOAD: in its network namespace (capture=iptables, as root), else with its sidecar as HTTP proxy.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) > 0 && rest[0] != "--" && len(rest) > 1 && rest[1] == "--" {
		rest = append(rest[:1], rest[2:]...)
	}
	if len(rest) < 2 {
		fs.Usage()
		return errors.New("a workload and a command are required")
	}
	ws, err := demo.ReadWorkloads(*stateDir)
	if err != nil {
		return fmt.Errorf("%w (is `lateen demo` running with --state-dir %s?)", err, *stateDir)
	}
	w, err := demo.FindWorkload(ws, rest[0])
	if err != nil {
		return err
	}
	// Under capture=iptables the command runs in the workload's network
	// namespace (`ip netns exec`), where the capture rules send its
	// traffic through the sidecar and the mesh's names resolve.
	argv := append(demo.NetnsExec(w), rest[1:]...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(environ(env), demo.WorkloadEnv(w)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = env.Stdin, env.Stdout, env.Stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return &exitError{code: ee.ExitCode()}
		}
		return err
	}
	return nil
}
