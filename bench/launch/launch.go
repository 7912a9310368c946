// Package launch starts the processes a benchmark measures (lateen-pilot,
// lateen-proxy, nginx, HAProxy, the upstream), each in its own process
// group with its output in a log file, and stops them.
package launch

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Command is a program and the arguments that always come first (for
// example a test binary re-run as one role, selected by Env).
type Command struct {
	Path string   `json:"path"`
	Args []string `json:"args,omitempty"`
	Env  []string `json:"env,omitempty"`
}

// Binaries are the programs a harness runs.
type Binaries struct {
	Pilot Command // lateen-pilot
	Proxy Command // lateen-proxy
	// Self runs the benchmark's own roles: "upstream ...", "goproxy ...".
	Self Command
}

// Process is one started program.
type Process struct {
	Name string
	Log  string

	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Start runs c with args, logging to dir/<name>.log.
func Start(c Command, name, dir string, args ...string) (*Process, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("launch %s: %w", name, err)
	}
	cmd := exec.Command(c.Path, append(append([]string{}, c.Args...), args...)...)
	cmd.Env = append(os.Environ(), c.Env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("launch %s: %w", name, err)
	}
	p := &Process{Name: name, Log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// PID is the process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Exited returns an error describing the exit if the process has ended,
// nil while it runs.
func (p *Process) Exited() error {
	select {
	case <-p.done:
	default:
		return nil
	}
	return fmt.Errorf("%s exited (%v); its log %s ends:\n%s", p.Name, p.err, p.Log, Tail(p.Log, 2000))
}

// Stop sends SIGTERM to the process group and SIGKILL after grace.
func (p *Process) Stop(grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.PID(), syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-p.PID(), syscall.SIGKILL)
		<-p.done
	}
}

// Group stops processes in reverse start order.
type Group struct{ procs []*Process }

// Add records a started process.
func (g *Group) Add(p *Process) *Process {
	g.procs = append(g.procs, p)
	return p
}

// Exited reports the first process that ended.
func (g *Group) Exited() error {
	for _, p := range g.procs {
		if err := p.Exited(); err != nil {
			return err
		}
	}
	return nil
}

// Stop stops every process, the last started first.
func (g *Group) Stop() {
	for i := len(g.procs) - 1; i >= 0; i-- {
		g.procs[i].Stop(5 * time.Second)
	}
	g.procs = nil
}

// WaitFor polls cond every 50 ms until it returns nil, a process of g ends,
// or timeout passes.
func (g *Group) WaitFor(ctx context.Context, timeout time.Duration, what string, cond func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if perr := g.Exited(); perr != nil {
			return fmt.Errorf("waiting for %s: %w", what, perr)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w (last: %v)", what, ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// Listening reports whether something accepts TCP connections on addr.
func Listening(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

// Tail returns up to the last n bytes of a file.
func Tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err.Error()
	}
	off := max(st.Size()-n, 0)
	buf := make([]byte, st.Size()-off)
	k, _ := f.ReadAt(buf, off)
	return strings.TrimSpace(string(buf[:k]))
}

// LastLine returns the last line of the process's log, to explain why it
// is not doing what was expected.
func (p *Process) LastLine() string {
	t := Tail(p.Log, 4096)
	if i := strings.LastIndexByte(t, '\n'); i >= 0 {
		return t[i+1:]
	}
	return t
}
