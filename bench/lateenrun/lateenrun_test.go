package lateenrun

import (
	"testing"

	"github.com/lateenmesh/lateen/internal/config"
	"github.com/lateenmesh/lateen/internal/config/validate"
)

// Every object the harnesses write is valid Lateen configuration that the
// not-supported-yet gate lets through: a benchmark of rejected config
// would measure nothing.
func TestObjectsAreAccepted(t *testing.T) {
	ports := []Port{{Number: 8080, Name: "http", Protocol: "HTTP"}, {Number: 9090, Name: "grpc", Protocol: "GRPC"}}
	data, err := Marshal(
		ServiceEntry("a", "ns", ports, map[string]string{"app": "a"}, nil),
		ServiceEntry("b", "ns", ports, nil, []Endpoint{{Address: "127.250.0.1", Labels: map[string]string{"version": "v1"}}}),
		WorkloadEntry("a", "ns", "127.0.0.2", "a", map[string]string{"app": "a"}),
		SidecarResource("a", "ns", map[string]string{"app": "a"}, []Ingress{{Port: ports[0], AppPort: 18080}}, nil),
		SidecarResource("default", "ns", nil, nil, []string{"./*"}),
		DestinationRule("b", "ns", Host("b", "ns"), "v1", "v2"),
		VirtualService("vs", "ns", Host("b", "ns"), 8080, "/marker"),
	)
	if err != nil {
		t.Fatal(err)
	}
	objs, rejected := config.Decode(config.Origin{}, data)
	for _, r := range rejected {
		t.Errorf("rejected: %v", r)
	}
	if len(objs) != 7 {
		t.Fatalf("decoded %d objects, want 7", len(objs))
	}
	for _, o := range objs {
		if err := validate.Object(o); err != nil {
			t.Errorf("%s %s: %v", o.Kind.Name, o.Meta.Name, err)
		}
	}
}

func TestSumMetric(t *testing.T) {
	text := `# HELP pilot_xds_pushes x
pilot_xds_pushes{type="cds"} 3
pilot_xds_pushes{type="eds"} 4
pilot_xds_pushes_other 100
pilot_xds_push_time_count 7
`
	if got := sumMetric(text, "pilot_xds_pushes"); got != 7 {
		t.Fatalf("pushes = %v", got)
	}
	if got := sumMetric(text, "pilot_xds_push_time_count"); got != 7 {
		t.Fatalf("count = %v", got)
	}
	if got := sumMetric(text, "missing"); got != 0 {
		t.Fatalf("missing = %v", got)
	}
}
