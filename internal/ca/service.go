package ca

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	securityv1alpha1 "istio.io/api/security/v1alpha1"

	"github.com/lateenmesh/lateen/internal/certpem"
	"github.com/lateenmesh/lateen/internal/spiffe"
)

// Authenticator establishes which identity the caller of an RPC holds
// (bootstrap token, client certificate, later Kubernetes tokens).
type Authenticator interface {
	Authenticate(ctx context.Context) (spiffe.Identity, error)
}

// ServiceOptions configure the certificate service.
type ServiceOptions struct {
	CA            *CA
	Authenticator Authenticator
	Logger        *slog.Logger
}

// Service is istio.v1.auth.IstioCertificateService: it signs a CSR for
// the identity its caller proved, and nothing else.
type Service struct {
	securityv1alpha1.UnimplementedIstioCertificateServiceServer
	ca   *CA
	auth Authenticator
	log  *slog.Logger
	m    *Metrics
}

var _ securityv1alpha1.IstioCertificateServiceServer = (*Service)(nil)

// NewService checks opts; it does no I/O.
func NewService(opts ServiceOptions) (*Service, error) {
	if opts.CA == nil || opts.Authenticator == nil {
		return nil, errors.New("ca: service needs a CA and an Authenticator")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{ca: opts.CA, auth: opts.Authenticator, log: opts.Logger.With("component", "ca"), m: opts.CA.opts.Metrics}, nil
}

// Register adds the service to a gRPC server.
func (s *Service) Register(gs *grpc.Server) {
	securityv1alpha1.RegisterIstioCertificateServiceServer(gs, s)
}

// CreateCertificate signs req's CSR. The response chain is Istio's: the
// leaf, the intermediates, and last the trust bundle (one PEM string that
// may hold several roots).
func (s *Service) CreateCertificate(ctx context.Context, req *securityv1alpha1.IstioCertificateRequest) (*securityv1alpha1.IstioCertificateResponse, error) {
	s.m.csr.Inc()
	id, err := s.auth.Authenticate(ctx)
	if err != nil {
		s.m.authnFailure.Inc()
		s.log.Warn("certificate request refused: unauthenticated", "error", err)
		return nil, status.Errorf(codes.Unauthenticated, "authenticate caller: %v", err)
	}
	csr, err := parseCSR(req.GetCsr())
	if err != nil {
		s.m.csrParseErr.Inc()
		return nil, status.Errorf(codes.InvalidArgument, "CSR: %v", err)
	}
	if err := authorize(csr, id, req); err != nil {
		s.m.authzFailure.Inc()
		s.log.Warn("certificate request refused", "identity", id.String(), "error", err)
		return nil, status.Errorf(codes.PermissionDenied, "%s: %v", id, err)
	}
	issued, err := s.ca.Sign(csr, id, time.Duration(req.GetValidityDuration())*time.Second)
	if err != nil {
		s.m.signErr.Inc()
		if errors.Is(err, ErrTTL) {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		s.log.Error("signing failed", "identity", id.String(), "error", err)
		return nil, status.Errorf(codes.Internal, "sign: %v", err)
	}
	s.m.issued.Inc()
	leaf := issued.Chain[0]
	s.log.Debug("issued certificate", "identity", id.String(), "serial", leaf.SerialNumber.Text(16), "expires", leaf.NotAfter)
	resp := &securityv1alpha1.IstioCertificateResponse{}
	for _, c := range issued.Chain {
		resp.CertChain = append(resp.CertChain, string(certpem.Encode(c)))
	}
	resp.CertChain = append(resp.CertChain, string(certpem.Encode(issued.Roots...)))
	return resp, nil
}

// parseCSR decodes and verifies a PEM CSR with an acceptable key: ECDSA
// P-256/P-384 or RSA of at least 2048 bits.
func parseCSR(data string) (*x509.CertificateRequest, error) {
	b, _ := pem.Decode([]byte(data))
	if b == nil || b.Type != "CERTIFICATE REQUEST" {
		return nil, errors.New("no PEM CERTIFICATE REQUEST block")
	}
	csr, err := x509.ParseCertificateRequest(b.Bytes)
	if err != nil {
		return nil, err
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	switch k := csr.PublicKey.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() && k.Curve != elliptic.P384() {
			return nil, fmt.Errorf("ECDSA curve %s not accepted (P-256 or P-384)", k.Curve.Params().Name)
		}
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("RSA key of %d bits is too small (2048 or more)", k.N.BitLen())
		}
	default:
		return nil, fmt.Errorf("key type %T not accepted (ECDSA or RSA)", csr.PublicKey)
	}
	return csr, nil
}

// authorize accepts a CSR whose SANs name the caller's identity only, and
// no impersonation.
func authorize(csr *x509.CertificateRequest, id spiffe.Identity, req *securityv1alpha1.IstioCertificateRequest) error {
	if len(csr.DNSNames)+len(csr.EmailAddresses)+len(csr.IPAddresses) > 0 {
		return errors.New("CSR asks for DNS, email or IP SANs; only the caller's SPIFFE identity is issued")
	}
	for _, u := range csr.URIs {
		if u.String() != id.String() {
			return fmt.Errorf("CSR asks for identity %s", u)
		}
	}
	if req.GetMetadata().GetFields()["ImpersonatedIdentity"] != nil {
		return errors.New("impersonation is not supported")
	}
	return nil
}
