package demo

import (
	"fmt"
	"strings"
)

// Capture modes of the demo (--capture).
const (
	CaptureAuto     = "auto"
	CaptureNone     = "none"
	CaptureIptables = "iptables"
)

// captureTools are the programs capture=iptables runs: ip (namespaces,
// veths, the bridge), iptables (Istio's capture rules) and setpriv (the
// sidecar as UID 1337).
var captureTools = []string{"ip", "iptables", "iptables-save", "iptables-restore", "setpriv"}

// Host is what the demo may do on this machine, for --capture=auto.
type Host struct {
	Root     bool               // running as root
	LookPath func(string) error // nil: nothing is installed
}

func (h Host) missing() []string {
	var out []string
	for _, p := range captureTools {
		if h.LookPath == nil || h.LookPath(p) != nil {
			out = append(out, p)
		}
	}
	return out
}

// ResolveCapture turns --capture into "none" or "iptables" and says why:
// auto takes iptables when running as root with the tools installed.
func ResolveCapture(mode string, h Host) (string, string, error) {
	missing := h.missing()
	switch mode {
	case "", CaptureAuto:
		switch {
		case !h.Root:
			return CaptureNone, "not running as root", nil
		case len(missing) > 0:
			return CaptureNone, strings.Join(missing, ", ") + " not found", nil
		}
		return CaptureIptables, "running as root with ip, iptables and setpriv", nil
	case CaptureNone:
		return CaptureNone, "as asked", nil
	case CaptureIptables:
		if !h.Root {
			return "", "", fmt.Errorf("--capture=iptables needs root: it creates network namespaces, a bridge and iptables rules")
		}
		if len(missing) > 0 {
			return "", "", fmt.Errorf("--capture=iptables needs %s (Debian: apt-get install iproute2 iptables util-linux)",
				strings.Join(missing, ", "))
		}
		return CaptureIptables, "as asked", nil
	}
	return "", "", fmt.Errorf("--capture=%s: want auto, iptables or none", mode)
}
