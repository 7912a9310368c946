package validate

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/protobuf/reflect/protoreflect"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"

	"github.com/lateenmesh/lateen/internal/config"
)

// testGates is a stand-in for the unsupported table.
var testGates = []Unsupported{
	{Kind: config.VirtualService, Path: "spec.http[].mirrors", Reason: "mirroring to several destinations"},
	{Kind: config.VirtualService, Path: "spec.http[].match[].headers[].regex", Reason: "regex header matches"},
	{Kind: config.VirtualService, Path: "spec.http[].retries.retryRemoteLocalities", Value: "true", Reason: "retrying in other localities"},
	{Kind: config.ServiceEntry, Path: "spec.resolution", Value: "DNS_ROUND_ROBIN", Reason: "resolution DNS_ROUND_ROBIN"},
	{Kind: config.ServiceEntry, Path: "spec.resolution", Value: "NONE", Reason: "resolution NONE"},
	{Kind: config.ServiceEntry, Path: "spec.ports[].protocol", Value: "MONGO", Reason: "the MONGO protocol"},
	{Kind: config.DestinationRule, Path: "spec.trafficPolicy.tunnel", Reason: "tunnel settings"},
	{Kind: config.DestinationRule, Path: "spec.exportTo", Reason: "exportTo on destination rules"},
	{Kind: config.MeshConfigMap, Path: "data.mesh.defaultConfig.tracing", Reason: "proxy tracing settings"},
}

func TestCheckUnsupported(t *testing.T) {
	cases := []struct {
		name, kind, spec string
		want             []string
	}{
		{"unset fields pass", "VirtualService", `
hosts: [a]
http:
- route: [{destination: {host: a}}]
  retries: {attempts: 1, retryRemoteLocalities: false}
`, nil},
		{"list field set", "VirtualService", `
hosts: [a]
http:
- route: [{destination: {host: a}}]
- route: [{destination: {host: a}}]
  mirrors: [{destination: {host: b}}]
`, []string{"spec.http[1].mirrors"}},
		{"map values and oneof leaf", "VirtualService", `
hosts: [a]
http:
- match:
  - headers: {x-a: {exact: "1"}, x-b: {regex: "v.*"}}
  route: [{destination: {host: a}}]
`, []string{"spec.http[0].match[0].headers[x-b].regex"}},
		{"wrapper value", "VirtualService", `
hosts: [a]
http:
- route: [{destination: {host: a}}]
  retries: {attempts: 1, retryRemoteLocalities: true}
`, []string{"spec.http[0].retries.retryRemoteLocalities"}},
		{"enum value", "ServiceEntry", `
hosts: [a.example.com]
ports: [{number: 80, name: http, protocol: HTTP}]
resolution: DNS_ROUND_ROBIN
`, []string{"spec.resolution"}},
		{"enum default value", "ServiceEntry", `
hosts: [a.example.com]
ports: [{number: 27017, name: mongo, protocol: MONGO}, {number: 80, name: http, protocol: HTTP}]
`, []string{"spec.resolution", "spec.ports[0].protocol"}},
		{"message set", "DestinationRule", `
host: a
trafficPolicy: {tunnel: {targetHost: a.example.com, targetPort: 443}}
exportTo: ["."]
`, []string{"spec.trafficPolicy.tunnel", "spec.exportTo"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := decodeOne(t, doc(tc.kind, tc.spec))
			var got []string
			for _, u := range checkUnsupported(o, testGates) {
				got = append(got, u.Path)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty(), cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("paths (-want +got):\n%s", diff)
			}
		})
	}
}

// withGates runs f with the unsupported table replaced.
func withGates(t *testing.T, gates []Unsupported, f func()) {
	t.Helper()
	saved := unsupported
	unsupported = gates
	defer func() { unsupported = saved }()
	f()
}

