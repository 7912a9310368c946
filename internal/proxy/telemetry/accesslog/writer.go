package accesslog

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/lateenmesh/lateen/internal/proxy/stats"
)

// DefaultQueueSize bounds the lines waiting to be written.
const DefaultQueueSize = 4096

// WriterOptions configure a Writer.
type WriterOptions struct {
	Stats *stats.Store
	// Stdout and Stderr receive the lines for /dev/stdout and /dev/stderr
	// (default os.Stdout and os.Stderr).
	Stdout, Stderr io.Writer
	QueueSize      int // default DefaultQueueSize
	Logger         *slog.Logger
}

// Writer appends access log lines to files without ever blocking the
// caller: Write puts the line on a bounded queue (or drops and counts it
// when the queue is full) and Run writes the queue out, opening files on
// first use and flushing whenever the queue runs empty.
type Writer struct {
	opts    WriterOptions
	queue   chan line
	dropped *stats.Counter
	written *stats.Counter
	failed  *stats.Counter
	log     *slog.Logger
}

type line struct {
	path string
	b    []byte
}

// NewWriter builds a writer; Run must be running for lines to be written.
func NewWriter(opts WriterOptions) *Writer {
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.Stats == nil {
		opts.Stats = stats.New()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Writer{opts: opts, queue: make(chan line, opts.QueueSize),
		dropped: opts.Stats.Counter("access_log.dropped"),
		written: opts.Stats.Counter("access_log.written"),
		failed:  opts.Stats.Counter("access_log.write_failed"),
		log:     opts.Logger.With("component", "accesslog")}
}

// Write queues one line for path; it never blocks.
func (w *Writer) Write(path string, b []byte) {
	select {
	case w.queue <- line{path, b}:
	default:
		w.dropped.Inc()
	}
}

// Run writes queued lines until ctx ends, then writes what is left,
// flushes and closes the files it opened.
func (w *Writer) Run(ctx context.Context) error {
	files := &fileSet{w: w, open: map[string]*openFile{}}
	defer files.close()
	for {
		select {
		case l := <-w.queue:
			files.write(l)
			w.drain(files)
			files.flush()
		case <-ctx.Done():
			w.drain(files)
			files.flush()
			return nil
		}
	}
}

// drain writes every line queued right now.
func (w *Writer) drain(files *fileSet) {
	for {
		select {
		case l := <-w.queue:
			files.write(l)
		default:
			return
		}
	}
}

// fileSet is the files Run has open, each behind a buffer.
type fileSet struct {
	w    *Writer
	open map[string]*openFile
}

type openFile struct {
	buf    *bufio.Writer
	closer io.Closer // nil for stdout/stderr
	failed bool      // could not be opened: lines are counted as failed
}

func (s *fileSet) write(l line) {
	f := s.get(l.path)
	if f.failed {
		s.w.failed.Inc()
		return
	}
	if _, err := f.buf.Write(l.b); err != nil {
		s.w.failed.Inc()
		return
	}
	s.w.written.Inc()
}

func (s *fileSet) get(path string) *openFile {
	if f, ok := s.open[path]; ok {
		return f
	}
	f := &openFile{}
	switch path {
	case "/dev/stdout":
		f.buf = bufio.NewWriter(s.w.opts.Stdout)
	case "/dev/stderr":
		f.buf = bufio.NewWriter(s.w.opts.Stderr)
	default:
		file, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			s.w.log.Error("cannot open access log file; its lines are dropped", "path", path, "err", err)
			f.failed = true
			break
		}
		f.buf, f.closer = bufio.NewWriter(file), file
	}
	s.open[path] = f
	return f
}

func (s *fileSet) flush() {
	for path, f := range s.open {
		if f.failed {
			continue
		}
		if err := f.buf.Flush(); err != nil {
			s.w.log.Error("access log write failed; later lines to this file are dropped", "path", path, "err", err)
			f.failed = true
		}
	}
}

func (s *fileSet) close() {
	for _, f := range s.open {
		if f.closer != nil {
			_ = f.closer.Close()
		}
	}
}
