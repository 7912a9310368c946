// Package cli is the lateen command (istioctl's job): one file per
// command. `lateen demo` also runs pilot, proxies and sample apps as child
// processes of this same binary through hidden role commands.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Env is what a command may use of its process: streams, the path of this
// binary (to start roles) and the environment, read only through Getenv.
type Env struct {
	Stdin      io.Reader
	Stdout     io.Writer
	Stderr     io.Writer
	Executable string
	Getenv     func(string) string
}

type command struct {
	name    string
	summary string
	hidden  bool
	run     func(ctx context.Context, env *Env, args []string) error
}

func commands() []command {
	return []command{
		{name: "demo", summary: "run the mesh with Istio's sample apps on this machine", run: runDemo},
		{name: "apply", summary: "validate Istio YAML and create or replace its objects in the config directory", run: runApply},
		{name: "delete", summary: "remove the objects of Istio YAML from the config directory", run: runDelete},
		{name: "exec", summary: "run a command as a demo workload, its traffic through its sidecar", run: runExec},
		{name: "proxy-config", summary: "show a workload proxy's configuration: secret (its certificates)", run: runProxyConfig},
		{name: "version", summary: "print the version", run: runVersion},
		{name: "pilot", hidden: true, run: runPilot},
		{name: "proxy", hidden: true, run: runProxy},
		{name: "sample", hidden: true, run: runSample},
	}
}

// Main runs the command named by args[0] and returns the exit code.
func Main(ctx context.Context, env *Env, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(env.Stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, env, args[1:])
		var ee *exitError
		switch {
		case err == nil:
			return 0
		case errors.As(err, &ee):
			return ee.code
		case errors.Is(err, flag.ErrHelp):
			return 2
		default:
			fmt.Fprintf(env.Stderr, "lateen %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(env.Stderr, "lateen: unknown command %q\n\n", args[0])
	usage(env.Stderr)
	return 2
}

func usage(w io.Writer) {
	var b strings.Builder
	b.WriteString("lateen: an Istio-compatible service mesh\n\nUsage: lateen <command> [flags]\n\nCommands:\n")
	for _, c := range commands() {
		if !c.hidden {
			fmt.Fprintf(&b, "  %-13s %s\n", c.name, c.summary)
		}
	}
	b.WriteString("\nRun 'lateen <command> -h' for a command's flags.\n")
	_, _ = io.WriteString(w, b.String())
}

// exitError carries the exit code of a command run by `lateen exec`.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func newFlagSet(env *Env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("lateen "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	return fs
}

// Version is set at build time with -ldflags "-X ...cli.Version=...".
var Version = "dev"

func runVersion(_ context.Context, env *Env, _ []string) error {
	fmt.Fprintf(env.Stdout, "lateen %s\n", Version)
	return nil
}
