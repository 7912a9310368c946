// Package proxycmd is lateen-proxy's command line, shared by the
// lateen-proxy binary and `lateen proxy`.
package proxycmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"

	"github.com/lateenmesh/lateen/internal/proxy"
	"github.com/lateenmesh/lateen/internal/proxy/capture"
)

// Subcommands run instead of the proxy when named as the first argument
// (e.g. "lateen-proxy iptables" in the capture issue).
var subcommands = map[string]func(ctx context.Context, args []string, stderr io.Writer) error{
	"iptables": func(ctx context.Context, args []string, stderr io.Writer) error {
		return capture.Main(ctx, args, os.Stdout, stderr) // --dry-run prints the rules on stdout
	},
}

// Main parses args (without the program name) and runs the proxy until ctx
// is done.
func Main(ctx context.Context, args []string, stderr io.Writer) error {
	if len(args) > 0 {
		if cmd, ok := subcommands[args[0]]; ok {
			return cmd(ctx, args[1:], stderr)
		}
	}
	o, err := parse(args, stderr)
	if err != nil {
		return err
	}
	p, err := proxy.New(o)
	if err != nil {
		return err
	}
	return p.Run(ctx)
}

func parse(args []string, stderr io.Writer) (proxy.Options, error) {
	fs := flag.NewFlagSet("lateen-proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o proxy.Options
	var labels, level string
	registerIdentity(fs, &o, &labels)
	registerServing(fs, &o, &level)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if !flagSet(fs, "xds-tls") {
		_, port, _ := net.SplitHostPort(o.XDSAddress)
		o.XDSTLS = port == "15012"
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if o.Concurrency < 0 {
		return o, fmt.Errorf("--concurrency %d: want 0 (the runtime's choice) or more", o.Concurrency)
	}
	if !flagSet(fs, "concurrency") {
		// Istio's default, but never more than the runtime would use
		// (GOMAXPROCS, the CPUs or the container's CPU limit).
		o.Concurrency = min(o.Concurrency, runtime.GOMAXPROCS(0))
	}
	var err error
	if o.Labels, err = parseLabels(labels); err != nil {
		return o, err
	}
	o.LogLevel = new(slog.LevelVar)
	if err := o.LogLevel.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return o, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	o.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: o.LogLevel})).
		With("program", "lateen-proxy", "workload", o.WorkloadName)
	return o, nil
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func parseLabels(s string) (map[string]string, error) {
	out := map[string]string{}
	if s == "" {
		return out, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, errors.New("--labels: want k=v,k=v, got " + s)
		}
		out[k] = v
	}
	return out, nil
}

// registerIdentity registers the flags that say who the workload is and
// where the proxy serves.
func registerIdentity(fs *flag.FlagSet, o *proxy.Options, labels *string) {
	fs.StringVar(&o.XDSAddress, "xds-address", "127.0.0.1:15010", "ADS server address (host:port)")
	fs.StringVar(&o.NodeType, "type", "sidecar", "proxy type: sidecar or router")
	fs.StringVar(&o.IP, "ip", "", "workload IP address (required)")
	fs.StringVar(&o.Namespace, "namespace", "default", "workload namespace")
	fs.StringVar(&o.WorkloadName, "workload-name", "", "workload name (required)")
	fs.StringVar(&o.ServiceAccount, "service-account", "default", "workload service account")
	fs.StringVar(labels, "labels", "", "workload labels, k=v,k=v")
	fs.StringVar(&o.InterceptionMode, "interception-mode", "NONE", "traffic capture: NONE, REDIRECT or TPROXY")
	fs.StringVar(&o.ClusterID, "cluster-id", "Kubernetes", "cluster id")
	fs.StringVar(&o.DomainSuffix, "domain-suffix", "cluster.local", "DNS domain suffix")
	fs.StringVar(&o.WildcardAddress, "wildcard-address", "", "address to bind 0.0.0.0 listeners on (default --ip)")
	fs.StringVar(&o.AdminAddress, "admin-address", "", "admin address (default <ip>:15000)")
	fs.StringVar(&o.ReadyAddress, "ready-address", "", "readiness address (default <ip>:15021)")
	fs.StringVar(&o.StatsAddress, "stats-address", "", "Prometheus stats address, /stats/prometheus (default <ip>:15090)")
	fs.StringVar(&o.MergedStatsAddress, "merged-stats-address", "", "merged Prometheus stats address with the app's metrics (default <ip>:15020; - for none)")
	fs.StringVar(&o.AppMetricsURL, "app-metrics-url", "", "the application's Prometheus metrics, merged on the merged stats address (e.g. http://127.0.0.1:9080/metrics)")
	fs.Func("stats-inclusion-prefixes", "comma-separated Envoy-style stat name prefixes exported on /stats/prometheus (default server.,control_plane.,cluster_manager.,listener_manager.)",
		func(v string) error { o.StatsInclusionPrefixes = strings.Split(v, ","); return nil })
}

// registerServing registers the flags for certificates, pilot's TLS,
// logging and the Go runtime.
func registerServing(fs *flag.FlagSet, o *proxy.Options, level *string) {
	fs.StringVar(&o.CAAddress, "ca-address", "", "pilot's CA (host:port, e.g. 127.0.0.1:15012); empty: no workload certificate")
	fs.StringVar(&o.RootCertFile, "root-cert", "", "PEM root certificate(s) that verify pilot (CA and xDS over TLS)")
	fs.StringVar(&o.TokenFile, "token-file", "", "bootstrap token file, sent to the CA as a bearer token")
	fs.StringVar(&o.KeyAlgorithm, "key-algorithm", "ECDSA", "workload key: ECDSA (P-256) or RSA (2048)")
	fs.DurationVar(&o.CertTTL, "cert-ttl", 0, "workload certificate lifetime to ask for (0: the CA's default, 24h)")
	fs.StringVar(&o.TrustDomain, "trust-domain", "", "trust domain; when set, the CSR names the workload identity")
	fs.BoolVar(&o.XDSTLS, "xds-tls", false, "connect to xDS over TLS (default: true when the xDS port is 15012)")
	fs.StringVar(level, "log-level", "info", "log level: debug, info, warn, error")
	fs.IntVar(&o.GCPercent, "gc-percent", 0, "Go GC target percentage, as GOGC (0: GOGC or Go's default, 100; -1: off)")
	fs.Int64Var(&o.MemoryLimit, "memory-limit", 0, "Go soft memory limit in bytes, as GOMEMLIMIT (0: GOMEMLIMIT or none)")
	fs.IntVar(&o.Concurrency, "concurrency", 2, "cores the proxy runs on at once (GOMAXPROCS), as Istio's ProxyConfig concurrency: default 2 (at most the runtime's choice), 0 for the runtime's choice (all CPUs, the container's limit or GOMAXPROCS)")
	fs.BoolVar(&o.TrimMemory, "trim-memory", true, "return the memory freed by a configuration update to the OS once updates settle")
}
