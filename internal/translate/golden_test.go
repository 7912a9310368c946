package translate

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/yaml"

	"github.com/lateenmesh/lateen/internal/config"
	"github.com/lateenmesh/lateen/internal/config/validate"
	"github.com/lateenmesh/lateen/internal/credentials"
	"github.com/lateenmesh/lateen/internal/mesh"
)

var update = flag.Bool("update", false, "rewrite golden files")

// testProxy describes one proxy of a golden case (testdata/<case>/proxies.yaml).
type testProxy struct {
	Name             string            `json:"name"`
	Type             string            `json:"type"`
	IP               string            `json:"ip"`
	Namespace        string            `json:"namespace"`
	Workload         string            `json:"workload"`
	ServiceAccount   string            `json:"serviceAccount"`
	Labels           map[string]string `json:"labels"`
	InterceptionMode string            `json:"interceptionMode"`
}

func (tp testProxy) proxy() *mesh.Proxy {
	typ := mesh.NodeType(tp.Type)
	if typ == "" {
		typ = mesh.Sidecar
	}
	mode := tp.InterceptionMode
	if mode == "" {
		mode = mesh.InterceptNone
	}
	return &mesh.Proxy{
		ID:   string(typ) + "~" + tp.IP + "~" + tp.Workload + "." + tp.Namespace + "~" + tp.Namespace + ".svc.cluster.local",
		Type: typ, IPs: []string{tp.IP}, Namespace: tp.Namespace, WorkloadName: tp.Workload,
		Labels: tp.Labels, ServiceAccount: tp.ServiceAccount, InterceptionMode: mode,
	}
}

// loadCase reads a golden case's configuration into a snapshot; every
// object must be valid.
func loadCase(t *testing.T, dir string) (*mesh.Snapshot, []testProxy) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "input.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs, rejs := config.Decode(config.Origin{File: "input.yaml"}, data)
	for _, r := range rejs {
		t.Fatalf("decode: %v", r)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, o := range objs {
		if err := validate.Object(o); err != nil {
			t.Fatalf("%s: %v", o.Key(), err)
		}
		if o.Meta.CreationTimestamp.IsZero() {
			o.Meta.CreationTimestamp = base.Add(time.Duration(i) * time.Second)
		}
	}
	var proxies []testProxy
	pdata, err := os.ReadFile(filepath.Join(dir, "proxies.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(pdata, &proxies); err != nil {
		t.Fatalf("proxies.yaml: %v", err)
	}
	creds, problems, err := credentials.NewDir(credentials.DirOptions{Path: filepath.Join(dir, "credentials")}).Load()
	if err != nil || len(problems) > 0 {
		t.Fatalf("credentials: %v %v", err, problems)
	}
	return mesh.Build(config.NewSet(1, objs, nil), mesh.Options{Credentials: creds}), proxies
}

func TestGolden(t *testing.T) {
	cases, err := filepath.Glob("testdata/*/input.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range cases {
		dir := filepath.Dir(in)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			snap, proxies := loadCase(t, dir)
			for _, tp := range proxies {
				t.Run(tp.Name, func(t *testing.T) {
					got := marshalResources(t, Translate(snap.ViewFor(tp.proxy())))
					// The same view must always give the same bytes.
					if again := marshalResources(t, Translate(snap.ViewFor(tp.proxy()))); !bytes.Equal(got, again) {
						t.Fatal("translation is not deterministic")
					}
					compareGolden(t, filepath.Join(dir, tp.Name+".golden.json"), got)
				})
			}
		})
	}
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/translate -update)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s differs (-want +got); run with -update if intended:\n%s", path, d)
	}
}

// marshalResources renders resources as indented JSON with sorted keys.
func marshalResources(t *testing.T, r *Resources) []byte {
	t.Helper()
	out := map[string][]any{}
	add := func(kind string, m proto.Message) {
		b, err := protojson.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		out[kind] = append(out[kind], v)
	}
	for _, m := range r.Listeners {
		add("listeners", m)
	}
	for _, m := range r.Routes {
		add("routes", m)
	}
	for _, m := range r.Clusters {
		add("clusters", m)
	}
	for _, m := range r.Endpoints {
		add("endpoints", m)
	}
	for _, m := range r.Secrets {
		add("secrets", m)
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}
