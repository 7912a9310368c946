// Package proc reads what a benchmark reports about a process from Linux's
// /proc: CPU time (user + system), resident memory (VmRSS), its peak
// (VmHWM) and proportional memory (Pss). A proxy may be several processes
// (nginx's master and workers): Tree sums a process and its descendants.
package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// ticksPerSecond is USER_HZ, the unit of utime and stime in /proc/pid/stat.
// It is 100 on every Linux architecture Go supports.
const ticksPerSecond = 100

// Usage is one reading of a process, or of a tree of processes summed.
type Usage struct {
	CPU   time.Duration // user + system time since the process started
	RSS   uint64        // resident set size, bytes (VmRSS)
	Peak  uint64        // peak resident set size, bytes (VmHWM)
	PSS   uint64        // proportional set size, bytes (shared pages split)
	Anon  uint64        // resident anonymous memory, bytes (RssAnon): private to the process
	Procs int           // how many processes were summed
}

// Add returns the sum of two readings.
func (u Usage) Add(v Usage) Usage {
	return Usage{CPU: u.CPU + v.CPU, RSS: u.RSS + v.RSS, Peak: u.Peak + v.Peak, PSS: u.PSS + v.PSS, Anon: u.Anon + v.Anon, Procs: u.Procs + v.Procs}
}

// Read returns the usage of one process.
func Read(pid int) (Usage, error) {
	cpu, err := cpuTime(pid)
	if err != nil {
		return Usage{}, err
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Usage{}, err
	}
	u := Usage{CPU: cpu, Procs: 1}
	u.RSS = kbField(status, "VmRSS:")
	u.Peak = kbField(status, "VmHWM:")
	u.Anon = kbField(status, "RssAnon:")
	if rollup, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid)); err == nil {
		u.PSS = kbField(rollup, "Pss:")
	}
	return u, nil
}

// Tree returns the usage of pid and all its descendants, summed. Processes
// that exit while being read are skipped.
func Tree(pid int) (Usage, error) {
	total, err := Read(pid)
	if err != nil {
		return Usage{}, err
	}
	for _, child := range Descendants(pid) {
		if u, err := Read(child); err == nil {
			total = total.Add(u)
		}
	}
	return total, nil
}

// Descendants lists the children of pid, their children, and so on.
func Descendants(pid int) []int {
	parents := parentMap()
	var out []int
	frontier := []int{pid}
	for len(frontier) > 0 {
		var next []int
		for child, parent := range parents {
			for _, p := range frontier {
				if parent == p {
					next = append(next, child)
				}
			}
		}
		out = append(out, next...)
		frontier = next
	}
	return out
}

// parentMap maps every live pid to its parent pid.
func parentMap() map[int]int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	out := map[int]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		fields, err := statFields(pid)
		if err != nil || len(fields) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(fields[1]); err == nil {
			out[pid] = ppid
		}
	}
	return out
}

// cpuTime is utime + stime of pid.
func cpuTime(pid int) (time.Duration, error) {
	fields, err := statFields(pid)
	if err != nil {
		return 0, err
	}
	// Fields after the command: state(0) ppid(1) ... utime(11) stime(12).
	if len(fields) < 13 {
		return 0, fmt.Errorf("proc: /proc/%d/stat: %d fields", pid, len(fields))
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("proc: /proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / ticksPerSecond, nil
}

// statFields returns the fields of /proc/pid/stat after "(comm)", which may
// itself contain spaces and parentheses.
func statFields(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil, errors.New("proc: malformed stat")
	}
	return strings.Fields(string(b[i+1:])), nil
}

// kbField reads "Key:   123 kB" from a /proc file, in bytes.
func kbField(data []byte, key string) uint64 {
	for line := range strings.Lines(string(data)) {
		rest, ok := strings.CutPrefix(line, key)
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0
		}
		n, _ := strconv.ParseUint(f[0], 10, 64)
		return n * 1024
	}
	return 0
}
