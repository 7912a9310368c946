// Package pilotcmd is lateen-pilot's command line, shared by the
// lateen-pilot binary and `lateen pilot`.
package pilotcmd

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/lateenmesh/lateen/internal/logging"
	"github.com/lateenmesh/lateen/internal/pilot"
)

// Main parses args (without the program name) and runs the control plane
// until ctx is done.
func Main(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("lateen-pilot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts pilot.Options
	fs.StringVar(&opts.ConfigDir, "config-dir", "", "directory of Istio YAML to watch (required)")
	fs.StringVar(&opts.MeshConfigFile, "mesh-config", "", "MeshConfig file (Istio's mesh file format)")
	fs.StringVar(&opts.XDSAddress, "xds-address", "127.0.0.1:15010", "address for plaintext xDS (ADS)")
	fs.StringVar(&opts.HTTPAddress, "http-address", "127.0.0.1:15014", "address for /ready, /metrics and /debug")
	fs.StringVar(&opts.DomainSuffix, "domain", "cluster.local", "DNS domain suffix of services")
	fs.StringVar(&opts.SystemNamespace, "system-namespace", "istio-system", "namespace of the mesh ConfigMap")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	logger, err := logging.New(stderr, *level)
	if err != nil {
		return err
	}
	opts.Logger = logger.With("program", "lateen-pilot")
	p, err := pilot.New(opts)
	if err != nil {
		return err
	}
	slog.SetDefault(opts.Logger)
	return p.Run(ctx)
}
