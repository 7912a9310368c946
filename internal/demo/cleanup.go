package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/lateenmesh/lateen/internal/proxy/capture"
)

// Cleanup removes what a demo that did not exit cleanly (killed, crashed,
// machine rebooted) left behind with state directory stateDir: under
// capture=iptables its network namespaces (and whatever still runs in
// them), their /etc/netns files and its bridge; and the files it wrote
// (its YAML, state, logs, bootstrap tokens). A running demo is left alone.
func Cleanup(ctx context.Context, stateDir string, stdout io.Writer) error {
	st, err := ReadState(stateDir)
	if err != nil {
		st = nil // missing or unreadable: the network record may be there
	}
	n, err := readNetwork(stateDir)
	if err != nil {
		return err
	}
	if n == nil && st != nil {
		n = st.Network
	}
	for _, pid := range []int{pidOf(st), pidOfNet(n)} {
		if processAlive(pid) && pid != os.Getpid() {
			return fmt.Errorf("a demo (pid %d) is running with state directory %s: stop it instead (Ctrl-C, or kill %d)", pid, stateDir, pid)
		}
	}
	if st == nil && n == nil {
		fmt.Fprintf(stdout, "lateen demo: nothing to clean up in %s\n", stateDir)
		return nil
	}
	var errs []error
	if n != nil {
		if err := n.remove(ctx, capture.ExecRunner{}); err != nil {
			errs = append(errs, err)
		}
		fmt.Fprintf(stdout, "lateen demo: removed network %s (bridge %s, %d namespaces)\n", n.Subnet, n.Bridge, len(n.Namespaces))
	}
	errs = append(errs, removeFiles(stateDir, st))
	fmt.Fprintf(stdout, "lateen demo: removed the state and files of %s\n", stateDir)
	return errors.Join(errs...)
}

// removeFiles removes the demo's own files (its root CA stays, as after a
// clean exit).
func removeFiles(stateDir string, st *State) error {
	paths := []string{filepath.Join(stateDir, StateFile), filepath.Join(stateDir, WorkloadsFile),
		filepath.Join(stateDir, NetworkFile), filepath.Join(stateDir, PrometheusFile)}
	var dirs []string
	if st != nil {
		paths = append(paths, st.Written...)
		dirs = append(dirs, st.LogDir)
		if st.CreatedConfigDir {
			dirs = append(dirs, st.ConfigDir)
		}
	}
	dirs = append(dirs, filepath.Join(stateDir, "logs"), filepath.Join(stateDir, "identity"))
	var errs []error
	for _, p := range paths {
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	for _, d := range dirs {
		if d != "" {
			errs = append(errs, os.RemoveAll(d))
		}
	}
	return errors.Join(errs...)
}

func readNetwork(stateDir string) (*Network, error) {
	data, err := os.ReadFile(filepath.Join(stateDir, NetworkFile))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var n Network
	if err := json.Unmarshal(data, &n); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(stateDir, NetworkFile), err)
	}
	return &n, nil
}

func pidOf(st *State) int {
	if st == nil {
		return 0
	}
	return st.PID
}

func pidOfNet(n *Network) int {
	if n == nil {
		return 0
	}
	return n.PID
}
