package admin

import (
	"crypto/x509"
	"net/http"
	"time"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// CertSource is the proxy's certificate agent as /certs sees it.
type CertSource interface {
	// Certificates returns the workload chain (leaf first) and the trust
	// bundle; both nil before the first certificate.
	Certificates() (chain, roots []*x509.Certificate)
}

// certs writes envoy.admin.v3.Certificates as Envoy does (proto field
// names): the workload certificate's chain and the trust bundle.
func (s *Server) certs(w http.ResponseWriter, _ *http.Request) {
	out := &adminv3.Certificates{}
	if s.opts.Certs != nil {
		if chain, roots := s.opts.Certs.Certificates(); len(chain) > 0 {
			out.Certificates = append(out.Certificates, certificate(chain, roots, time.Now()))
		}
	}
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  ", UseProtoNames: true, EmitDefaultValues: true}.Marshal(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

func certificate(chain, roots []*x509.Certificate, now time.Time) *adminv3.Certificate {
	c := &adminv3.Certificate{}
	for _, r := range roots {
		c.CaCert = append(c.CaCert, details(r, r.NotAfter, now))
	}
	// Days until expiration of a chain element count the rest of the chain
	// too, as Envoy's.
	expiry := chain[0].NotAfter
	for _, x := range chain {
		if x.NotAfter.Before(expiry) {
			expiry = x.NotAfter
		}
	}
	for _, x := range chain {
		c.CertChain = append(c.CertChain, details(x, expiry, now))
	}
	return c
}

func details(c *x509.Certificate, expiry, now time.Time) *adminv3.CertificateDetails {
	d := &adminv3.CertificateDetails{
		Path:                "<inline>",
		SerialNumber:        c.SerialNumber.Text(16),
		DaysUntilExpiration: uint64(max(0, expiry.Sub(now)/(24*time.Hour))),
		ValidFrom:           timestamppb.New(c.NotBefore),
		ExpirationTime:      timestamppb.New(c.NotAfter),
	}
	for _, u := range c.URIs {
		d.SubjectAltNames = append(d.SubjectAltNames, &adminv3.SubjectAlternateName{Name: &adminv3.SubjectAlternateName_Uri{Uri: u.String()}})
	}
	for _, n := range c.DNSNames {
		d.SubjectAltNames = append(d.SubjectAltNames, &adminv3.SubjectAlternateName{Name: &adminv3.SubjectAlternateName_Dns{Dns: n}})
	}
	for _, ip := range c.IPAddresses {
		d.SubjectAltNames = append(d.SubjectAltNames, &adminv3.SubjectAlternateName{Name: &adminv3.SubjectAlternateName_IpAddress{IpAddress: ip.String()}})
	}
	return d
}
