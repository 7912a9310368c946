package metrics

import (
	"strconv"
	"strings"

	"github.com/lateenmesh/lateen/internal/proxy/cluster"
	"github.com/lateenmesh/lateen/internal/proxy/mtls"
	"github.com/lateenmesh/lateen/internal/proxy/telemetry/peer"
)

// Istio's standard tags.
var standardTags = []string{"reporter", "source_workload", "source_canonical_service",
	"source_canonical_revision", "source_workload_namespace", "source_principal", "source_app",
	"source_version", "source_cluster", "destination_workload", "destination_workload_namespace",
	"destination_principal", "destination_app", "destination_version", "destination_service",
	"destination_canonical_service", "destination_canonical_revision", "destination_service_name",
	"destination_service_namespace", "destination_cluster", "request_protocol", "response_code",
	"grpc_response_status", "response_flags", "connection_security_policy"}

func isStandardTag(tag string) bool {
	for _, t := range standardTags {
		if t == tag {
			return true
		}
	}
	return false
}

const unknown = "unknown"

// side is what telemetry knows about one request or connection, from
// which the standard labels are computed (Istio's stats filter rules).
type side struct {
	server bool           // reporter "destination" (inbound listener)
	node   *peer.Workload // this proxy's workload
	peer   *peer.Workload // the other side (nil: unknown)
	// peerSAN and localSAN are the URI SANs of the peer's and of our
	// certificate on the connection ("" when none).
	peerSAN, localSAN string
	// mtls is set on the server side: the connection was mutual TLS.
	mtls        bool
	serviceHost string // destination_service
	serviceName string // destination_service_name
}

// service fills serviceHost and serviceName as Istio does: the Host
// header (unless disabled), replaced by the routes and clusters that say
// where traffic went.
func (s *side) service(host, routeName, clusterName string, cl *cluster.Cluster, noHostFallback bool) {
	if !noHostFallback {
		s.serviceHost, s.serviceName = host, host
	}
	switch {
	case routeName == "block_all":
		s.serviceName = "BlackHoleCluster"
	case routeName == "allow_any":
		s.serviceName = "PassthroughCluster"
	case isSpecialCluster(clusterName):
		s.serviceName = clusterName
	case cl != nil && cl.Config.Service != nil && cl.Config.Service.Host != "":
		svc := cl.Config.Service
		s.serviceHost, s.serviceName = svc.Host, svc.Name
		if s.serviceName == "" {
			s.serviceName, _, _ = strings.Cut(svc.Host, ".")
		}
	}
}

