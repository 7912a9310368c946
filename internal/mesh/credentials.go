package mesh

import "github.com/lateenmesh/lateen/internal/credentials"

// Credential returns a TLS credential of the proxy's namespace (the only
// ones a proxy may use, as istiod's SDS allows), or nil.
func (v *ProxyView) Credential(name string) *credentials.Credential {
	v.record(Dep{Kind: DepCredential, NS: v.Proxy.Namespace, Name: name})
	return v.snapshot().Credentials.Get(v.Proxy.Namespace, name)
}
