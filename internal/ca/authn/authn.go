// Package authn holds the ways a caller of the control plane proves its
// workload identity: a bootstrap token provisioned per workload, or the
// workload certificate it already holds. Kubernetes ServiceAccount tokens
// (TokenReview) will be one more Authenticator in the Chain.
package authn

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/lateenmesh/lateen/internal/spiffe"
)

// ErrNoCredentials means the caller presented no credential of the kind
// an authenticator checks; the Chain then tries the next one.
var ErrNoCredentials = errors.New("no credentials")

// Authenticator is what the Chain tries, as ca.Authenticator.
type Authenticator interface {
	Authenticate(ctx context.Context) (spiffe.Identity, error)
}

// Chain tries authenticators in order and returns the first identity one
// establishes. A presented but invalid credential is reported; a missing
// one is not.
type Chain []Authenticator

var _ Authenticator = Chain(nil)

// Authenticate implements Authenticator.
func (c Chain) Authenticate(ctx context.Context) (spiffe.Identity, error) {
	var errs []string
	for _, a := range c {
		id, err := a.Authenticate(ctx)
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, ErrNoCredentials) {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) == 0 {
		return spiffe.Identity{}, errors.New("no credentials: present a bootstrap token or a workload certificate")
	}
	return spiffe.Identity{}, fmt.Errorf("%s", strings.Join(errs, "; "))
}
