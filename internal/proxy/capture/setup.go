package capture

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// Setup applies and removes the capture rules in the current network
// namespace (or wherever Runner runs its programs).
type Setup struct {
	Runner  Runner
	Backend Backend
	Logger  *slog.Logger // default: discard
}

func (s Setup) log() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// Apply installs o's rules, replacing any earlier Lateen or Istio capture
// rules, one atomic iptables-restore per IP version. With o.IPv6 it also
// adds ::6/128 to lo, the source of the proxy's IPv6 inbound passthrough
// connections (as istio-init does).
func (s Setup) Apply(ctx context.Context, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if err := s.replace(ctx, s.Backend.Save, s.Backend.Restore, build(o, ipv4)); err != nil {
		return err
	}
	s.log().Info("applied IPv4 capture rules", "backend", s.Backend.Name)
	if !o.IPv6 {
		return s.cleanup6(ctx) // rules of an earlier IPv6 run would keep capturing
	}
	if err := s.replace(ctx, s.Backend.Save6, s.Backend.Restore6, build(o, ipv6)); err != nil {
		return err
	}
	if err := s.addPassthroughAddress(ctx); err != nil {
		return err
	}
	s.log().Info("applied IPv6 capture rules", "backend", s.Backend.Name)
	return nil
}

// Cleanup removes every Lateen or Istio capture chain and the jumps to them,
// for IPv4 and, where ip6tables works, IPv6.
func (s Setup) Cleanup(ctx context.Context) error {
	if err := s.replace(ctx, s.Backend.Save, s.Backend.Restore, nil); err != nil {
		return err
	}
	return s.cleanup6(ctx)
}

// cleanup6 removes the IPv6 capture rules. Without a usable ip6tables (not
// installed, or no IPv6 in the kernel) there are none to remove.
func (s Setup) cleanup6(ctx context.Context) error {
	if s.Runner.LookPath(s.Backend.Save6) != nil || s.Runner.LookPath(s.Backend.Restore6) != nil {
		return nil
	}
	if _, err := s.Runner.Run(ctx, s.Backend.Save6, nil, ""); err != nil && !errors.Is(err, ErrNeedNetAdmin) {
		s.log().Info("IPv6 capture rules not checked: ip6tables unusable", "error", err)
		return nil
	}
	return s.replace(ctx, s.Backend.Save6, s.Backend.Restore6, nil)
}

// replace reads the current state and restores want over it in one
// transaction; with want nil and nothing of ours present it does nothing.
func (s Setup) replace(ctx context.Context, save, restore string, want []*table) error {
	for _, prog := range []string{save, restore} {
		if err := s.Runner.LookPath(prog); err != nil {
			return fmt.Errorf("%s: %w", prog, ErrNoIptables)
		}
	}
	saved, err := s.Runner.Run(ctx, save, nil, "")
	if err != nil {
		return err
	}
	if want == nil && len(ownState(saved)) == 0 {
		s.log().Debug("no capture rules to remove", "command", restore)
		return nil
	}
	input := restoreInput(want, saved)
	s.log().Debug("iptables-restore input", "command", restore, "input", input)
	if _, err := s.Runner.Run(ctx, restore, []string{"--noflush"}, input); err != nil {
		return err
	}
	if want == nil {
		s.log().Info("removed capture rules", "command", restore)
	}
	return nil
}

func (s Setup) addPassthroughAddress(ctx context.Context) error {
	if s.Runner.LookPath("ip") != nil {
		return errors.New("adding ::6/128 to lo for IPv6: ip not found: install iproute2 (Debian: apt-get install iproute2)")
	}
	if _, err := s.Runner.Run(ctx, "ip", []string{"-6", "addr", "replace", "::6/128", "dev", "lo"}, ""); err != nil {
		return fmt.Errorf("adding ::6/128 to lo for IPv6: %w", err)
	}
	return nil
}
