package mtls

import (
	"crypto/sha256"
	"crypto/x509"
	"sync"
	"time"
)

// maxVerifiedChains bounds the cache of verified chains.
const maxVerifiedChains = 4096

// chainCache remembers chains verified against a root pool, until the
// first certificate of the chain expires: peers present the same chain on
// every new connection (and resumed sessions carry it again), and x509
// verification costs more than the rest of a resumed handshake. A new
// pool (rotated roots, another configuration's CA) misses the cache.
type chainCache struct {
	mu      sync.Mutex
	entries map[chainKey]time.Time // → expiry
}

type chainKey struct {
	roots *x509.CertPool
	chain [sha256.Size]byte
}

func (c *chainCache) verify(chain []*x509.Certificate, roots *x509.CertPool, now time.Time) error {
	h := sha256.New()
	expiry := chain[0].NotAfter
	for _, cert := range chain {
		h.Write(cert.Raw)
		if cert.NotAfter.Before(expiry) {
			expiry = cert.NotAfter
		}
	}
	key := chainKey{roots: roots}
	h.Sum(key.chain[:0])
	c.mu.Lock()
	exp, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Before(exp) && !now.Before(chain[0].NotBefore) {
		return nil
	}
	if err := verifyChain(chain, roots, now); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= maxVerifiedChains {
		c.entries = map[chainKey]time.Time{}
	}
	c.entries[key] = expiry
	return nil
}
