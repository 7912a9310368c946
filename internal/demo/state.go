package demo

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// State is what a running demo records in its state directory
// (demo.json) so that `lateen exec`, `lateen apply` and tests can find it.
type State struct {
	PID         int    `json:"pid"`
	ConfigDir   string `json:"configDir"`
	StateDir    string `json:"stateDir"`
	Capture     string `json:"capture"`
	PilotXDS    string `json:"pilotXds"`
	PilotSecure string `json:"pilotSecure"` // xDS and CA over TLS
	RootCert    string `json:"rootCert"`    // the mesh root that verifies pilot
	PilotHTTP   string `json:"pilotHttp"`
	IngressURL  string `json:"ingressUrl"`
	LogDir      string `json:"logDir"`
	Workloads   string `json:"workloads"`
	AddressBase string `json:"addressBase"`
	// PrometheusConfig is a Prometheus configuration scraping the demo.
	PrometheusConfig string `json:"prometheusConfig"`
	// Network is the private network of capture=iptables (nil otherwise).
	Network *Network `json:"network,omitempty"`
	// Written are the files the demo created (its YAML, identity files,
	// ...) and CreatedConfigDir whether it created the config directory:
	// what `lateen demo --cleanup` removes after a crash.
	Written          []string `json:"written,omitempty"`
	CreatedConfigDir bool     `json:"createdConfigDir,omitempty"`
}

// State file names inside the state directory.
const (
	StateFile     = "demo.json"
	WorkloadsFile = "workloads.json"
)

// ReadState loads a running demo's state from stateDir.
func ReadState(stateDir string) (*State, error) {
	data, err := os.ReadFile(filepath.Join(stateDir, StateFile))
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("no demo is running with state directory %s (start one with `lateen demo`)", stateDir)
		}
		return nil, err
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(stateDir, StateFile), err)
	}
	return &st, nil
}

// ReadWorkloads loads the workloads of a running demo.
func ReadWorkloads(stateDir string) ([]*Workload, error) {
	path := filepath.Join(stateDir, WorkloadsFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var ws []*Workload
	if err := json.Unmarshal(data, &ws); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ws, nil
}

// FindWorkload returns the workload with the given name.
func FindWorkload(ws []*Workload, name string) (*Workload, error) {
	var names []string
	for _, w := range ws {
		if w.Name == name {
			return w, nil
		}
		names = append(names, w.Name)
	}
	return nil, fmt.Errorf("no workload %q in the demo (workloads: %v)", name, names)
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
