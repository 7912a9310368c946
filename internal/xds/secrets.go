package xds

import (
	"context"

	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
)

type verifiedKey struct{}

// WithVerifiedIdentity marks a stream's context as coming from a proxy
// whose identity the control plane verified (the secure endpoint's
// interceptor does), as istiod's VerifiedIdentity: only such proxies get
// the content of credential secrets.
func WithVerifiedIdentity(ctx context.Context) context.Context {
	return context.WithValue(ctx, verifiedKey{}, true)
}

func verifiedContext(ctx context.Context) bool {
	v, _ := ctx.Value(verifiedKey{}).(bool)
	return v
}

// onOpen records whether a stream comes from a verified proxy.
func (s *Server) onOpen(ctx context.Context, stream int64, _ string) error {
	if verifiedContext(ctx) {
		s.mu.Lock()
		s.verified[stream] = true
		s.mu.Unlock()
	}
	return nil
}

// withoutContent keeps the secrets' names only: an unverified proxy (the
// plaintext development port) is never sent credentials; its handshakes
// that need them fail as with a missing credential.
func withoutContent(secrets []*tlsv3.Secret) []*tlsv3.Secret {
	out := make([]*tlsv3.Secret, len(secrets))
	for i, sec := range secrets {
		out[i] = &tlsv3.Secret{Name: sec.Name}
	}
	return out
}
