package mesh

// NodeType is the role of a proxy.
type NodeType string

// Proxy roles, as Istio names them in node ids.
const (
	Sidecar NodeType = "sidecar"
	Router  NodeType = "router"
)

// Interception modes (node metadata INTERCEPTION_MODE).
const (
	InterceptRedirect = "REDIRECT"
	InterceptTProxy   = "TPROXY"
	InterceptNone     = "NONE"
)

// Proxy is a connected proxy as the control plane knows it: who it is, read
// from its xDS node at the edge. It is immutable.
type Proxy struct {
	ID               string
	Type             NodeType
	IPs              []string
	Namespace        string
	WorkloadName     string
	Labels           map[string]string
	ServiceAccount   string
	InterceptionMode string
	ClusterID        string
	Version          string
}

// IP returns the proxy's first address, or "".
func (p *Proxy) IP() string {
	if len(p.IPs) == 0 {
		return ""
	}
	return p.IPs[0]
}
