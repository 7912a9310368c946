package capture

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
)

// Main is `lateen-proxy iptables`: args are its flags (without the
// subcommand name). It prints the rules with --dry-run, removes them with
// --cleanup, and otherwise applies them in the current network namespace.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return command{stdout: stdout, stderr: stderr, runner: ExecRunner{},
		hasIPv6: namespaceHasIPv6, netAdmin: checkNetAdmin}.run(ctx, args)
}

// command is Main with its system access replaceable by tests.
type command struct {
	stdout, stderr io.Writer
	runner         Runner
	hasIPv6        func() bool  // for --ipv6 unset
	netAdmin       func() error // nil when the process may change iptables
}

// flags are the command line, with Istio's istio-iptables short names as
// aliases so istio-init's arguments work unchanged.
type flags struct {
	opts                       map[string]*string // by long name
	dryRun, cleanup, ipv6, dns bool
	annotations, backend, mode string
	level                      string
}

var stringFlags = []struct{ long, short, def, usage string }{
	{"proxy-uid", "u", DefaultProxyID, "UIDs (comma-separated) whose traffic is not redirected"},
	{"proxy-gid", "g", DefaultProxyID, "GIDs (comma-separated) whose traffic is not redirected"},
	{"inbound-capture-port", "z", "15006", "port inbound TCP is redirected to"},
	{"outbound-capture-port", "p", "15001", "port outbound TCP is redirected to"},
	{"include-inbound-ports", "b", "*", `inbound ports to capture: "*", a list, or "" for none`},
	{"exclude-inbound-ports", "d", "", "inbound ports not captured (with --include-inbound-ports=*)"},
	{"include-outbound-ip-ranges", "i", "*", `outbound CIDRs to capture: "*", a list, or ""`},
	{"exclude-outbound-ip-ranges", "x", "", "outbound CIDRs not captured"},
	{"include-outbound-ports", "q", "", "outbound ports captured whatever the destination address"},
	{"exclude-outbound-ports", "o", "", "outbound TCP/UDP ports not captured"},
}

func parseFlags(args []string, stderr io.Writer) (*flags, map[string]bool, error) {
	fs := flag.NewFlagSet("lateen-proxy iptables", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := &flags{opts: map[string]*string{}}
	alias := map[string]string{}
	for _, d := range stringFlags {
		v := new(string)
		f.opts[d.long] = v
		fs.StringVar(v, d.long, d.def, d.usage)
		fs.StringVar(v, d.short, d.def, "alias for --"+d.long)
		alias[d.short] = d.long
	}
	fs.BoolVar(&f.dns, "capture-dns", false, "redirect DNS (TCP and UDP port 53) to the proxy's DNS port 15053")
	fs.BoolVar(&f.ipv6, "ipv6", false, "also capture IPv6 with ip6tables (default: when the namespace has an IPv6 address)")
	fs.BoolVar(&f.dryRun, "dry-run", false, "print the iptables-restore input instead of applying it")
	fs.BoolVar(&f.dryRun, "n", false, "alias for --dry-run")
	fs.BoolVar(&f.cleanup, "cleanup", false, "remove the capture rules")
	fs.StringVar(&f.annotations, "annotations-file", "", "pod annotations (downward API k=v lines or a JSON map)")
	fs.StringVar(&f.backend, "backend", "auto", "iptables back end: auto, nft or legacy")
	fs.StringVar(&f.mode, "interception-mode", "REDIRECT", "inbound interception mode (REDIRECT only)")
	fs.StringVar(&f.mode, "m", "REDIRECT", "alias for --interception-mode")
	fs.StringVar(&f.level, "log-level", "info", "log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	if fs.NArg() > 0 {
		return nil, nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) {
		name := fl.Name
		if long, ok := alias[name]; ok {
			name = long
		}
		set[name] = true
	})
	return f, set, nil
}

func (c command) run(ctx context.Context, args []string) error {
	f, set, err := parseFlags(args, c.stderr)
	if err != nil {
		return err
	}
	log, err := c.logger(f.level)
	if err != nil {
		return err
	}
	o, err := c.options(f, set)
	if err != nil {
		return err
	}
	switch {
	case f.dryRun && f.cleanup:
		return errors.New("--dry-run and --cleanup: cleanup depends on the current rules; run --cleanup alone")
	case f.dryRun:
		return printRules(c.stdout, o)
	}
	if err := c.netAdmin(); err != nil {
		return err
	}
	b, err := DetectBackend(ctx, c.runner, f.backend)
	if err != nil {
		return err
	}
	s := Setup{Runner: c.runner, Backend: b, Logger: log}
	if f.cleanup {
		return s.Cleanup(ctx)
	}
	return s.Apply(ctx, o)
}

