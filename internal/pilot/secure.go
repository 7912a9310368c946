package pilot

import (
	"context"
	"fmt"
	"net"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/lateenmesh/lateen/internal/ca"
	"github.com/lateenmesh/lateen/internal/ca/authn"
	"github.com/lateenmesh/lateen/internal/spiffe"
	"github.com/lateenmesh/lateen/internal/xds"
)

// newCA builds the CA from the options; the trust domain falls back to the
// mesh file's.
func (p *Pilot) newCA() (*ca.CA, error) {
	td := p.opts.TrustDomain
	if td == "" && p.mesh != nil {
		td = p.mesh.GetTrustDomain()
	}
	c, err := ca.New(ca.Options{
		TrustDomain: td, Dir: p.opts.CADir, CACertsDir: p.opts.CACertsDir,
		WorkloadCertTTL: p.opts.WorkloadCertTTL, MaxWorkloadCertTTL: p.opts.MaxWorkloadCertTTL,
		Metrics: ca.NewMetrics(p.registry), Logger: p.opts.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("pilot: %w", err)
	}
	return c, nil
}

// authenticator tries the bootstrap token, then the client certificate,
// then any extra authenticators.
func (p *Pilot) authenticator() authn.Chain {
	var chain authn.Chain
	if p.opts.WorkloadTokensFile != "" {
		chain = append(chain, authn.NewTokens(p.opts.WorkloadTokensFile, p.ca.TrustDomain()))
	}
	chain = append(chain, &authn.ClientCert{Roots: p.ca.TrustPool, TrustDomain: p.ca.TrustDomain()})
	for _, a := range p.opts.Authenticators {
		chain = append(chain, a)
	}
	return chain
}

// secureEndpoints returns the TLS endpoint (ADS + CA) on lis, or none.
func (p *Pilot) secureEndpoints(lis net.Listener) ([]xds.Endpoint, error) {
	if lis == nil {
		return nil, nil
	}
	auth := p.authenticator()
	svc, err := ca.NewService(ca.ServiceOptions{CA: p.ca, Authenticator: auth, Logger: p.opts.Logger})
	if err != nil {
		return nil, fmt.Errorf("pilot: %w", err)
	}
	dns, ips := p.servingNames(lis.Addr())
	serving := ca.NewServing(ca.ServingOptions{CA: p.ca, DNSNames: dns, IPs: ips})
	return []xds.Endpoint{{
		Name:     "secure",
		Listener: lis,
		ServerOptions: []grpc.ServerOption{
			grpc.Creds(credentials.NewTLS(serving.TLSConfig())),
			grpc.ChainStreamInterceptor(p.authorizeADS(auth)),
		},
		Register: svc.Register,
	}}, nil
}

// servingNames are the SANs of pilot's serving certificate, as istiod's:
// its service names, the listen IP (loopback ones when it listens on all
// addresses) and TLSNames.
func (p *Pilot) servingNames(addr net.Addr) ([]string, []net.IP) {
	dns := []string{"istiod." + p.opts.SystemNamespace + ".svc", "istiod", "lateen-pilot"}
	var ips []net.IP
	if ta, ok := addr.(*net.TCPAddr); ok && !ta.IP.IsUnspecified() {
		ips = append(ips, ta.IP)
	} else {
		ips = append(ips, net.IPv4(127, 0, 0, 1), net.IPv6loopback)
		dns = append(dns, "localhost")
	}
	for _, n := range p.opts.TLSNames {
		if ip := net.ParseIP(n); ip != nil {
			ips = append(ips, ip)
		} else if n != "" {
			dns = append(dns, n)
		}
	}
	return dns, ips
}

// nodeRequest is the first message of an ADS stream (SotW or delta).
type nodeRequest interface {
	proto.Message
	GetNode() *corev3.Node
}

// authorizeADS admits an ADS stream on the secure port only when its
// caller holds an identity (certificate or token) of the proxy's own
// namespace and service account, as istiod does.
func (p *Pilot) authorizeADS(auth ca.Authenticator) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		var first nodeRequest
		switch info.FullMethod {
		case "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources":
			first = &discoveryv3.DiscoveryRequest{}
		case "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources":
			first = &discoveryv3.DeltaDiscoveryRequest{}
		default:
			return handler(srv, ss)
		}
		id, err := auth.Authenticate(ss.Context())
		if err != nil {
			p.opts.Logger.Warn("refusing xDS stream: unauthenticated", "component", "pilot", "error", err)
			return status.Errorf(codes.Unauthenticated, "authenticate proxy: %v", err)
		}
		if err := ss.RecvMsg(first); err != nil {
			return err
		}
		if err := nodeMatches(first.GetNode(), id); err != nil {
			p.opts.Logger.Warn("refusing xDS stream", "component", "pilot", "identity", id.String(), "error", err)
			return status.Error(codes.PermissionDenied, err.Error())
		}
		return handler(srv, &peekedStream{ServerStream: ss, first: first})
	}
}

// nodeMatches checks that the proxy claims the namespace and (when it
// names one) the service account of the identity it proved.
func nodeMatches(node *corev3.Node, id spiffe.Identity) error {
	proxy, err := xds.ParseNode(node)
	if err != nil {
		return err
	}
	if proxy.Namespace != id.Namespace {
		return fmt.Errorf("proxy %s claims namespace %q but authenticated as %s", proxy.ID, proxy.Namespace, id)
	}
	if proxy.ServiceAccount != "" && proxy.ServiceAccount != id.ServiceAccount {
		return fmt.Errorf("proxy %s claims service account %q but authenticated as %s", proxy.ID, proxy.ServiceAccount, id)
	}
	return nil
}

// peekedStream hands back the message the interceptor already read.
type peekedStream struct {
	grpc.ServerStream
	first proto.Message
}

// Context marks the stream as coming from a verified proxy, which may
// receive credential secrets.
func (s *peekedStream) Context() context.Context {
	return xds.WithVerifiedIdentity(s.ServerStream.Context())
}

func (s *peekedStream) RecvMsg(m any) error {
	if s.first == nil {
		return s.ServerStream.RecvMsg(m)
	}
	dst, ok := m.(proto.Message)
	if !ok {
		return fmt.Errorf("unexpected message type %T", m)
	}
	proto.Reset(dst)
	proto.Merge(dst, s.first)
	s.first = nil
	return nil
}
