package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lateenmesh/lateen/internal/sortedmap"
)

// Options configure a demo run.
type Options struct {
	// ConfigDir receives the demo's Istio YAML; empty: a new temporary
	// directory, removed on exit.
	ConfigDir string
	// StateDir holds demo.json, workloads.json and the logs.
	StateDir string
	// IngressPort is the ingress gateway's port on 127.0.0.1.
	IngressPort int
	// Capture is the traffic capture mode: "auto" (the default), "none"
	// or "iptables" (see ResolveCapture); Host says what auto may use.
	Capture string
	Host    Host
	// CACertsDir plugs an intermediate CA into pilot (Istio's cacerts
	// files: ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem) instead
	// of the demo's self-signed root.
	CACertsDir string
	// WorkloadCertTTL is the lifetime of the workloads' certificates
	// (0: pilot's default, 24h); they rotate at half of it.
	WorkloadCertTTL time.Duration
	// AddressBase is pilot's address; workloads get the next ones. Zero:
	// the first free 127.N.0.1 from 127.10.0.1.
	AddressBase netip.Addr
	// Executable is the lateen binary that runs every role.
	Executable string
	// Environ is the environment children inherit.
	Environ []string
	// TempDir is where a default config directory is created.
	TempDir      string
	ReadyTimeout time.Duration
	Stdout       io.Writer
	Logger       *slog.Logger
}

// Run starts the demo and blocks until ctx is done, then stops every
// process and removes what it created.
func Run(ctx context.Context, opts Options) (err error) {
	d, err := newDemo(opts)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, d.cleanup()) }()
	if err := d.prepare(ctx); err != nil {
		return err
	}
	if err := d.setupNetwork(ctx); err != nil {
		return err
	}
	if err := d.startAll(); err != nil {
		return err
	}
	if err := d.waitReady(ctx); err != nil {
		return err
	}
	d.printReady()
	if p := firstExit(ctx, d.procs); p != nil {
		return p.exited()
	}
	return nil
}

type demo struct {
	opts        Options
	base        netip.Addr
	workloads   []*Workload
	procs       []*process
	createdCfg  bool
	written     []string // files the demo created, removed on exit
	ingressAddr string
	// net is the private network of capture=iptables (nil otherwise).
	net *Network
	// ownsState: this demo got past the checks that no other demo runs
	// with its state directory, so it removes the logs and identity there.
	ownsState bool
}

func newDemo(opts Options) (*demo, error) {
	mode, why, err := ResolveCapture(opts.Capture, opts.Host)
	if err != nil {
		return nil, err
	}
	if (opts.Capture == "" || opts.Capture == CaptureAuto) && opts.AddressBase.IsValid() {
		mode, why = CaptureNone, "an address base on loopback was given"
	}
	opts.Capture = mode
	if opts.Capture == CaptureIptables && opts.AddressBase.IsValid() {
		return nil, errors.New("--address-base is for --capture=none: capture=iptables picks a private network itself")
	}
	if opts.StateDir == "" || opts.Executable == "" {
		return nil, errors.New("demo: state directory and executable are required")
	}
	if opts.IngressPort == 0 {
		opts.IngressPort = 8080
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 90 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Stdout == nil {
		opts.Stdout = io.Discard
	}
	fmt.Fprintf(opts.Stdout, "lateen demo: capture=%s (%s)\n", opts.Capture, why)
	return &demo{opts: opts, ingressAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(opts.IngressPort))}, nil
}

// prepare picks addresses, checks ports and writes the YAML and state.
func (d *demo) prepare(ctx context.Context) error {
	if st, err := ReadState(d.opts.StateDir); err == nil && processAlive(st.PID) {
		return fmt.Errorf("a demo (pid %d) is already running with state directory %s", st.PID, d.opts.StateDir)
	}
	if err := checkFree(d.ingressAddr); err != nil {
		return fmt.Errorf("ingress port: %w (choose another with --ingress-port)", err)
	}
	if err := d.removeStaleNetwork(ctx); err != nil {
		return err
	}
	base, err := d.pickBase(ctx)
	if err != nil {
		return err
	}
	d.base, d.workloads = base, Workloads(base)
	if err := d.makeDirs(); err != nil {
		return err
	}
	if d.net != nil {
		layoutNetns(d.workloads, d.net)
		if err := d.recordNetwork(); err != nil {
			return err
		}
	}
	if err := d.provisionIdentities(); err != nil {
		return fmt.Errorf("provision identities: %w", err)
	}
	for _, f := range Manifests(d.workloads, uint32(d.opts.IngressPort)) {
		path := filepath.Join(d.opts.ConfigDir, f.Name)
		if err := os.WriteFile(path, f.Content, 0o644); err != nil {
			return err
		}
		d.written = append(d.written, path)
	}
	if err := d.writePrometheusConfig(); err != nil {
		return err
	}
	if err := d.writeState(); err != nil {
		return err
	}
	fmt.Fprintf(d.opts.Stdout, "lateen demo: config dir %s\nlateen demo: state dir %s\n", d.opts.ConfigDir, d.opts.StateDir)
	return nil
}

