package xdsclient

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// TestTranslatorGoldenFilesDecode checks the contract from both sides: every
// resource the translator's golden files hold must decode here and form a
// complete, reference-closed configuration.
func TestTranslatorGoldenFilesDecode(t *testing.T) {
	files, _ := filepath.Glob("../../translate/testdata/*/*.golden.json")
	if len(files) == 0 {
		t.Skip("no translator golden files")
	}
	kinds := map[string]struct {
		typeURL string
		msg     func() proto.Message
	}{
		"clusters":  {resource.ClusterType, func() proto.Message { return &clusterv3.Cluster{} }},
		"endpoints": {resource.EndpointType, func() proto.Message { return &endpointv3.ClusterLoadAssignment{} }},
		"listeners": {resource.ListenerType, func() proto.Message { return &listenerv3.Listener{} }},
		"routes":    {resource.RouteType, func() proto.Message { return &routev3.RouteConfiguration{} }},
		"secrets":   {resource.SecretType, func() proto.Message { return &tlsv3.Secret{} }},
	}
	d := NewDecoders()
	for _, f := range files {
		t.Run(filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string][]json.RawMessage
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			s := newState()
			for kind, items := range doc {
				k, ok := kinds[kind]
				if !ok {
					t.Fatalf("unknown section %q", kind)
				}
				res := map[string]entry{}
				for i, item := range items {
					m := k.msg()
					if err := protojson.Unmarshal(item, m); err != nil {
						t.Fatalf("%s[%d]: %v", kind, i, err)
					}
					a, _ := anypb.New(m)
					name, v, err := d.decode(k.typeURL, a, i)
					if err != nil {
						t.Errorf("NACK: %v", err)
						continue
					}
					res[name] = entry{value: v, raw: a, version: "golden"}
				}
				s.types[k.typeURL].resources = res
				s.types[k.typeURL].received = true
			}
			if m := s.config().Missing(); m != "" {
				t.Errorf("configuration not reference-closed: missing %s", m)
			}
		})
	}
}
