// Package report writes benchmark results: the machine they ran on,
// Markdown tables, JSON, and PNG charts drawn with gonum/plot.
package report

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Machine describes where a benchmark ran, so results can be compared
// (or not) with another run.
type Machine struct {
	CPU      string `json:"cpu"`
	Cores    int    `json:"cores"`
	MemoryGB int    `json:"memory_gb"`
	Kernel   string `json:"kernel"`
	OS       string `json:"os"`
	Go       string `json:"go"`
	Commit   string `json:"commit,omitempty"`
	// LoadAverage is /proc/loadavg's first three fields when the run
	// started: other work on the machine skews every number.
	LoadAverage string `json:"load_average"`
}

// Describe reads the machine's description; fields it cannot read stay
// empty.
func Describe() Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			m.MemoryGB = (kb + 512*1024) / (1024 * 1024)
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "PRETTY_NAME="); ok {
				m.OS = strings.Trim(v, `"`)
			}
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			m.LoadAverage = strings.Join(f[:3], " ")
		}
	}
	if out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
	}
	return m
}

// Markdown is the machine as a bullet list.
func (m Machine) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "- CPU: %s, %d cores; memory %d GB\n", orUnknown(m.CPU), m.Cores, m.MemoryGB)
	fmt.Fprintf(&b, "- OS: %s, kernel %s; %s\n", orUnknown(m.OS), orUnknown(m.Kernel), m.Go)
	fmt.Fprintf(&b, "- Load average when the run started: %s\n", orUnknown(m.LoadAverage))
	if m.Commit != "" {
		fmt.Fprintf(&b, "- Lateen commit: `%s`\n", m.Commit)
	}
	return b.String()
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// Run is the header every result page and JSON file carries.
type Run struct {
	Harness  string    `json:"harness"`
	Command  string    `json:"command"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Machine  Machine   `json:"machine"`
	// Preliminary marks a run at less than the full size: its numbers show
	// that the harness works, nothing more.
	Preliminary bool `json:"preliminary"`
}

// Header is the top of a result page.
func (r Run) Header(title string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", title)
	b.WriteString("<!-- Written by lateen-bench; do not edit by hand. -->\n\n")
	if r.Preliminary {
		b.WriteString("> **Preliminary run** at less than the full size (or on a busy machine): these numbers\n" +
			"> show that the harness works and are not Lateen's results. Run the make target for those.\n\n")
	}
	fmt.Fprintf(&b, "Run `%s`, %s, %s.\n\n", r.Command, r.Started.UTC().Format("2006-01-02 15:04 MST"),
		r.Finished.Sub(r.Started).Round(time.Second))
	b.WriteString(r.Machine.Markdown())
	b.WriteString("\n")
	return b.String()
}

// WriteJSON writes v, indented, to path.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return WriteFile(path, append(b, '\n'))
}

// ReadJSON reads what WriteJSON wrote at path into v.
func ReadJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return nil
}

// WriteFile writes data to path, creating its directory.
func WriteFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}
