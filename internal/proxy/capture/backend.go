package capture

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

var (
	// ErrNeedNetAdmin is returned when iptables is refused for lack of
	// privileges.
	ErrNeedNetAdmin = errors.New("needs NET_ADMIN: run as root or in a pod with the NET_ADMIN capability")
	// ErrNoIptables is returned when no iptables-restore binary is found.
	ErrNoIptables = errors.New("iptables not found: install iptables (Debian: apt-get install iptables)")
)

// Runner runs programs for Setup. The default runs them directly; tests run
// them in a network namespace.
type Runner interface {
	// LookPath reports whether the named program can be run.
	LookPath(name string) error
	// Run runs name with args and stdin, returning its standard output.
	Run(ctx context.Context, name string, args []string, stdin string) (string, error)
}

// ExecRunner runs programs with os/exec, optionally behind a command prefix
// (e.g. "ip netns exec NAME").
type ExecRunner struct {
	Prefix []string
}

var _ Runner = ExecRunner{}

// LookPath implements Runner.
func (r ExecRunner) LookPath(name string) error {
	_, err := exec.LookPath(name)
	return err
}

// Run implements Runner. Errors carry the program's standard error; a
// refusal for lack of privileges wraps ErrNeedNetAdmin.
func (r ExecRunner) Run(ctx context.Context, name string, args []string, stdin string) (string, error) {
	argv := append(append(append([]string(nil), r.Prefix...), name), args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", commandError(name, err, stderr.String())
	}
	return stdout.String(), nil
}

func commandError(name string, err error, stderr string) error {
	msg := strings.TrimSpace(stderr)
	if permissionDenied(msg) {
		return fmt.Errorf("%s: %w (%s)", name, ErrNeedNetAdmin, firstLine(msg))
	}
	if msg == "" {
		return fmt.Errorf("%s: %w", name, err)
	}
	return fmt.Errorf("%s: %w: %s", name, err, msg)
}

func permissionDenied(stderr string) bool {
	s := strings.ToLower(stderr)
	return strings.Contains(s, "permission denied") || strings.Contains(s, "operation not permitted") ||
		strings.Contains(s, "you must be root")
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// Backend names the iptables programs of one back end.
type Backend struct {
	Name     string // "nft" or "legacy"
	Save     string // iptables-nft-save, iptables-legacy-save or iptables-save
	Restore  string
	Save6    string
	Restore6 string
}

func modeBackend(mode string) Backend {
	return Backend{Name: mode,
		Save: "iptables-" + mode + "-save", Restore: "iptables-" + mode + "-restore",
		Save6: "ip6tables-" + mode + "-save", Restore6: "ip6tables-" + mode + "-restore"}
}

func plainBackend(mode string) Backend {
	return Backend{Name: mode, Save: "iptables-save", Restore: "iptables-restore",
		Save6: "ip6tables-save", Restore6: "ip6tables-restore"}
}

// DetectBackend picks the iptables back end: want "nft" or "legacy", or ""
// for the one the system uses: the one that already holds rules when only
// one does (as Istio decides), otherwise the one `iptables --version`
// reports ("(nf_tables)" or "(legacy)").
func DetectBackend(ctx context.Context, r Runner, want string) (Backend, error) {
	var found []string
	for _, mode := range []string{"nft", "legacy"} {
		b := modeBackend(mode)
		if r.LookPath(b.Restore) == nil && r.LookPath(b.Save) == nil {
			found = append(found, mode)
		}
	}
	plain := r.LookPath("iptables-restore") == nil && r.LookPath("iptables-save") == nil
	if len(found) == 0 && !plain {
		return Backend{}, ErrNoIptables
	}
	switch want {
	case "nft", "legacy":
		return wantBackend(ctx, r, want, found, plain)
	case "", "auto":
	default:
		return Backend{}, fmt.Errorf("iptables back end %q: want nft, legacy or auto", want)
	}
	if len(found) == 2 {
		if mode := onlyWithRules(ctx, r, found); mode != "" {
			return modeBackend(mode), nil
		}
	}
	mode := versionMode(ctx, r)
	switch {
	case len(found) == 0:
		return plainBackend(mode), nil
	case len(found) == 1:
		return modeBackend(found[0]), nil
	}
	return modeBackend(mode), nil
}

func wantBackend(ctx context.Context, r Runner, want string, found []string, plain bool) (Backend, error) {
	for _, m := range found {
		if m == want {
			return modeBackend(m), nil
		}
	}
	if plain && versionMode(ctx, r) == want {
		return plainBackend(want), nil
	}
	return Backend{}, fmt.Errorf("iptables %s back end not found: install iptables (Debian: apt-get install iptables)", want)
}

// onlyWithRules returns the back end that alone has rules in this network
// namespace, or "".
func onlyWithRules(ctx context.Context, r Runner, modes []string) string {
	var with []string
	for _, m := range modes {
		out, err := r.Run(ctx, modeBackend(m).Save, nil, "")
		if err == nil && strings.Contains(out, "\n-A ") {
			with = append(with, m)
		}
	}
	if len(with) == 1 {
		return with[0]
	}
	return ""
}

// versionMode returns "nft" or "legacy" from `iptables --version`; versions
// before 1.8 print no mode and are legacy.
func versionMode(ctx context.Context, r Runner) string {
	if r.LookPath("iptables") != nil {
		return "nft"
	}
	out, err := r.Run(ctx, "iptables", []string{"--version"}, "")
	if err == nil && strings.Contains(out, "(nf_tables)") {
		return "nft"
	}
	if err == nil {
		return "legacy"
	}
	return "nft"
}
