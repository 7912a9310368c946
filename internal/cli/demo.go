package cli

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/lateenmesh/lateen/internal/demo"
	"github.com/lateenmesh/lateen/internal/logging"
)

func runDemo(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "demo")
	opts := demo.Options{Executable: env.Executable, Environ: environ(env), TempDir: tempDir(env), Stdout: env.Stdout}
	fs.StringVar(&opts.ConfigDir, "config-dir", "", "directory for the demo's Istio YAML (default: a new temporary directory)")
	fs.StringVar(&opts.StateDir, "state-dir", defaultStateDir(env), "directory for the running demo's state and logs")
	fs.IntVar(&opts.IngressPort, "ingress-port", 8080, "port of the ingress gateway on 127.0.0.1")
	fs.StringVar(&opts.Capture, "capture", demo.CaptureAuto, "traffic capture: iptables (a network namespace per workload with Istio's\n"+
		"iptables rules; needs root, ip, iptables and setpriv), none (apps use their sidecar as HTTP proxy),\n"+
		"or auto: iptables when possible, else none")
	cleanup := fs.Bool("cleanup", false, "remove what a demo that did not exit cleanly left (network namespaces, bridge, files) and exit")
	fs.StringVar(&opts.CACertsDir, "cacerts-dir", "", "plug in a CA: directory of Istio's cacerts files (default: the demo's self-signed root)")
	fs.DurationVar(&opts.WorkloadCertTTL, "workload-cert-ttl", 0, "lifetime of the workloads' certificates, rotated at half of it (default 24h)")
	base := fs.String("address-base", "", "first loopback address of the demo (default: the first free 127.N.0.1)")
	level := fs.String("log-level", "warn", "log level of the demo itself")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if *base != "" {
		a, err := netip.ParseAddr(*base)
		if err != nil || !a.Is4() || !a.IsLoopback() {
			return fmt.Errorf("--address-base %q: want an IPv4 loopback address such as 127.10.0.1", *base)
		}
		opts.AddressBase = a
	}
	logger, err := logging.New(env.Stderr, *level)
	if err != nil {
		return err
	}
	opts.Logger = logger
	if *cleanup {
		return demo.Cleanup(ctx, opts.StateDir, env.Stdout)
	}
	opts.Host = demo.Host{Root: os.Geteuid() == 0, LookPath: func(p string) error { _, err := exec.LookPath(p); return err }}
	if err := os.MkdirAll(opts.StateDir, 0o755); err != nil {
		return err
	}
	return demo.Run(ctx, opts)
}

func environ(env *Env) []string {
	var out []string
	for _, k := range []string{"PATH", "HOME", "USER", "TMPDIR", "LANG", "TERM", "GOCOVERDIR"} {
		if v := env.Getenv(k); v != "" {
			out = append(out, k+"="+v)
		}
	}
	return out
}

func tempDir(env *Env) string {
	if d := env.Getenv("TMPDIR"); d != "" {
		return d
	}
	return "/tmp"
}

// defaultStateDir is where `lateen demo` keeps its state unless told
// otherwise, so other commands find a running demo without flags.
func defaultStateDir(env *Env) string {
	return filepath.Join(tempDir(env), "lateen-demo")
}