func (c command) logger(level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	h := slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: lv})
	return slog.New(h).With("program", "lateen-proxy", "component", "capture"), nil
}

// options builds Options: Istio's defaults, then the annotations, then the
// flags given explicitly.
func (c command) options(f *flags, set map[string]bool) (Options, error) {
	o := Defaults()
	if err := checkInterceptionMode(f.mode); err != nil {
		return o, fmt.Errorf("--interception-mode: %w", err)
	}
	if f.annotations != "" {
		data, err := os.ReadFile(f.annotations)
		if err != nil {
			return o, fmt.Errorf("--annotations-file: %w", err)
		}
		ann, err := ParseAnnotations(data)
		if err != nil {
			return o, fmt.Errorf("--annotations-file %s: %w", f.annotations, err)
		}
		if err := o.ApplyAnnotations(ann); err != nil {
			return o, fmt.Errorf("--annotations-file %s: %w", f.annotations, err)
		}
	}
	for _, d := range stringFlags {
		if set[d.long] {
			if err := o.setFlag(d.long, *f.opts[d.long]); err != nil {
				return o, fmt.Errorf("--%s: %w", d.long, err)
			}
		}
	}
	o.CaptureDNS = f.dns
	o.IPv6 = f.ipv6
	if !set["ipv6"] {
		o.IPv6 = c.hasIPv6()
	}
	return o, o.Validate()
}

func (o *Options) setFlag(name, v string) error {
	var err error
	switch name {
	case "proxy-uid":
		o.ProxyUIDs = splitList(v)
	case "proxy-gid":
		o.ProxyGIDs = splitList(v)
	case "inbound-capture-port":
		o.InboundCapturePort, err = parsePort(v)
	case "outbound-capture-port":
		o.OutboundCapturePort, err = parsePort(v)
	case "include-inbound-ports":
		o.IncludeInboundPorts, err = ParsePortList(v)
	case "exclude-inbound-ports":
		o.ExcludeInboundPorts, err = ParsePortList(v)
	case "include-outbound-ip-ranges":
		o.IncludeOutboundIPRanges, err = ParseRangeList(v)
	case "exclude-outbound-ip-ranges":
		o.ExcludeOutboundIPRanges, err = ParseRangeList(v)
	case "include-outbound-ports":
		o.IncludeOutboundPorts, err = ParsePortList(v)
	case "exclude-outbound-ports":
		o.ExcludeOutboundPorts, err = ParsePortList(v)
	}
	return err
}

func parsePort(s string) (uint16, error) {
	p, err := strconv.ParseUint(strings.TrimSpace(s), 10, 16)
	if err != nil || p == 0 {
		return 0, fmt.Errorf("port %q: want 1-65535", s)
	}
	return uint16(p), nil
}

func printRules(w io.Writer, o Options) error {
	v4, v6 := Rules(o)
	out := "# iptables-restore --noflush (IPv4)\n" + v4
	if o.IPv6 {
		out += "# ip6tables-restore --noflush (IPv6)\n" + v6
	}
	_, err := io.WriteString(w, out)
	return err
}

// namespaceHasIPv6 reports whether an interface of this network namespace
// has a global IPv6 address, as a pod with an IPv6 address does.
func namespaceHasIPv6() bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if ok && n.IP.To4() == nil && n.IP.IsGlobalUnicast() {
			return true
		}
	}
	return false
}

// checkNetAdmin fails early, before touching iptables, when the process
// lacks CAP_NET_ADMIN; it says nothing when it cannot tell.
func checkNetAdmin() error {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil
	}
	if ok, known := hasCapNetAdmin(string(data)); known && !ok {
		return ErrNeedNetAdmin
	}
	return nil
}

// hasCapNetAdmin reads the effective capability set (CapEff) of a
// /proc/<pid>/status text; CAP_NET_ADMIN is bit 12.
func hasCapNetAdmin(status string) (ok, known bool) {
	for _, line := range strings.Split(status, "\n") {
		v, found := strings.CutPrefix(line, "CapEff:")
		if !found {
			continue
		}
		caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil {
			return false, false
		}
		return caps&(1<<12) != 0, true
	}
	return false, false
}