func isSpecialCluster(name string) bool {
	switch name {
	case "BlackHoleCluster", "PassthroughCluster", "InboundPassthroughCluster",
		"InboundPassthroughClusterIpv4", "InboundPassthroughClusterIpv6":
		return true
	}
	return false
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// namespaceOf extracts the namespace of a SPIFFE identity
// (spiffe://<td>/ns/<ns>/sa/<sa>).
func namespaceOf(principal string) string {
	_, rest, ok := strings.Cut(principal, "/ns/")
	if !ok {
		return ""
	}
	ns, _, _ := strings.Cut(rest, "/")
	return ns
}

// peerLabels appends the source_* and destination_* labels.
func (s *side) peerLabels(out []Label) []Label {
	p := s.peer
	if p == nil {
		p = &peer.Workload{}
	}
	peerNS := or(namespaceOf(s.peerSAN), p.Namespace)
	n := s.node
	if s.server {
		svcHost, svcName := or(s.serviceHost, n.CanonicalService), or(s.serviceName, n.CanonicalService)
		return append(out,
			Label{"source_workload", or(p.Workload, unknown)}, Label{"source_canonical_service", or(p.CanonicalService, unknown)},
			Label{"source_canonical_revision", or(p.CanonicalRevision, "latest")}, Label{"source_workload_namespace", or(peerNS, unknown)},
			Label{"source_principal", or(s.peerSAN, unknown)}, Label{"source_app", or(p.App, unknown)},
			Label{"source_version", or(p.Version, unknown)}, Label{"source_cluster", or(p.Cluster, unknown)},
			Label{"destination_workload", n.Workload}, Label{"destination_workload_namespace", n.Namespace},
			Label{"destination_principal", or(s.localSAN, unknown)}, Label{"destination_app", n.App},
			Label{"destination_version", n.Version}, Label{"destination_service", svcHost},
			Label{"destination_canonical_service", n.CanonicalService}, Label{"destination_canonical_revision", n.CanonicalRevision},
			Label{"destination_service_name", svcName}, Label{"destination_service_namespace", n.Namespace},
			Label{"destination_cluster", n.Cluster})
	}
	return append(out,
		Label{"source_workload", n.Workload}, Label{"source_canonical_service", n.CanonicalService},
		Label{"source_canonical_revision", n.CanonicalRevision}, Label{"source_workload_namespace", n.Namespace},
		Label{"source_principal", or(s.localSAN, unknown)}, Label{"source_app", n.App},
		Label{"source_version", n.Version}, Label{"source_cluster", n.Cluster},
		Label{"destination_workload", or(p.Workload, unknown)}, Label{"destination_workload_namespace", or(peerNS, unknown)},
		Label{"destination_principal", or(s.peerSAN, unknown)}, Label{"destination_app", or(p.App, unknown)},
		Label{"destination_version", or(p.Version, unknown)}, Label{"destination_service", or(s.serviceHost, unknown)},
		Label{"destination_canonical_service", or(p.CanonicalService, unknown)},
		Label{"destination_canonical_revision", or(p.CanonicalRevision, "latest")},
		Label{"destination_service_name", or(s.serviceName, unknown)}, Label{"destination_service_namespace", or(peerNS, unknown)},
		Label{"destination_cluster", or(p.Cluster, unknown)})
}

// reporter is the reporter label's value.
func (s *side) reporter() string {
	if s.server {
		return "destination"
	}
	return "source"
}

// securityPolicy is connection_security_policy: known only on the server
// side, as in Istio ("unknown" at the client).
func (s *side) securityPolicy() string {
	switch {
	case !s.server:
		return unknown
	case s.mtls:
		return "mutual_tls"
	}
	return "none"
}

// httpLabels are the standard labels of one HTTP request.
func (s *side) httpLabels(grpc bool, code int, grpcStatus string, flags string) []Label {
	out := make([]Label, 0, len(standardTags))
	out = append(out, Label{"reporter", s.reporter()})
	out = s.peerLabels(out)
	proto := "http"
	if grpc {
		proto = "grpc"
	}
	return append(out, Label{"request_protocol", proto}, Label{"response_code", strconv.Itoa(code)},
		Label{"grpc_response_status", grpcStatus}, Label{"response_flags", flags},
		Label{"connection_security_policy", s.securityPolicy()})
}

// tcpLabels are the standard labels of one TCP connection.
func (s *side) tcpLabels(flags string) []Label {
	out := make([]Label, 0, len(standardTags))
	out = append(out, Label{"reporter", s.reporter()})
	out = s.peerLabels(out)
	return append(out, Label{"request_protocol", "tcp"}, Label{"response_flags", flags},
		Label{"connection_security_policy", s.securityPolicy()})
}

// tls reads the TLS peer (the downstream's on the server side, the
// upstream's on the client side): its principal, our certificate's URI
// SAN, and mutual TLS when both are known (Istio's rule).
func (s *side) tls(p *mtls.Peer) {
	if p == nil {
		return
	}
	s.peerSAN = p.Principal
	if s.peerSAN == "" && len(p.Certificates) > 0 && len(p.Certificates[0].URIs) > 0 {
		s.peerSAN = p.Certificates[0].URIs[0].String()
	}
	if len(p.Local) > 0 {
		s.localSAN = p.Local[0]
	}
	s.mtls = s.peerSAN != "" && s.localSAN != ""
}
