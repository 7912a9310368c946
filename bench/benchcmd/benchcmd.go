// Package benchcmd is lateen-bench's command line: the three benchmark
// harnesses (dataplane, memory, controlplane) and the roles they run as
// child processes (upstream, goproxy).
package benchcmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/lateenmesh/lateen/bench/launch"
	"github.com/lateenmesh/lateen/bench/roles"
)

type command struct {
	summary string
	run     func(ctx context.Context, args []string, stderr io.Writer) error
}

var commands = map[string]command{
	"dataplane":    {"latency, throughput, CPU and memory of proxy pairs (make bench-dataplane)", dataplaneCmd},
	"memory":       {"sidecar memory against mesh size (make bench-memory)", memoryCmd},
	"controlplane": {"pilot under N simulated proxies (make bench-controlplane)", controlplaneCmd},
	"upstream":     {"run the benchmarks' upstream server (used by dataplane)", roles.Upstream},
	"goproxy":      {"run one Go ReverseProxy of a pair (used by dataplane)", roles.GoProxy},
}

// Main runs the subcommand named by args[0].
func Main(ctx context.Context, args []string, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		return flag.ErrHelp
	}
	c, ok := commands[args[0]]
	if !ok {
		usage(stderr)
		return fmt.Errorf("unknown command %q", args[0])
	}
	return c.run(ctx, args[1:], stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: lateen-bench COMMAND [flags]  (COMMAND -h for its flags)")
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-13s %s\n", n, commands[n].summary)
	}
}

// common are the flags every harness takes.
type common struct {
	binDir, workDir, outDir string
	keep                    bool
	level                   string
}

func (c *common) register(fs *flag.FlagSet, out string) {
	fs.StringVar(&c.binDir, "bin-dir", "", "directory with lateen-pilot and lateen-proxy (default: go build them)")
	fs.StringVar(&c.workDir, "work-dir", "", "directory for configuration and logs (default: a temporary one, removed)")
	fs.StringVar(&c.outDir, "out", out, "directory for the result page, JSON and charts")
	fs.BoolVar(&c.keep, "keep", false, "keep the work directory")
	fs.StringVar(&c.level, "log-level", "info", "log level: debug, info, warn, error")
}

// setup prepares the work directory, the logger and the binaries; cleanup
// removes what setup created.
func (c *common) setup(program string, stderr io.Writer) (launch.Binaries, *slog.Logger, func(), error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.level)); err != nil {
		return launch.Binaries{}, nil, nil, fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})).With("program", "lateen-bench "+program)
	cleanup := func() {}
	if c.workDir == "" {
		dir, err := os.MkdirTemp("", "lateen-bench-"+program+"-")
		if err != nil {
			return launch.Binaries{}, nil, nil, err
		}
		c.workDir = dir
		if !c.keep {
			cleanup = func() { os.RemoveAll(dir) }
		}
	}
	if err := os.MkdirAll(c.workDir, 0o755); err != nil {
		return launch.Binaries{}, nil, nil, err
	}
	bin, err := c.binaries(log)
	if err != nil {
		cleanup()
		return launch.Binaries{}, nil, nil, err
	}
	log.Info("work directory", "component", "bench", "dir", c.workDir, "kept", c.keep)
	return bin, log, cleanup, nil
}

func (c *common) binaries(log *slog.Logger) (launch.Binaries, error) {
	self, err := os.Executable()
	if err != nil {
		return launch.Binaries{}, err
	}
	dir := c.binDir
	if dir == "" {
		dir = filepath.Join(c.workDir, "bin")
		log.Info("building lateen-pilot and lateen-proxy", "component", "bench", "dir", dir)
		cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "./cmd/lateen-pilot", "./cmd/lateen-proxy")
		if out, err := cmd.CombinedOutput(); err != nil {
			return launch.Binaries{}, fmt.Errorf("go build (run from the repository root or pass --bin-dir): %v\n%s", err, out)
		}
	}
	bin := launch.Binaries{
		Pilot: launch.Command{Path: filepath.Join(dir, "lateen-pilot")},
		Proxy: launch.Command{Path: filepath.Join(dir, "lateen-proxy")},
		Self:  launch.Command{Path: self},
	}
	for _, p := range []string{bin.Pilot.Path, bin.Proxy.Path} {
		if _, err := os.Stat(p); err != nil {
			return bin, fmt.Errorf("--bin-dir: %w", err)
		}
	}
	return bin, nil
}

// commandLine is how the run was started, for result pages.
func commandLine(program string, args []string) string {
	return strings.TrimSpace("lateen-bench " + program + " " + strings.Join(args, " "))
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

// intList parses "10,100,1000".
func intList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, errors.New("want positive integers separated by commas, got " + s)
		}
		out = append(out, n)
	}
	return out, nil
}
