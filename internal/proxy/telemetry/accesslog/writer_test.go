package accesslog

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/stats"
	"github.com/lateenmesh/lateen/internal/wait"
)

// syncBuffer is a bytes.Buffer safe for the writer goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestWriterNeverBlocks(t *testing.T) {
	st := stats.New()
	w := NewWriter(WriterOptions{Stats: st, QueueSize: 2, Stdout: &syncBuffer{}})
	for range 5 { // Run is not running: the queue fills up
		w.Write("/dev/stdout", []byte("x\n"))
	}
	if got := st.Counter("access_log.dropped").Value(); got != 3 {
		t.Errorf("access_log.dropped = %d, want 3", got)
	}
}

func TestWriterFilesAndStdout(t *testing.T) {
	st := stats.New()
	out := &syncBuffer{}
	w := NewWriter(WriterOptions{Stats: st, Stdout: out})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	path := filepath.Join(t.TempDir(), "access.log")
	w.Write(path, []byte("one\n"))
	w.Write("/dev/stdout", []byte("two\n"))
	w.Write(path, []byte("three\n"))
	w.Write(filepath.Join(t.TempDir(), "missing", "dir", "x.log"), []byte("lost\n"))
	wait.For(t, 10*time.Second, "lines written", func() error {
		b, _ := os.ReadFile(path)
		if string(b) != "one\nthree\n" || out.String() != "two\n" {
			return errorf("file %q, stdout %q", b, out.String())
		}
		return nil
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := st.Counter("access_log.written").Value(); got != 3 {
		t.Errorf("access_log.written = %d, want 3", got)
	}
	if got := st.Counter("access_log.write_failed").Value(); got != 1 {
		t.Errorf("access_log.write_failed = %d, want 1", got)
	}
}
