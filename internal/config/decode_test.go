package config

import (
	"strings"
	"testing"

	networking "istio.io/api/networking/v1alpha3"
)

func TestDecodeErrorsNameFileDocumentObjectAndField(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       string // substring of the only rejection
	}{
		{
			name: "unknown field",
			yaml: "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: r, namespace: default}\nspec:\n  hosts: [r]\n  http:\n  - route:\n    - destination: {host: r}\n      wieght: 5\n",
			want: `f.yaml: document 1: VirtualService default/r: spec.http[0].route[0].wieght: unknown field "wieght"`,
		},
		{
			name: "wrong type",
			yaml: "apiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\nmetadata: {name: r}\nspec:\n  host: r\n  subsets: {name: v1}\n",
			want: `f.yaml: document 1: DestinationRule default/r: spec.subsets: expected a list, got an object`,
		},
		{
			name: "string for integer",
			yaml: "apiVersion: networking.istio.io/v1alpha3\nkind: VirtualService\nmetadata: {name: r}\nspec:\n  hosts: [r]\n  http:\n  - route:\n    - destination: {host: r}\n      weight: \"50\"\n",
			want: `spec.http[0].route[0].weight: expected an integer, got a string`,
		},
		{
			name: "bad enum",
			yaml: "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: p}\nspec:\n  mtls: {mode: STRICTER}\n",
			want: `spec.mtls.mode: invalid value "STRICTER"`,
		},
		{
			name: "bad duration",
			yaml: "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: r}\nspec:\n  hosts: [r]\n  http:\n  - timeout: 10 seconds\n    route:\n    - destination: {host: r}\n",
			want: `spec.http[0].timeout: invalid duration "10 seconds"`,
		},
		{
			name: "bad yaml",
			yaml: "apiVersion: v1\nkind: [\n",
			want: `f.yaml: document 1: invalid YAML`,
		},
		{
			name: "unknown kind",
			yaml: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n",
			want: `kind Deployment (apiVersion apps/v1) is not an Istio configuration kind`,
		},
		{
			name: "wrong version",
			yaml: "apiVersion: networking.istio.io/v2\nkind: Gateway\nmetadata: {name: g}\n",
			want: `unsupported apiVersion "networking.istio.io/v2" for kind Gateway`,
		},
		{
			name: "missing name",
			yaml: "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {namespace: x}\nspec: {}\n",
			want: `metadata.name: required`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, rejs := Decode(Origin{File: "f.yaml"}, []byte(tc.yaml))
			if len(objs) != 0 || len(rejs) != 1 {
				t.Fatalf("got %d objects, %d rejections; want 0 and 1: %v", len(objs), len(rejs), rejs)
			}
			if got := rejs[0].Error(); !strings.Contains(got, tc.want) {
				t.Errorf("error %q\ndoes not contain %q", got, tc.want)
			}
		})
	}
}

func TestDecodeMultiDocument(t *testing.T) {
	data := `# leading comment
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  trafficPolicy:
    outlierDetection: {baseEjectionTime: 15m, interval: 1.5s}
---
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: bad}
spec: {servers: 3}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |-
    accessLogFile: /dev/stdout
    rootNamespace: istio-system
`
	objs, rejs := Decode(Origin{File: "m.yaml"}, []byte(data))
	if len(objs) != 2 || len(rejs) != 1 {
		t.Fatalf("got %d objects and %v", len(objs), rejs)
	}
	if objs[0].Origin.Document != 2 || objs[1].Origin.Document != 5 {
		t.Errorf("document numbers %d, %d; want 2, 5", objs[0].Origin.Document, objs[1].Origin.Document)
	}
	od := objs[0].Spec.(*networking.DestinationRule).TrafficPolicy.OutlierDetection
	if od.BaseEjectionTime.AsDuration().Minutes() != 15 || od.Interval.AsDuration().Seconds() != 1.5 {
		t.Errorf("durations: %v %v", od.BaseEjectionTime, od.Interval)
	}
	if objs[0].Meta.Namespace != DefaultNamespace {
		t.Errorf("namespace %q, want default", objs[0].Meta.Namespace)
	}
	if want := "m.yaml: document 4: Gateway default/bad: spec.servers: expected a list"; !strings.Contains(rejs[0].Error(), want) {
		t.Errorf("got %q, want %q", rejs[0].Error(), want)
	}
}

func TestDocumentsMatchDecodeNumbering(t *testing.T) {
	data := "---\na: 1\n---\nb: 2\n"
	docs := Documents([]byte(data))
	if len(docs) != 2 || string(docs[1]) != "b: 2\n" {
		t.Fatalf("got %q", docs)
	}
}