func (d *demo) makeDirs() error {
	if d.opts.ConfigDir == "" {
		dir, err := os.MkdirTemp(d.opts.TempDir, "lateen-demo-config-")
		if err != nil {
			return err
		}
		d.opts.ConfigDir, d.createdCfg = dir, true
	} else if err := os.MkdirAll(d.opts.ConfigDir, 0o755); err != nil {
		return err
	}
	d.ownsState = true // from here on, the state directory's logs and identity are this demo's
	return os.MkdirAll(d.logDir(), 0o755)
}

func (d *demo) logDir() string { return filepath.Join(d.opts.StateDir, "logs") }

func (d *demo) writeState() error {
	st := State{
		PID: os.Getpid(), ConfigDir: d.opts.ConfigDir, StateDir: d.opts.StateDir, Capture: d.opts.Capture,
		PilotXDS: d.pilotAddr(15010), PilotSecure: d.pilotAddr(15012), RootCert: d.rootCert(),
		PilotHTTP: d.pilotAddr(15014), IngressURL: "http://" + d.ingressAddr,
		LogDir: d.logDir(), Workloads: filepath.Join(d.opts.StateDir, WorkloadsFile), AddressBase: d.base.String(),
		PrometheusConfig: filepath.Join(d.opts.StateDir, PrometheusFile), Network: d.net,
		CreatedConfigDir: d.createdCfg, Written: d.written,
	}
	if err := writeJSON(filepath.Join(d.opts.StateDir, WorkloadsFile), d.workloads); err != nil {
		return err
	}
	d.written = append(d.written, filepath.Join(d.opts.StateDir, WorkloadsFile))
	if err := writeJSON(filepath.Join(d.opts.StateDir, StateFile), st); err != nil {
		return err
	}
	d.written = append(d.written, filepath.Join(d.opts.StateDir, StateFile))
	return nil
}

func (d *demo) pilotAddr(port int) string {
	return net.JoinHostPort(d.base.String(), strconv.Itoa(port))
}

// pickBase returns the configured base or the first 127.N.0.1 whose pilot
// ports are free; under capture=iptables, the bridge address of a new
// private network.
func (d *demo) pickBase(ctx context.Context) (netip.Addr, error) {
	if d.opts.Capture == CaptureIptables {
		return d.pickNetwork(ctx)
	}
	if d.opts.AddressBase.IsValid() {
		return d.opts.AddressBase, nil
	}
	for n := 10; n < 250; n++ {
		base := netip.AddrFrom4([4]byte{127, byte(n), 0, 1})
		if checkFree(net.JoinHostPort(base.String(), "15010")) == nil && checkFree(net.JoinHostPort(base.String(), "15012")) == nil {
			return base, nil
		}
	}
	return netip.Addr{}, errors.New("no free 127.N.0.0/24 address block for the demo")
}

func checkFree(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return l.Close()
}

func (d *demo) startAll() error {
	d.procs = d.processes()
	for _, p := range d.procs {
		if err := p.start(d.opts.Executable); err != nil {
			return err
		}
		d.opts.Logger.Debug("started", "component", "demo", "process", p.name, "pid", p.cmd.Process.Pid)
	}
	return nil
}

// processes lists pilot, then a proxy and (for samples) an app per workload.
func (d *demo) processes() []*process {
	env := baseEnv(d.opts.Environ)
	procs := []*process{{
		name: "pilot", env: env, log: filepath.Join(d.logDir(), "pilot.log"),
		args: []string{"pilot", "--config-dir", d.opts.ConfigDir, "--xds-address", d.pilotAddr(15010),
			"--secure-address", d.pilotAddr(15012), "--http-address", d.pilotAddr(15014),
			d.caFlag(), d.caFlagValue(), "--workload-tokens", d.tokenHashes(),
			"--credentials-dir", filepath.Join(d.opts.StateDir, "credentials")},
	}}
	if ttl := d.opts.WorkloadCertTTL; ttl > 0 {
		procs[0].args = append(procs[0].args, "--workload-cert-ttl", ttl.String())
	}
	for _, w := range d.workloads {
		procs = append(procs, &process{
			name: w.Name + "-proxy", env: env, log: filepath.Join(d.logDir(), w.Name+"-proxy.log"),
			args: d.proxyArgs(w), wrap: proxyWrap(w),
		})
		if len(w.Sample) > 0 {
			procs = append(procs, &process{
				name: w.Name, env: append(slices.Clone(env), WorkloadEnv(w)...), log: filepath.Join(d.logDir(), w.Name+".log"),
				args: append([]string{"sample"}, w.Sample...), wrap: NetnsExec(w),
			})
		}
	}
	return procs
}

