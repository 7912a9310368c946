package proc

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestReadSelf(t *testing.T) {
	// Burn a little CPU so utime is visible at 10 ms resolution.
	deadline := time.Now().Add(50 * time.Millisecond)
	for x := 0; time.Now().Before(deadline); x++ {
		_ = x * x
	}
	u, err := Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if u.CPU <= 0 || u.RSS == 0 || u.Peak < u.RSS || u.Procs != 1 {
		t.Fatalf("implausible usage of this test process: %+v", u)
	}
}

func TestTreeCountsChildren(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Skip("no sleep command:", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	found := false
	for _, pid := range Descendants(os.Getpid()) {
		found = found || pid == cmd.Process.Pid
	}
	if !found {
		t.Fatalf("child %d not among descendants", cmd.Process.Pid)
	}
	u, err := Tree(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if u.Procs < 2 {
		t.Fatalf("tree of this process counted %d processes, want >= 2", u.Procs)
	}
}

func TestKBField(t *testing.T) {
	data := []byte("Name:\tx\nVmHWM:\t    2048 kB\nVmRSS:\t  1024 kB\n")
	if got := kbField(data, "VmRSS:"); got != 1024*1024 {
		t.Fatalf("VmRSS = %d", got)
	}
	if got := kbField(data, "Missing:"); got != 0 {
		t.Fatalf("missing = %d", got)
	}
}
