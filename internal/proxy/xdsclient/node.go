package xdsclient

import (
	"fmt"
	"sort"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/protobuf/types/known/structpb"
)

// NodeInfo describes the workload a proxy runs for.
type NodeInfo struct {
	Type             string // "sidecar" or "router"
	IP               string
	InstanceIPs      []string // defaults to IP
	WorkloadName     string
	Namespace        string
	DomainSuffix     string // default "cluster.local"
	ServiceAccount   string
	Labels           map[string]string
	InterceptionMode string // REDIRECT, TPROXY, NONE
	ClusterID        string // default "Kubernetes"
	MeshID           string // default "cluster.local"
	IstioVersion     string
}

// Node returns the xDS node: id <type>~<ip>~<workload>.<ns>~<ns>.svc.<suffix>
// and Istio's metadata keys.
func Node(n NodeInfo) *corev3.Node {
	suffix := def(n.DomainSuffix, "cluster.local")
	id := fmt.Sprintf("%s~%s~%s.%s~%s.svc.%s", n.Type, n.IP, n.WorkloadName, n.Namespace, n.Namespace, suffix)
	ips := n.InstanceIPs
	if len(ips) == 0 && n.IP != "" {
		ips = []string{n.IP}
	}
	labels := map[string]any{}
	keys := make([]string, 0, len(n.Labels))
	for k := range n.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		labels[k] = n.Labels[k]
	}
	md, err := structpb.NewStruct(map[string]any{
		"NAMESPACE":         n.Namespace,
		"WORKLOAD_NAME":     n.WorkloadName,
		"LABELS":            labels,
		"SERVICE_ACCOUNT":   n.ServiceAccount,
		"INSTANCE_IPS":      strings.Join(ips, ","),
		"INTERCEPTION_MODE": def(n.InterceptionMode, "NONE"),
		"CLUSTER_ID":        def(n.ClusterID, "Kubernetes"),
		"ISTIO_VERSION":     def(n.IstioVersion, "1.31.0"),
		"MESH_ID":           def(n.MeshID, "cluster.local"),
	})
	if err != nil {
		panic(err) // only strings and string maps: cannot fail
	}
	return &corev3.Node{Id: id, Cluster: n.WorkloadName + "." + n.Namespace, Metadata: md}
}

func def(v, d string) string {
	if v == "" {
		return d
	}
	return v
}
