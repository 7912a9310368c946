package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// process is one child of the demo: pilot, a proxy or a sample app, run
// from this same binary with its output in a log file.
type process struct {
	name string
	args []string
	env  []string
	log  string
	// wrap runs the binary through a command (ip netns exec, setpriv).
	wrap []string

	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// start launches the process in its own process group, so a terminal's
// Ctrl-C reaches only the demo, which then stops children in order; the
// kernel kills it if the demo dies.
func (p *process) start(exe string) error {
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	argv := append(append(append([]string(nil), p.wrap...), exe), p.args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	p.cmd, p.done = cmd, make(chan struct{})
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return nil
}

// stop asks the process to exit (SIGTERM) and kills it after grace.
func (p *process) stop(grace time.Duration) {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// exited reports the error of a process that ended on its own.
func (p *process) exited() error {
	if p.err == nil {
		return fmt.Errorf("%s exited", p.name)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return fmt.Errorf("%s exited: %v (see %s)", p.name, ee, p.log)
	}
	return fmt.Errorf("%s: %w (see %s)", p.name, p.err, p.log)
}

// firstExit returns when ctx is done or any process ends.
func firstExit(ctx context.Context, procs []*process) *process {
	cases := make(chan *process, len(procs))
	for _, p := range procs {
		go func() {
			select {
			case <-p.done:
				cases <- p
			case <-ctx.Done():
			}
		}()
	}
	select {
	case p := <-cases:
		return p
	case <-ctx.Done():
		return nil
	}
}