func TestObjectReportsUnsupportedFields(t *testing.T) {
	o := decodeOne(t, doc("VirtualService", `
hosts: [a]
http:
- route: [{destination: {host: a}, weight: -1}]
  mirrors: [{destination: {host: b}}]
`))
	withGates(t, testGates, func() {
		err := Object(o)
		if !errors.Is(err, config.ErrNotSupported) {
			t.Fatalf("errors.Is(%v, ErrNotSupported) = false", err)
		}
		var fe config.FieldErrors
		if !errors.As(err, &fe) || len(fe) != 1 || fe[0].Path != "spec.http[0].route[0].weight" {
			t.Errorf("errors.As FieldErrors = %v, want the weight error", fe)
		}
		var ue *UnsupportedError
		if !errors.As(err, &ue) || ue.Path != "spec.http[0].mirrors" {
			t.Errorf("errors.As UnsupportedError = %v", ue)
		}
		want := "spec.http[0].route[0].weight: weight must not be negative, got -1; " +
			"spec.http[0].mirrors: mirroring to several destinations: not supported yet"
		if err.Error() != want {
			t.Errorf("text:\n got %s\nwant %s", err, want)
		}
	})
}

func TestMeshConfigReportsUnsupportedFields(t *testing.T) {
	mc, _, err := config.DecodeMeshConfig("", []byte("defaultConfig:\n  tracing:\n    sampling: 10\n"))
	if err != nil {
		t.Fatal(err)
	}
	withGates(t, testGates, func() {
		for _, root := range []string{"", "data.mesh"} {
			err := MeshConfig(root, mc)
			if !errors.Is(err, config.ErrNotSupported) {
				t.Fatalf("root %q: %v does not match ErrNotSupported", root, err)
			}
			want := strings.TrimPrefix(root+".defaultConfig.tracing", ".")
			if got := errPaths(err); len(got) != 1 || got[0] != want {
				t.Errorf("root %q: paths %v, want [%s]", root, got, want)
			}
		}
	})
	if err := MeshConfig("", &meshv1alpha1.MeshConfig{}); err != nil {
		t.Errorf("empty mesh config: %v", err)
	}
	if err := MeshConfig("", nil); err != nil {
		t.Errorf("nil mesh config: %v", err)
	}
}

// TestUnsupportedTableResolves checks every entry of the real table (and
// the test table) names existing fields, with "[]" only on lists and maps.
func TestUnsupportedTableResolves(t *testing.T) {
	for _, u := range append(append([]Unsupported{}, unsupported...), testGates...) {
		if u.Reason == "" {
			t.Errorf("%s %s: reason is required", u.Kind, u.Path)
		}
		if err := resolvePattern(u); err != nil {
			t.Errorf("%s %s: %v", u.Kind, u.Path, err)
		}
	}
}

func resolvePattern(u Unsupported) error {
	segs, ok := patternSegments(u.Kind, u.Path)
	if !ok {
		return errors.New("pattern must start with " + string(specRoot(u.Kind)) + ". and name fields")
	}
	var md protoreflect.MessageDescriptor
	if u.Kind == config.MeshConfigMap {
		md = (&meshv1alpha1.MeshConfig{}).ProtoReflect().Descriptor()
	} else {
		info, _, _ := config.LookupKind(u.Kind.Group+"/v1", u.Kind.Name)
		md = info.NewSpec().ProtoReflect().Descriptor()
	}
	for i, s := range segs {
		if md == nil {
			return errors.New("field " + s.name + " under a scalar")
		}
		fd := fieldByName(md, s.name)
		switch {
		case fd == nil:
			return errors.New("no field " + s.name + " in " + string(md.FullName()))
		case s.each && !fd.IsList() && !fd.IsMap():
			return errors.New("[] on " + s.name + ", which is not a list or map")
		case !s.each && (fd.IsList() || fd.IsMap()) && i < len(segs)-1:
			return errors.New("list or map " + s.name + " needs [] to go deeper")
		}
		md = fd.Message()
		if fd.IsMap() {
			md = fd.MapValue().Message()
		}
	}
	return nil
}

func TestUnsupportedErrorText(t *testing.T) {
	e := &UnsupportedError{Path: "spec.x", Reason: "the x field"}
	if e.Error() != "spec.x: the x field: not supported yet" || !errors.Is(e, config.ErrNotSupported) {
		t.Errorf("got %q", e.Error())
	}
}
