package translate

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/yaml"

	"github.com/lateenmesh/lateen/internal/config"
	"github.com/lateenmesh/lateen/internal/config/validate"
	"github.com/lateenmesh/lateen/internal/credentials"
	"github.com/lateenmesh/lateen/internal/mesh"
)

// goldenInput is a golden case's objects, proxies and credentials.
type goldenInput struct {
	name    string
	objs    []*config.Object
	proxies []*mesh.Proxy
	creds   *credentials.Set
}

func loadGoldenInputs(t *testing.T) []goldenInput {
	t.Helper()
	cases, err := filepath.Glob("testdata/*/input.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var out []goldenInput
	for _, in := range cases {
		dir := filepath.Dir(in)
		data, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		objs, rejs := config.Decode(config.Origin{File: "input.yaml"}, data)
		if len(rejs) > 0 {
			t.Fatalf("%s: %v", dir, rejs[0])
		}
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for i, o := range objs {
			if err := validate.Object(o); err != nil {
				t.Fatalf("%s: %s: %v", dir, o.Key(), err)
			}
			if o.Meta.CreationTimestamp.IsZero() {
				o.Meta.CreationTimestamp = base.Add(time.Duration(i) * time.Second)
			}
		}
		pdata, err := os.ReadFile(filepath.Join(dir, "proxies.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var tps []testProxy
		if err := yaml.UnmarshalStrict(pdata, &tps); err != nil {
			t.Fatal(err)
		}
		creds, _, err := credentials.NewDir(credentials.DirOptions{Path: filepath.Join(dir, "credentials")}).Load()
		if err != nil {
			t.Fatal(err)
		}
		gi := goldenInput{name: filepath.Base(dir), objs: objs, creds: creds}
		for _, tp := range tps {
			gi.proxies = append(gi.proxies, tp.proxy())
		}
		out = append(out, gi)
	}
	return out
}

// variants are a case's proxies and more of the same kind: each sidecar
// also in the other capture mode, with another proxy's labels, and in
// another cluster; shuffled.
func variants(rng *rand.Rand, proxies []*mesh.Proxy) []*mesh.Proxy {
	out := append([]*mesh.Proxy(nil), proxies...)
	for i, p := range proxies {
		if p.Type != mesh.Sidecar {
			continue
		}
		q := *p
		q.ID += "-redirect"
		q.InterceptionMode = mesh.InterceptRedirect
		if p.InterceptionMode == mesh.InterceptRedirect {
			q.InterceptionMode = mesh.InterceptNone
		}
		r := *p
		r.ID += "-relabel"
		r.Labels = proxies[(i+1)%len(proxies)].Labels
		c := *p
		c.ID += "-cluster"
		c.ClusterID = "cluster-2"
		c.IPs = []string{"127.99.0." + fmt.Sprint(i+1)}
		out = append(out, &q, &r, &c)
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// subsetOf keeps each object with probability keep.
func subsetOfObjects(rng *rand.Rand, objs []*config.Object, keep float64) []*config.Object {
	var out []*config.Object
	for _, o := range objs {
		if rng.Float64() < keep {
			out = append(out, o)
		}
	}
	return out
}

// TestCacheMatchesTranslate translates the proxies of every golden case,
// more proxies like them and many meshes made of random subsets of each
// case's objects, with and without one cache shared by all of them: the
// bytes must be the same. Each view is translated twice with the cache
// (the second time from memoized pieces and class parts).
func TestCacheMatchesTranslate(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	cache := NewCache()
	rounds := 4
	if testing.Short() {
		rounds = 2
	}
	for _, gi := range loadGoldenInputs(t) {
		for round := range rounds {
			objs := gi.objs
			if round > 0 {
				objs = subsetOfObjects(rng, gi.objs, 0.8)
			}
			snap := mesh.Build(config.NewSet(uint64(round+1), objs, nil), mesh.Options{Credentials: gi.creds})
			cache.NextGeneration(2)
			for _, p := range variants(rng, gi.proxies) {
				want := Translate(snap.ViewFor(p))
				for try := range 2 {
					got := cache.Translate(snap.ViewFor(p))
					if d := diffResources(want, got); d != "" {
						t.Fatalf("%s round %d proxy %s try %d: cached translation differs:\n%s", gi.name, round, p.ID, try, d)
					}
				}
			}
		}
	}
	st := cache.Stats()
	if st.Hits == 0 || st.Misses == 0 {
		t.Errorf("cache stats %+v: want hits and misses", st)
	}
}

// TestDependenciesAreSound checks that a proxy whose dependencies did not
// change between two snapshots (Snapshot.Unchanged) gets the same
// configuration from both, over golden cases and random subsets.
func TestDependenciesAreSound(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	cache := NewCache()
	skipped, checked := 0, 0
	for _, gi := range loadGoldenInputs(t) {
		prev := mesh.Build(config.NewSet(1, gi.objs, nil), mesh.Options{Credentials: gi.creds})
		for round := range 8 {
			next := mesh.Build(config.NewSet(uint64(round+2), subsetOfObjects(rng, gi.objs, 0.85), nil),
				mesh.Options{Credentials: gi.creds})
			for _, p := range variants(rng, gi.proxies) {
				v := prev.ViewFor(p)
				before := cache.Translate(v)
				st := prev.State(p, v.Deps())
				checked++
				if !next.Unchanged(p, st) {
					continue
				}
				skipped++
				after := Translate(next.ViewFor(p))
				if d := diffResources(before, after); d != "" {
					t.Fatalf("%s round %d proxy %s: dependencies unchanged but configuration changed:\n%s", gi.name, round, p.ID, d)
				}
			}
			prev = next
		}
	}
	if skipped == 0 || skipped == checked {
		t.Errorf("%d of %d proxies unchanged: the test exercises nothing", skipped, checked)
	}
}

// diffResources compares two translations resource by resource.
func diffResources(want, got *Resources) string {
	lists := func(r *Resources) map[string][]proto.Message {
		return map[string][]proto.Message{
			"listeners": msgs(r.Listeners), "routes": msgs(r.Routes), "clusters": msgs(r.Clusters),
			"endpoints": msgs(r.Endpoints), "secrets": msgs(r.Secrets),
		}
	}
	w, g := lists(want), lists(got)
	for kind, wl := range w {
		gl := g[kind]
		if len(wl) != len(gl) {
			return fmt.Sprintf("%s: %d resources, want %d", kind, len(gl), len(wl))
		}
		for i := range wl {
			wb, gb := mustMarshal(wl[i]), mustMarshal(gl[i])
			if !bytes.Equal(wb, gb) {
				wj, _ := protojson.Marshal(wl[i])
				gj, _ := protojson.Marshal(gl[i])
				return fmt.Sprintf("%s[%d]:\nwant %s\ngot  %s", kind, i, wj, gj)
			}
		}
	}
	return ""
}

func msgs[M proto.Message](l []M) []proto.Message {
	out := make([]proto.Message, len(l))
	for i, m := range l {
		out[i] = m
	}
	return out
}

func mustMarshal(m proto.Message) []byte {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		panic(err) // generated messages always marshal
	}
	return b
}

// TestPieceKeysCoverInputs checks that every field of a piece input has
// its field in the piece key (key() fills the key positionally, so the
// compiler checks the other direction).
func TestPieceKeysCoverInputs(t *testing.T) {
	for _, pair := range [][2]any{{clusterInput{}, clusterKey{}}, {routesInput{}, routesKey{}}} {
		in, key := reflect.TypeOf(pair[0]), reflect.TypeOf(pair[1])
		if in.NumField() != key.NumField() {
			t.Fatalf("%s has %d fields, %s %d", in, in.NumField(), key, key.NumField())
		}
		for i := range in.NumField() {
			if in.Field(i).Name != key.Field(i).Name {
				t.Errorf("%s field %d is %s, %s's is %s", in, i, in.Field(i).Name, key, key.Field(i).Name)
			}
		}
	}
}

// TestCacheConcurrent translates the golden proxies from several
// goroutines sharing one cache (run with -race); every result must match
// the uncached translation.
func TestCacheConcurrent(t *testing.T) {
	inputs := loadGoldenInputs(t)
	cache := NewCache()
	type job struct {
		snap *mesh.Snapshot
		p    *mesh.Proxy
		want *Resources
	}
	var jobs []job
	for _, gi := range inputs {
		snap := mesh.Build(config.NewSet(1, gi.objs, nil), mesh.Options{Credentials: gi.creds})
		for _, p := range variants(rand.New(rand.NewPCG(1, 1)), gi.proxies) {
			jobs = append(jobs, job{snap, p, Translate(snap.ViewFor(p))})
		}
	}
	errs := make(chan string, 4)
	for w := range 4 {
		go func() {
			for i := range jobs {
				j := jobs[(i+w*7)%len(jobs)]
				if d := diffResources(j.want, cache.Translate(j.snap.ViewFor(j.p))); d != "" {
					errs <- j.p.ID + ": " + d
					return
				}
			}
			errs <- ""
		}()
	}
	for range 4 {
		if e := <-errs; e != "" {
			t.Error(e)
		}
	}
}
