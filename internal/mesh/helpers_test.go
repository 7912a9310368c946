package mesh

import (
	"errors"
	"google.golang.org/protobuf/encoding/protojson"
	"strings"
	"testing"
	"time"

	meshv1alpha1 "istio.io/api/mesh/v1alpha1"

	"github.com/lateenmesh/lateen/internal/config"
	"github.com/lateenmesh/lateen/internal/config/validate"
	"github.com/lateenmesh/lateen/internal/registry"
)

// build decodes and validates (Istio's rules) YAML documents into a snapshot; objects are
// created one second apart in document order.
func build(t *testing.T, mc *meshv1alpha1.MeshConfig, docs ...string) *Snapshot {
	t.Helper()
	objs, rejs := config.Decode(config.Origin{File: "test.yaml"}, []byte(strings.Join(docs, "\n---\n")))
	for _, r := range rejs {
		t.Fatalf("decode: %v", r)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, o := range objs {
		// Fields the proxy does not enforce yet are fine here: the mesh
		// only binds objects.
		if err := validate.Object(o); err != nil && !errors.Is(err, config.ErrNotSupported) {
			t.Fatalf("%s: %v", o.Key(), err)
		}
		o.Meta.CreationTimestamp = base.Add(time.Duration(i) * time.Second)
	}
	var raw []byte
	if mc != nil {
		var err error
		if raw, err = protojson.Marshal(mc); err != nil {
			t.Fatal(err)
		}
	}
	return Build(config.NewSet(1, objs, nil), Options{MeshConfig: raw})
}

// se is a ServiceEntry with one HTTP port per number.
func se(ns, name, host string, exportTo string, ports ...string) string {
	var b strings.Builder
	b.WriteString("apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: " + name + ", namespace: \"" + ns + "\"}\n")
	b.WriteString("spec:\n  hosts: [" + host + "]\n  location: MESH_INTERNAL\n  resolution: STATIC\n")
	b.WriteString("  workloadSelector: {labels: {app: " + name + "}}\n  ports:\n")
	if len(ports) == 0 {
		ports = []string{"80"}
	}
	for _, p := range ports {
		b.WriteString("  - {name: http-" + p + ", number: " + p + ", protocol: HTTP}\n")
	}
	if exportTo != "" {
		b.WriteString("  exportTo: [" + exportTo + "]\n")
	}
	return b.String()
}

// vs is a VirtualService; spec is the YAML of its spec, indented by two.
func vs(ns, name, spec string) string {
	return "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: " + name + ", namespace: \"" + ns + "\"}\nspec:\n" + spec
}

func sidecarProxy(ns string, labels map[string]string) *Proxy {
	return &Proxy{ID: "sidecar~10.0.0.1~x." + ns + "~" + ns + ".svc.cluster.local", Type: Sidecar,
		IPs: []string{"10.0.0.1"}, Namespace: ns, Labels: labels, InterceptionMode: InterceptNone}
}

func hostsOf(svcs []*registry.Service) []string {
	out := []string{}
	for _, s := range svcs {
		out = append(out, s.Namespace+"/"+s.Hostname)
	}
	return out
}

func vsNames(vss []*VirtualService) []string {
	out := []string{}
	for _, v := range vss {
		out = append(out, v.Key.Namespace+"/"+v.Key.Name)
	}
	return out
}

func noteStrings(notes []Note) []string {
	out := []string{}
	for _, n := range notes {
		s := n.Object.Namespace + "/" + n.Object.Name
		if n.Host != "" {
			s += " " + n.Host
		}
		if !n.By.Kind.IsZero() {
			s += " by " + n.By.Namespace + "/" + n.By.Name
		}
		out = append(out, s)
	}
	return out
}
