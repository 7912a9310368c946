package file

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/lateenmesh/lateen/internal/config"
)

// Change reports what Apply or Delete did to one object.
type Change struct {
	Key    config.Key
	File   string
	Action string // created, configured, unchanged, deleted, not found
}

func (c Change) String() string {
	return fmt.Sprintf("%s.%s/%s %s", strings.ToLower(c.Key.Kind.Name), c.Key.Kind.Group, c.Key.Name, c.Action)
}

// Apply creates or replaces objects in the directory as `kubectl apply`
// does, by kind, namespace and name: the document that defines an object
// is replaced in place; a new object gets a file of its own. docs holds
// the YAML text of each object. Files are replaced atomically.
func Apply(dir string, objs []*config.Object, docs [][]byte) ([]Change, error) {
	idx, err := indexDir(dir)
	if err != nil {
		return nil, err
	}
	var changes []Change
	for _, o := range objs {
		text := docs[o.Origin.Document-1]
		loc, ok := idx.where[o.Key()]
		if !ok {
			path := filepath.Join(dir, newFileName(o.Key()))
			if err := writeAtomic(path, text); err != nil {
				return changes, err
			}
			changes = append(changes, Change{Key: o.Key(), File: path, Action: "created"})
			continue
		}
		f := idx.files[loc.file]
		action := "configured"
		if bytes.Equal(bytes.TrimSpace(f[loc.doc]), bytes.TrimSpace(text)) {
			action = "unchanged"
		}
		f[loc.doc] = text
		if action == "configured" {
			if err := writeAtomic(loc.file, joinDocuments(f)); err != nil {
				return changes, err
			}
		}
		changes = append(changes, Change{Key: o.Key(), File: loc.file, Action: action})
	}
	return changes, nil
}

// Delete removes the documents defining keys; a file left empty is removed.
func Delete(dir string, keys []config.Key) ([]Change, error) {
	idx, err := indexDir(dir)
	if err != nil {
		return nil, err
	}
	var changes []Change
	touched := map[string]bool{}
	for _, k := range keys {
		loc, ok := idx.where[k]
		if !ok {
			changes = append(changes, Change{Key: k, Action: "not found"})
			continue
		}
		idx.files[loc.file][loc.doc] = nil
		touched[loc.file] = true
		changes = append(changes, Change{Key: k, File: loc.file, Action: "deleted"})
	}
	for path := range touched {
		content := joinDocuments(idx.files[path])
		var err error
		if len(bytes.TrimSpace(content)) == 0 {
			err = os.Remove(path)
		} else {
			err = writeAtomic(path, content)
		}
		if err != nil {
			return changes, err
		}
	}
	return changes, nil
}

type location struct {
	file string
	doc  int
}

type dirIndex struct {
	files map[string][][]byte
	where map[config.Key]location
}

// indexDir finds, for every object defined in the directory, the file and
// document defining it (the first definition when there are several).
func indexDir(dir string) (*dirIndex, error) {
	paths, _, err := listFiles(dir)
	if err != nil {
		return nil, fmt.Errorf("read config directory: %w", err)
	}
	idx := &dirIndex{files: map[string][][]byte{}, where: map[config.Key]location{}}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		idx.files[p] = config.Documents(data)
		objs, rejs := config.Decode(config.Origin{File: p}, data)
		for _, o := range objs {
			idx.add(o.Key(), location{p, o.Origin.Document - 1})
		}
		for _, r := range rejs {
			if !r.Key.Kind.IsZero() {
				idx.add(r.Key, location{p, r.Origin.Document - 1})
			}
		}
	}
	return idx, nil
}

func (idx *dirIndex) add(k config.Key, l location) {
	if _, dup := idx.where[k]; !dup {
		idx.where[k] = l
	}
}

func newFileName(k config.Key) string {
	return strings.ToLower(k.Kind.Name) + "-" + k.Namespace + "-" + k.Name + ".yaml"
}

func joinDocuments(docs [][]byte) []byte {
	var b bytes.Buffer
	n := 0
	for _, d := range docs {
		if len(bytes.TrimSpace(d)) == 0 {
			continue
		}
		if n > 0 {
			b.WriteString("---\n")
		}
		b.Write(d)
		if !bytes.HasSuffix(d, []byte("\n")) {
			b.WriteByte('\n')
		}
		n++
	}
	return b.Bytes()
}

func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".lateen-apply-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