func (d *demo) proxyArgs(w *Workload) []string {
	typ, wildcard, mode := "sidecar", w.Address, "NONE"
	if w.Gateway {
		typ = "router"
		if w.Labels["istio"] == "ingressgateway" {
			wildcard = "127.0.0.1"
		}
	}
	if w.Netns != "" {
		wildcard, mode = "0.0.0.0", "REDIRECT" // iptables sends to 127.0.0.1:15001 and <address>:15006
	}
	var labels []string
	for _, k := range sortedmap.Keys(w.Labels) {
		labels = append(labels, k+"="+w.Labels[k])
	}
	return []string{"proxy",
		"--xds-address", d.pilotAddr(15012), "--xds-tls", "--ca-address", d.pilotAddr(15012),
		"--root-cert", d.proxyRootCert(), "--token-file", d.tokenFile(w),
		"--type", typ, "--ip", w.Address,
		"--namespace", w.Namespace, "--workload-name", w.Name, "--service-account", w.ServiceAccount,
		"--labels", strings.Join(labels, ","), "--interception-mode", mode,
		"--wildcard-address", wildcard,
		"--admin-address", net.JoinHostPort(w.Address, "15000"),
		"--ready-address", net.JoinHostPort(w.Address, "15021"),
		"--app-metrics-url", appMetricsURL(w),
	}
}

// WorkloadEnv is the environment of a program run as a workload: who it
// is and, without capture, the HTTP proxy settings that make its HTTP
// traffic go through the workload's sidecar (under capture=iptables its
// namespace's rules do that).
func WorkloadEnv(w *Workload) []string {
	env := []string{"LATEEN_WORKLOAD=" + w.Name, "LATEEN_NAMESPACE=" + w.Namespace, "LATEEN_ADDRESS=" + w.Address}
	if w.Netns != "" {
		return env
	}
	proxy := "http://" + net.JoinHostPort(w.Address, "15001")
	return append([]string{"HTTP_PROXY=" + proxy, "http_proxy=" + proxy, "NO_PROXY=", "no_proxy="}, env...)
}

// baseEnv drops proxy settings the demo's own environment may carry.
func baseEnv(environ []string) []string {
	var out []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(k) {
		case "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY":
			continue
		}
		out = append(out, kv)
	}
	return out
}

func (d *demo) printReady() {
	capture := "none (apps use their sidecar as HTTP proxy)"
	if d.net != nil {
		capture = fmt.Sprintf("iptables (network %s, a namespace per workload: lateen-%s-<workload>)", d.net.Subnet, d.net.ID)
	}
	fmt.Fprintf(d.opts.Stdout, `lateen demo: ready
  Bookinfo:   http://%s/productpage
  Try:        lateen exec sleep -- curl -s http://httpbin:8000/headers
  Capture:    %s
  Config:     %s (edit or add Istio YAML there; changes apply live)
  Logs:       %s
  Pilot:      http://%s/debug/syncz
Press Ctrl-C to stop.
`, d.ingressAddr, capture, d.opts.ConfigDir, d.logDir(), d.pilotAddr(15014))
}

// cleanup stops every process (children first, pilot last) and removes
// what the demo created.
func (d *demo) cleanup() error {
	stopAll(d.procs[min(1, len(d.procs)):]) // apps and proxies together
	stopAll(d.procs[:min(1, len(d.procs))]) // then pilot
	var errs []error
	if d.net != nil {
		errs = append(errs, d.removeNetwork())
	}
	for _, f := range d.written {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	if !d.ownsState {
		return errors.Join(errs...)
	}
	if err := os.RemoveAll(d.logDir()); err != nil {
		errs = append(errs, err)
	}
	if err := os.Remove(d.identityDir()); err != nil && !os.IsNotExist(err) {
		errs = append(errs, err)
	}
	if d.createdCfg {
		errs = append(errs, os.RemoveAll(d.opts.ConfigDir))
	}
	return errors.Join(errs...)
}

func stopAll(procs []*process) {
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.stop(5 * time.Second)
		}()
	}
	wg.Wait()
}
