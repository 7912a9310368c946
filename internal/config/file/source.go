// Package file is a configuration source that reads every YAML and JSON file
// under a directory and watches it, applying adds, edits and deletes live.
package file

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/lateenmesh/lateen/internal/config"
)

// Options configure a directory source.
type Options struct {
	Dir string
	// Settle is how long the source waits after a file event before it
	// rescans, so an editor's burst of writes is read once (default 10ms;
	// the ingester's debounce coalesces longer bursts).
	Settle time.Duration
	// Resync rescans periodically even without events (default 10s).
	Resync time.Duration
	Logger *slog.Logger
	// Now is the clock for ordering files that appear after start-up.
	Now func() time.Time
}

// DefaultSettle is Options.Settle's default.
const DefaultSettle = 10 * time.Millisecond

// Source reads a directory of Istio YAML.
type Source struct {
	opts  Options
	files map[string]*fileState
	owner map[config.Key]string // which file's definition of a key is in force
}

type fileState struct {
	modTime  time.Time
	size     int64
	content  []byte
	born     time.Time // when the file was first seen, for conflicts
	objects  []*config.Object
	rejected []*config.Rejection
	// lastGood holds, per document index, the last object that document
	// decoded to, so a document that becomes unreadable keeps its object.
	lastGood map[int]*config.Object
}

// New returns a directory source; it reads nothing until Run.
func New(opts Options) *Source {
	if opts.Settle <= 0 {
		opts.Settle = DefaultSettle
	}
	if opts.Resync <= 0 {
		opts.Resync = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Source{opts: opts, files: map[string]*fileState{}, owner: map[config.Key]string{}}
}

var _ config.Source = (*Source)(nil)

// Run scans the directory, pushes its state, then watches for changes.
func (s *Source) Run(ctx context.Context, push func(config.State)) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch %s: %w", s.opts.Dir, err)
	}
	defer w.Close()
	if err := s.scan(w, push, true); err != nil {
		return err
	}
	resync := time.NewTicker(s.opts.Resync)
	defer resync.Stop()
	var settle <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if ev.Op != fsnotify.Chmod && settle == nil {
				settle = time.After(s.opts.Settle)
			}
		case err, ok := <-w.Errors:
			if ok {
				s.opts.Logger.Warn("watching config directory", "component", "config", "dir", s.opts.Dir, "error", err)
			}
		case <-settle:
			settle = nil
			if err := s.scan(w, push, false); err != nil {
				s.opts.Logger.Warn("scanning config directory", "component", "config", "dir", s.opts.Dir, "error", err)
			}
		case <-resync.C:
			if err := s.scan(w, push, false); err != nil {
				s.opts.Logger.Warn("scanning config directory", "component", "config", "dir", s.opts.Dir, "error", err)
			}
		}
	}
}

// scan reads changed files and pushes the new state when anything changed
// (always on the first scan).
func (s *Source) scan(w *fsnotify.Watcher, push func(config.State), first bool) error {
	paths, dirs, err := listFiles(s.opts.Dir)
	if err != nil {
		return fmt.Errorf("read config directory: %w", err)
	}
	for _, d := range dirs {
		if err := w.Add(d); err != nil {
			return fmt.Errorf("watch %s: %w", d, err)
		}
	}
	changed := first
	seen := map[string]bool{}
	for _, p := range paths {
		seen[p] = true
		if s.refresh(p, first) {
			changed = true
		}
	}
	for p := range s.files {
		if !seen[p] {
			delete(s.files, p)
			changed = true
		}
	}
	if changed {
		push(s.state())
	}
	return nil
}

// refresh re-reads one file if its size, time or content changed.
func (s *Source) refresh(path string, first bool) bool {
	info, err := os.Stat(path)
	if err != nil {
		return false // vanished between listing and stat; the next scan sees it
	}
	old := s.files[path]
	if old != nil && old.modTime.Equal(info.ModTime()) && old.size == info.Size() {
		return false
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	if old != nil && bytes.Equal(old.content, data) {
		old.modTime, old.size = info.ModTime(), info.Size()
		return false
	}
	st := &fileState{modTime: info.ModTime(), size: info.Size(), content: data, born: s.opts.Now(), lastGood: map[int]*config.Object{}}
	if first {
		st.born = info.ModTime()
	}
	if old != nil {
		st.born = old.born
	}
	s.decode(path, st, old)
	s.files[path] = st
	return true
}

func (s *Source) decode(path string, st, old *fileState) {
	objs, rejs := config.Decode(config.Origin{Source: "file", File: path}, st.content)
	have := map[config.Key]bool{}
	for _, o := range objs {
		have[o.Key()] = true
		st.lastGood[o.Origin.Document] = o
	}
	for _, r := range rejs {
		if !r.Key.Kind.IsZero() || old == nil {
			continue
		}
		prev, ok := old.lastGood[r.Origin.Document]
		if !ok || have[prev.Key()] {
			continue
		}
		// The document is unreadable: its previous object stays in force.
		objs = append(objs, prev)
		have[prev.Key()] = true
		st.lastGood[r.Origin.Document] = prev
		r.KeptLastGood = true
	}
	st.objects, st.rejected = objs, rejs
}

// state assembles the source's full state, resolving keys defined more than
// once: the definition that was there first stays in force.
func (s *Source) state() config.State {
	type candidate struct {
		obj  *config.Object
		born time.Time
	}
	byKey := map[config.Key][]candidate{}
	st := config.State{Source: "file", Synced: true}
	for _, p := range slices.Sorted(maps.Keys(s.files)) {
		f := s.files[p]
		for _, o := range f.objects {
			byKey[o.Key()] = append(byKey[o.Key()], candidate{o, f.born})
		}
		st.Rejected = append(st.Rejected, f.rejected...)
	}
	owner := map[config.Key]string{}
	for k, cands := range byKey {
		slices.SortStableFunc(cands, func(a, b candidate) int {
			return cmp.Or(boolFirst(a.obj.Origin.File == s.owner[k], b.obj.Origin.File == s.owner[k]),
				a.born.Compare(b.born), cmp.Compare(a.obj.Origin.File, b.obj.Origin.File),
				cmp.Compare(a.obj.Origin.Document, b.obj.Origin.Document))
		})
		win := cands[0].obj
		owner[k] = win.Origin.File
		st.Objects = append(st.Objects, win)
		for _, c := range cands[1:] {
			st.Rejected = append(st.Rejected, &config.Rejection{Origin: c.obj.Origin, Key: k, KeptLastGood: true,
				Err: fmt.Errorf("conflict: already defined in %s, which stays in force", win.Origin)})
		}
	}
	s.owner = owner
	slices.SortFunc(st.Objects, func(a, b *config.Object) int { return cmp.Compare(a.Key().String(), b.Key().String()) })
	return st
}

func boolFirst(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	default:
		return 1
	}
}

// listFiles returns the YAML/JSON files under dir and the directories to
// watch. Hidden files and directories (such as Kubernetes' "..data") are
// skipped; symbolic links to files are followed.
func listFiles(dir string) (files, dirs []string, err error) {
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		hidden := strings.HasPrefix(d.Name(), ".") && p != dir
		if d.IsDir() {
			if hidden {
				return filepath.SkipDir
			}
			dirs = append(dirs, p)
			return nil
		}
		if hidden {
			return nil
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".yaml", ".yml", ".json":
			files = append(files, p)
		}
		return nil
	})
	return files, dirs, err
}
