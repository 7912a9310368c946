// Package pilotcmd is lateen-pilot's command line, shared by the
// lateen-pilot binary and `lateen pilot`.
package pilotcmd

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/lateenmesh/lateen/internal/ca"
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
	fs.StringVar(&opts.SecureAddress, "secure-address", "", `address for xDS and the CA over TLS (default: the xDS host, port 15012; "off" disables)`)
	fs.StringVar(&opts.TrustDomain, "trust-domain", "", "trust domain of workload identities (default: the mesh config's, else cluster.local)")
	fs.StringVar(&opts.CADir, "ca-dir", "", "directory that persists the self-signed root CA (created on first start)")
	fs.StringVar(&opts.CACertsDir, "cacerts-dir", "", "directory of a plugged-in CA: ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem")
	fs.DurationVar(&opts.WorkloadCertTTL, "workload-cert-ttl", ca.DefaultWorkloadCertTTL, "lifetime of workload certificates when the request names none")
	fs.DurationVar(&opts.MaxWorkloadCertTTL, "max-workload-cert-ttl", ca.DefaultMaxWorkloadCertTTL, "longest workload certificate lifetime a request may ask for")
	fs.StringVar(&opts.CredentialsDir, "credentials-dir", "", "directory of TLS credentials for credentialName: <namespace>/<name>/{tls.crt,tls.key,ca.crt}")
	fs.StringVar(&opts.WorkloadTokensFile, "workload-tokens", "", "file of bootstrap token hashes: <sha256-hex> <namespace>/<serviceAccount> per line")
	tlsNames := fs.String("tls-san", "", "more DNS names or IPs for pilot's TLS certificate, comma-separated")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *tlsNames != "" {
		opts.TLSNames = strings.Split(*tlsNames, ",")
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
