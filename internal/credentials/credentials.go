// Package credentials is the control plane's store of the TLS credentials
// that configuration names (DestinationRule credentialName): certificate,
// key and CA by namespace and name, as a Kubernetes TLS Secret holds them.
// In local mode they are read from a directory (Dir); the Kubernetes
// platform fills the same Set from Secrets. Pilot serves them to proxies
// of the same namespace as SDS secrets named kubernetes://<name> (certificate
// and key) and kubernetes://<name>-cacert (CA), as istiod does.
package credentials

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"slices"
)

// Credential is one named credential. Any part may be empty.
type Credential struct {
	Namespace string
	Name      string
	Cert      []byte // PEM chain, tls.crt (or cert)
	Key       []byte // PEM key, tls.key (or key)
	CA        []byte // PEM roots, ca.crt (or cacert)
}

// Set is an immutable set of credentials.
type Set struct {
	creds   map[key]*Credential
	version string
}

type key struct{ namespace, name string }

// NewSet indexes creds; a later credential with the same namespace and
// name replaces an earlier one.
func NewSet(creds []*Credential) *Set {
	s := &Set{creds: make(map[key]*Credential, len(creds))}
	for _, c := range creds {
		s.creds[key{c.Namespace, c.Name}] = c
	}
	s.version = s.hash()
	return s
}

// Get returns a credential, or nil (also on a nil Set).
func (s *Set) Get(namespace, name string) *Credential {
	if s == nil {
		return nil
	}
	return s.creds[key{namespace, name}]
}

// Len is the number of credentials.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.creds)
}

// Version is a hash of the content: equal sets have equal versions.
func (s *Set) Version() string {
	if s == nil {
		return ""
	}
	return s.version
}

// List returns the credentials ordered by namespace and name.
func (s *Set) List() []*Credential {
	if s == nil {
		return nil
	}
	out := make([]*Credential, 0, len(s.creds))
	for _, c := range s.creds {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *Credential) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return out
}

func (s *Set) hash() string {
	h := sha256.New()
	for _, c := range s.List() {
		for _, part := range [][]byte{[]byte(c.Namespace), []byte(c.Name), c.Cert, c.Key, c.CA} {
			h.Write(part)
			h.Write([]byte{0})
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
