//go:build linux

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
)

// proc is a process seen in /proc.
type proc struct {
	pid     int
	ppid    int
	state   byte
	cmdline string // arguments joined by spaces
}

func (p proc) String() string { return fmt.Sprintf("%d (%s)", p.pid, p.cmdline) }

// readProc reads /proc/<pid>; ok is false when the process is gone.
func readProc(pid int) (p proc, ok bool) {
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return proc{}, false
	}
	// stat is "pid (comm) state ppid ...", and comm may hold spaces.
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 {
		return proc{}, false
	}
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 2 {
		return proc{}, false
	}
	ppid, _ := strconv.Atoi(fields[1])
	cmd, err := os.ReadFile(filepath.Join(dir, "cmdline"))
	if err != nil {
		return proc{}, false
	}
	args := strings.TrimRight(string(cmd), "\x00")
	return proc{pid: pid, ppid: ppid, state: fields[0][0], cmdline: strings.ReplaceAll(args, "\x00", " ")}, true
}

// allProcs lists every process that is still running (zombies excluded).
func allProcs() ([]proc, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var out []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := readProc(pid); ok && p.state != 'Z' {
			out = append(out, p)
		}
	}
	return out, nil
}

func childrenOf(pid int) ([]proc, error) {
	procs, err := allProcs()
	if err != nil {
		return nil, err
	}
	var out []proc
	for _, p := range procs {
		if p.ppid == pid {
			out = append(out, p)
		}
	}
	return out, nil
}

// leftovers returns the demo's children still running, and any other
// process whose arguments name the demo's address block (pilot, proxies
// and apps all take addresses from it).
func (d *Demo) leftovers() []proc {
	var left []proc
	seen := map[int]bool{}
	for _, c := range d.children {
		if p, ok := readProc(c.pid); ok && p.state != 'Z' && p.cmdline == c.cmdline {
			left, seen[p.pid] = append(left, p), true
		}
	}
	if d.State == nil {
		return left
	}
	block := regexp.MustCompile(`(^|[^0-9.])` + regexp.QuoteMeta(addressBlock(d.State.AddressBase)))
	procs, _ := allProcs()
	for _, p := range procs {
		if !seen[p.pid] && block.MatchString(p.cmdline) {
			left = append(left, p)
		}
	}
	return left
}

// addressBlock turns 127.N.0.1 into "127.N.0.".
func addressBlock(base string) string {
	return base[:strings.LastIndexByte(base, '.')+1]
}

func killAll(procs []proc) {
	for _, p := range procs {
		_ = syscall.Kill(p.pid, syscall.SIGKILL)
	}
}
