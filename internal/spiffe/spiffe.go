// Package spiffe parses and formats workload identities as Istio names
// them: SPIFFE IDs spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>.
package spiffe

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Scheme is the URI scheme of SPIFFE IDs.
const Scheme = "spiffe"

// DefaultTrustDomain is Istio's default trust domain.
const DefaultTrustDomain = "cluster.local"

// Identity is a workload identity: a service account in a namespace of a
// trust domain.
type Identity struct {
	TrustDomain    string
	Namespace      string
	ServiceAccount string
}

// New returns the identity of namespace/serviceAccount in trustDomain
// (DefaultTrustDomain when empty), validated.
func New(trustDomain, namespace, serviceAccount string) (Identity, error) {
	if trustDomain == "" {
		trustDomain = DefaultTrustDomain
	}
	id := Identity{TrustDomain: trustDomain, Namespace: namespace, ServiceAccount: serviceAccount}
	return id, id.Validate()
}

// String formats the identity as a SPIFFE ID.
func (id Identity) String() string {
	return Scheme + "://" + id.TrustDomain + "/ns/" + id.Namespace + "/sa/" + id.ServiceAccount
}

// URL returns the identity as a URL, for a certificate's URI SAN.
func (id Identity) URL() *url.URL {
	return &url.URL{Scheme: Scheme, Host: id.TrustDomain, Path: "/ns/" + id.Namespace + "/sa/" + id.ServiceAccount}
}

// NamespacedName returns "namespace/serviceAccount".
func (id Identity) NamespacedName() string { return id.Namespace + "/" + id.ServiceAccount }

// IsZero reports whether id is the zero Identity.
func (id Identity) IsZero() bool { return id == Identity{} }

// Validate checks every part against the SPIFFE ID rules.
func (id Identity) Validate() error {
	if err := ValidateTrustDomain(id.TrustDomain); err != nil {
		return err
	}
	if err := validateSegment("namespace", id.Namespace); err != nil {
		return err
	}
	return validateSegment("service account", id.ServiceAccount)
}

// Parse reads a SPIFFE ID of the form spiffe://<td>/ns/<ns>/sa/<sa>.
func Parse(s string) (Identity, error) {
	rest, ok := strings.CutPrefix(s, Scheme+"://")
	if !ok {
		return Identity{}, fmt.Errorf("spiffe: %q: want scheme %s://", s, Scheme)
	}
	td, path, ok := strings.Cut(rest, "/")
	if !ok {
		return Identity{}, fmt.Errorf("spiffe: %q: no path: want /ns/<namespace>/sa/<service-account>", s)
	}
	parts := strings.Split(path, "/")
	if len(parts) != 4 || parts[0] != "ns" || parts[2] != "sa" {
		return Identity{}, fmt.Errorf("spiffe: %q: path must be /ns/<namespace>/sa/<service-account>", s)
	}
	id := Identity{TrustDomain: td, Namespace: parts[1], ServiceAccount: parts[3]}
	if err := id.Validate(); err != nil {
		return Identity{}, fmt.Errorf("spiffe: %q: %w", s, err)
	}
	return id, nil
}

// ParseNamespacedName reads "namespace/serviceAccount" in trustDomain.
func ParseNamespacedName(trustDomain, s string) (Identity, error) {
	ns, sa, ok := strings.Cut(s, "/")
	if !ok {
		return Identity{}, fmt.Errorf("spiffe: %q: want namespace/serviceAccount", s)
	}
	return New(trustDomain, ns, sa)
}

// ValidateTrustDomain checks a trust domain name: lowercase letters,
// digits, '.', '-' and '_', at most 255 characters.
func ValidateTrustDomain(td string) error {
	if td == "" {
		return errors.New("trust domain is empty")
	}
	if len(td) > 255 {
		return errors.New("trust domain is longer than 255 characters")
	}
	for _, r := range td {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return fmt.Errorf("trust domain %q: character %q not allowed (lowercase letters, digits, '.', '-', '_')", td, r)
		}
	}
	return nil
}

func validateSegment(what, s string) error {
	if s == "" {
		return fmt.Errorf("%s is empty", what)
	}
	if s == "." || s == ".." {
		return fmt.Errorf("%s %q not allowed", what, s)
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return fmt.Errorf("%s %q: character %q not allowed (letters, digits, '.', '-', '_')", what, s, r)
		}
	}
	return nil
}

// FromCertificate returns the identity named by cert's single SPIFFE URI
// SAN. A certificate with none, several, or a malformed one is an error.
func FromCertificate(cert *x509.Certificate) (Identity, error) {
	var found []Identity
	for _, u := range cert.URIs {
		if u.Scheme != Scheme {
			continue
		}
		id, err := Parse(u.String())
		if err != nil {
			return Identity{}, err
		}
		found = append(found, id)
	}
	switch len(found) {
	case 0:
		return Identity{}, errors.New("spiffe: certificate has no SPIFFE URI SAN")
	case 1:
		return found[0], nil
	}
	return Identity{}, fmt.Errorf("spiffe: certificate has %d SPIFFE URI SANs, want one", len(found))
}
