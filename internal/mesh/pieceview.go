package mesh

import (
	"fmt"

	meshv1alpha1 "istio.io/api/mesh/v1alpha1"

	"github.com/lateenmesh/lateen/internal/registry"
)

// PieceInput is what a piece view knows beyond its proxy, mesh and
// workload: the explicit input of one piece of a translation (a cluster
// with its endpoints, a virtual host). A piece view answers from it alone;
// asking it for anything else — a host, rule, endpoint list or namespace
// it does not list, or any policy, credential or telemetry setting —
// panics, so a piece can never depend on something its input (and thus
// its cache key) leaves out.
type PieceInput struct {
	// Services maps each host the piece may look up to its visible
	// service (nil: known not to be visible).
	Services map[string]*registry.Service
	// Rules maps each host the piece may look up to its DestinationRule
	// for the proxy (nil: none).
	Rules map[string]*DestinationRule
	// Endpoints are the endpoints of the listed service ports.
	Endpoints map[EndpointsKey][]registry.Endpoint
	// NamespaceMTLS is NamespaceMTLSMode of the listed namespaces.
	NamespaceMTLS map[string]MTLSMode
}

// EndpointsKey names the endpoints of one service port.
type EndpointsKey struct {
	Service *registry.Service
	Port    uint32
}

// NewPieceView returns a view of proxy p that answers from in: Service,
// DestinationRule, Endpoints and NamespaceMTLSMode only.
func NewPieceView(p *Proxy, mc *meshv1alpha1.MeshConfig, domainSuffix string, w *registry.Workload, in *PieceInput) *ProxyView {
	return &ProxyView{Proxy: p, Mesh: mc, DomainSuffix: domainSuffix, Workload: w, fixed: in}
}

func (in *PieceInput) service(host string) *registry.Service {
	svc, ok := in.Services[host]
	if !ok {
		panic(fmt.Sprintf("mesh: piece view: service %q is not part of the piece's input", host))
	}
	return svc
}

func (in *PieceInput) rule(host string) *DestinationRule {
	dr, ok := in.Rules[host]
	if !ok {
		panic(fmt.Sprintf("mesh: piece view: the DestinationRule of %q is not part of the piece's input", host))
	}
	return dr
}

func (in *PieceInput) endpoints(svc *registry.Service, port uint32) []registry.Endpoint {
	eps, ok := in.Endpoints[EndpointsKey{svc, port}]
	if !ok {
		panic(fmt.Sprintf("mesh: piece view: endpoints of %s:%d are not part of the piece's input", svc.Hostname, port))
	}
	return eps
}

func (in *PieceInput) namespaceMTLS(ns string) MTLSMode {
	m, ok := in.NamespaceMTLS[ns]
	if !ok {
		panic(fmt.Sprintf("mesh: piece view: the mTLS mode of namespace %q is not part of the piece's input", ns))
	}
	return m
}
