package file

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	networking "istio.io/api/networking/v1alpha3"

	"github.com/lateenmesh/lateen/internal/config"
)

const vsTemplate = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: NAME, namespace: default}
spec:
  hosts: [HOST]
  http:
  - route:
    - destination: {host: HOST}
`

func vsYAML(name, host string) string {
	return strings.NewReplacer("NAME", name, "HOST", host).Replace(vsTemplate)
}

type watcher struct {
	t      *testing.T
	states chan config.State
}

func startSource(t *testing.T, dir string) *watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{t: t, states: make(chan config.State, 64)}
	src := New(Options{Dir: dir, Settle: time.Millisecond, Resync: time.Hour})
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, func(st config.State) { w.states <- st }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return w
}

// waitFor returns the first state satisfying cond, failing after a deadline.
func (w *watcher) waitFor(what string, cond func(config.State) bool) config.State {
	w.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case st := <-w.states:
			if cond(st) {
				return st
			}
		case <-deadline:
			w.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func hostOf(st config.State, name string) string {
	for _, o := range st.Objects {
		if o.Meta.Name == name {
			return o.Spec.(*networking.VirtualService).Hosts[0]
		}
	}
	return ""
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDirectoryAddsEditsAndDeletesLive(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.yaml"), vsYAML("a", "a.example.com"))
	w := startSource(t, dir)
	w.waitFor("initial a", func(st config.State) bool { return st.Synced && hostOf(st, "a") == "a.example.com" })

	write(t, filepath.Join(dir, "b.yml"), vsYAML("b", "b.example.com"))
	w.waitFor("added b", func(st config.State) bool { return hostOf(st, "b") == "b.example.com" })

	write(t, filepath.Join(dir, "a.yaml"), vsYAML("a", "a2.example.com"))
	w.waitFor("edited a", func(st config.State) bool { return hostOf(st, "a") == "a2.example.com" })

	if err := os.Remove(filepath.Join(dir, "b.yml")); err != nil {
		t.Fatal(err)
	}
	w.waitFor("deleted b", func(st config.State) bool { return hostOf(st, "b") == "" && len(st.Objects) == 1 })

	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(sub, "c.yaml"), vsYAML("c", "c.example.com"))
	w.waitFor("c in a new subdirectory", func(st config.State) bool { return hostOf(st, "c") == "c.example.com" })
}

func TestUnreadableDocumentKeepsItsLastObject(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.yaml")
	write(t, path, vsYAML("a", "a.example.com")+"---\n"+vsYAML("b", "b.example.com"))
	w := startSource(t, dir)
	w.waitFor("initial", func(st config.State) bool { return len(st.Objects) == 2 })

	// Break the YAML of the first document and edit the second.
	write(t, path, "apiVersion: [\n---\n"+vsYAML("b", "b2.example.com"))
	st := w.waitFor("edit", func(st config.State) bool { return hostOf(st, "b") == "b2.example.com" })
	if hostOf(st, "a") != "a.example.com" {
		t.Errorf("a = %q, want its last good version", hostOf(st, "a"))
	}
	if len(st.Rejected) != 1 || !st.Rejected[0].KeptLastGood || !strings.Contains(st.Rejected[0].Error(), "a.yaml: document 1: invalid YAML") {
		t.Errorf("rejections: %v", st.Rejected)
	}
}

func TestDuplicateDefinitionKeepsTheOlder(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "z-first.yaml"), vsYAML("a", "first.example.com"))
	w := startSource(t, dir)
	w.waitFor("initial", func(st config.State) bool { return hostOf(st, "a") == "first.example.com" })

	// A later file defining the same object (sorting before the first by
	// name) does not take it over.
	write(t, filepath.Join(dir, "a-second.yaml"), vsYAML("a", "second.example.com"))
	st := w.waitFor("conflict", func(st config.State) bool { return len(st.Rejected) == 1 })
	if hostOf(st, "a") != "first.example.com" {
		t.Errorf("a = %q, want the older definition", hostOf(st, "a"))
	}
	if !strings.Contains(st.Rejected[0].Error(), "a-second.yaml: document 1: VirtualService default/a: conflict: already defined in") {
		t.Errorf("rejection: %v", st.Rejected[0])
	}
	// Once the older definition goes, the other takes over.
	if err := os.Remove(filepath.Join(dir, "z-first.yaml")); err != nil {
		t.Fatal(err)
	}
	w.waitFor("takeover", func(st config.State) bool { return hostOf(st, "a") == "second.example.com" && len(st.Rejected) == 0 })
}

func TestApplyReplacesInPlaceAndDeleteRemoves(t *testing.T) {
	dir := t.TempDir()
	all := filepath.Join(dir, "all.yaml")
	write(t, all, vsYAML("a", "a.example.com")+"---\n"+vsYAML("b", "b.example.com"))
	in := vsYAML("b", "b2.example.com") + "---\n" + vsYAML("c", "c.example.com")
	objs, rejs := config.Decode(config.Origin{File: "in.yaml"}, []byte(in))
	if len(rejs) > 0 {
		t.Fatal(rejs)
	}
	changes, err := Apply(dir, objs, config.Documents([]byte(in)))
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 || changes[0].Action != "configured" || changes[1].Action != "created" {
		t.Fatalf("changes: %v", changes)
	}
	data, _ := os.ReadFile(all)
	if !strings.Contains(string(data), "b2.example.com") || !strings.Contains(string(data), "a.example.com") {
		t.Errorf("all.yaml after apply:\n%s", data)
	}
	again, _ := Apply(dir, objs, config.Documents([]byte(in)))
	if again[0].Action != "unchanged" || again[1].Action != "unchanged" {
		t.Errorf("second apply: %v", again)
	}
	if _, err := Delete(dir, []config.Key{objs[1].Key()}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(changes[1].File); !os.IsNotExist(err) {
		t.Errorf("file of c still exists after delete: %v", err)
	}
}
