// Package registry is the service registry: services, their ports and the
// endpoints behind them. In local mode it is built from ServiceEntry and
// WorkloadEntry objects; the Kubernetes platform feeds the same types.
package registry

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/lateenmesh/lateen/internal/config"
)

// Protocol is an Istio port protocol (HTTP, HTTP2, GRPC, TCP, TLS, ...).
type Protocol string

// Protocols Lateen distinguishes.
const (
	HTTP    Protocol = "HTTP"
	HTTP2   Protocol = "HTTP2"
	GRPC    Protocol = "GRPC"
	GRPCWeb Protocol = "GRPC-WEB"
	HTTPS   Protocol = "HTTPS"
	TLS     Protocol = "TLS"
	TCP     Protocol = "TCP"
	Mongo   Protocol = "MONGO"
	MySQL   Protocol = "MYSQL"
	Redis   Protocol = "REDIS"
	UDP     Protocol = "UDP"
)

// IsHTTP reports whether traffic on the port is handled at L7.
func (p Protocol) IsHTTP() bool {
	switch p {
	case HTTP, HTTP2, GRPC, GRPCWeb:
		return true
	}
	return false
}

// IsHTTP2 reports whether the port always speaks HTTP/2.
func (p Protocol) IsHTTP2() bool { return p == HTTP2 || p == GRPC }

// ParseProtocol returns the protocol of a port from its declared protocol
// or, failing that, the prefix of its name ("http-web" → HTTP), as Istio
// selects protocols. Unknown protocols are treated as TCP.
func ParseProtocol(declared, portName string) Protocol {
	if p, ok := lookupProtocol(declared); ok {
		return p
	}
	name, _, _ := strings.Cut(portName, "-")
	if p, ok := lookupProtocol(name); ok {
		return p
	}
	return TCP
}

func lookupProtocol(s string) (Protocol, bool) {
	p := Protocol(strings.ToUpper(s))
	switch p {
	case HTTP, HTTP2, GRPC, GRPCWeb, HTTPS, TLS, TCP, Mongo, MySQL, Redis, UDP:
		return p, true
	}
	return "", false
}

// Port is one port of a service.
type Port struct {
	Name       string
	Number     uint32
	Protocol   Protocol
	TargetPort uint32
}

// Resolution says how a service's endpoints are found.
type Resolution int

// Resolutions (ServiceEntry.resolution).
const (
	ResolutionStatic Resolution = iota
	ResolutionNone
	ResolutionDNS
	ResolutionDNSRoundRobin
)

// Service is one hostname with its ports, from one ServiceEntry (or, on
// Kubernetes, one Service).
type Service struct {
	Hostname        string
	Namespace       string
	Ports           []Port
	Addresses       []string
	Resolution      Resolution
	MeshExternal    bool
	ExportTo        []string // empty: the mesh default
	SubjectAltNames []string
	Source          config.Key
	Created         time.Time
}

// Port returns the service port with number n.
func (s *Service) Port(n uint32) (Port, bool) {
	for _, p := range s.Ports {
		if p.Number == n {
			return p, true
		}
	}
	return Port{}, false
}

// Workload is one instance that can run a service: a WorkloadEntry, a
// ServiceEntry inline endpoint, or (on Kubernetes) a Pod.
type Workload struct {
	Name           string
	Namespace      string
	Address        string
	Labels         map[string]string
	ServiceAccount string
	Ports          map[string]uint32 // by service port name
	Locality       string
	Weight         uint32
	Network        string
	// Sidecar is true when the workload runs a Lateen/Istio proxy (label
	// security.istio.io/tlsMode=istio), so peers may use mutual TLS.
	Sidecar bool
	Source  config.Key
}

// TLSModeLabel marks workloads that run a sidecar.
const TLSModeLabel = "security.istio.io/tlsMode"

// Endpoint is one workload serving one port of one service.
type Endpoint struct {
	Workload *Workload
	Port     uint32 // the port to connect to on Workload.Address
}

// Registry is an immutable view of services and endpoints.
type Registry struct {
	services  []*Service              // sorted by hostname, then age
	byHost    map[string][]*Service   // oldest first
	endpoints map[*Service][]Endpoint // per service, by service port via EndpointsFor
	workloads []*Workload
}

// Services lists every service sorted by hostname, then age.
func (r *Registry) Services() []*Service { return r.services }

// ServicesFor returns the services for hostname, oldest first.
func (r *Registry) ServicesFor(hostname string) []*Service { return r.byHost[hostname] }

// Workloads lists every workload.
func (r *Registry) Workloads() []*Workload { return r.workloads }

// Endpoints returns the endpoints of svc for its port number.
func (r *Registry) Endpoints(svc *Service, port uint32) []Endpoint {
	p, ok := svc.Port(port)
	if !ok {
		return nil
	}
	var out []Endpoint
	for _, ep := range r.endpoints[svc] {
		if n, ok := ep.Workload.Ports[p.Name]; ok && n != 0 {
			out = append(out, Endpoint{Workload: ep.Workload, Port: n})
			continue
		}
		out = append(out, Endpoint{Workload: ep.Workload, Port: cmp.Or(p.TargetPort, p.Number)})
	}
	return out
}

// InstancesOf returns the services (and their ports) that workload w
// serves: the services whose endpoints include it.
func (r *Registry) InstancesOf(w *Workload) []*Service {
	var out []*Service
	for _, s := range r.services {
		for _, ep := range r.endpoints[s] {
			if ep.Workload == w {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

func newRegistry(services []*Service, eps map[*Service][]Endpoint, workloads []*Workload) *Registry {
	slices.SortStableFunc(services, func(a, b *Service) int {
		return cmp.Or(cmp.Compare(a.Hostname, b.Hostname), a.Created.Compare(b.Created),
			cmp.Compare(a.Namespace, b.Namespace))
	})
	r := &Registry{services: services, byHost: map[string][]*Service{}, endpoints: eps, workloads: workloads}
	for _, s := range services {
		r.byHost[s.Hostname] = append(r.byHost[s.Hostname], s)
	}
	return r
}
