package xds

import (
	"fmt"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/lateenmesh/lateen/internal/mesh"
)

// ParseNode reads who a proxy is from its xDS node: the id
// "<type>~<ip>~<workload>.<namespace>~<namespace>.svc.<suffix>" and Istio's
// metadata keys. Metadata wins over what the id implies.
func ParseNode(n *corev3.Node) (*mesh.Proxy, error) {
	if n == nil || n.Id == "" {
		return nil, fmt.Errorf("node id is required")
	}
	parts := strings.Split(n.Id, "~")
	if len(parts) != 4 {
		return nil, fmt.Errorf("node id %q: want <type>~<ip>~<workload>.<namespace>~<domain>", n.Id)
	}
	p := &mesh.Proxy{ID: n.Id, Type: mesh.NodeType(parts[0])}
	switch p.Type {
	case mesh.Sidecar, mesh.Router:
	default:
		return nil, fmt.Errorf("node id %q: unknown proxy type %q (want sidecar or router)", n.Id, parts[0])
	}
	if parts[1] != "" {
		p.IPs = []string{parts[1]}
	}
	p.WorkloadName, p.Namespace, _ = strings.Cut(parts[2], ".")
	md := n.GetMetadata().GetFields()
	str := func(key string) string { return md[key].GetStringValue() }
	if ns := str("NAMESPACE"); ns != "" {
		p.Namespace = ns
	}
	if w := str("WORKLOAD_NAME"); w != "" {
		p.WorkloadName = w
	}
	if ips := str("INSTANCE_IPS"); ips != "" {
		p.IPs = strings.Split(ips, ",")
	}
	p.Labels = stringMap(md["LABELS"].GetStructValue())
	p.ServiceAccount = str("SERVICE_ACCOUNT")
	p.InterceptionMode = str("INTERCEPTION_MODE")
	if p.InterceptionMode == "" {
		p.InterceptionMode = mesh.InterceptRedirect
	}
	p.ClusterID = str("CLUSTER_ID")
	p.Version = str("ISTIO_VERSION")
	if p.Namespace == "" {
		return nil, fmt.Errorf("node %q: no namespace in id or metadata", n.Id)
	}
	return p, nil
}

func stringMap(s *structpb.Struct) map[string]string {
	if s == nil {
		return nil
	}
	out := make(map[string]string, len(s.Fields))
	for k, v := range s.Fields {
		out[k] = v.GetStringValue()
	}
	return out
}
