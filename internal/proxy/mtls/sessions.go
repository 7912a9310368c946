package mtls

import (
	"container/list"
	"crypto/tls"
	"sync"
	"sync/atomic"
	"time"
)

// sessionMaxAge bounds how long a client keeps a session to resume.
const sessionMaxAge = time.Hour

// Sessions is a client's TLS session cache (TLS 1.3 tickets), bounded,
// keyed by upstream address and server name. A session is only offered
// while both certificates of its first handshake are still valid: a
// resumed connection is verified again against the current trust bundle
// (and would fail on an expired peer certificate), so an old session gives
// way to a full handshake instead.
type Sessions struct {
	mu      sync.Mutex
	max     int
	entries map[string]*list.Element
	order   *list.List // front: most recent
	now     func() time.Time
}

type sessionEntry struct {
	key     string
	state   *tls.ClientSessionState
	expires time.Time
}

// NewSessions returns a cache of at most max sessions (allocated when the
// first session arrives: most clusters of a large mesh never connect).
func NewSessions(max int) *Sessions {
	return &Sessions{max: max, now: time.Now}
}

func (s *Sessions) get(key string) *tls.ClientSessionState {
	s.mu.Lock()
	defer s.mu.Unlock()
	el := s.entries[key]
	if el == nil {
		return nil
	}
	e := el.Value.(*sessionEntry)
	if !s.now().Before(e.expires) {
		s.order.Remove(el)
		delete(s.entries, key)
		return nil
	}
	s.order.MoveToFront(el)
	return e.state
}

func (s *Sessions) put(key string, st *tls.ClientSessionState, expires time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if el := s.entries[key]; el != nil {
		s.order.Remove(el)
		delete(s.entries, key)
	}
	if st == nil || !s.now().Before(expires) {
		return
	}
	if s.entries == nil {
		s.entries, s.order = map[string]*list.Element{}, list.New()
	}
	s.entries[key] = s.order.PushFront(&sessionEntry{key: key, state: st, expires: expires})
	for s.order.Len() > s.max {
		old := s.order.Back()
		s.order.Remove(old)
		delete(s.entries, old.Value.(*sessionEntry).key)
	}
}

// connSessions is one connection's view of the cache: it learns the
// certificates' lifetimes during the handshake, so that the sessions the
// server sends afterwards expire with them.
type connSessions struct {
	cache   *Sessions
	key     string
	peerEnd atomic.Int64 // unix nanoseconds; 0: unknown
	ownEnd  atomic.Int64
	// own is the URI SAN of the certificate presented (set during the
	// handshake, read after it, by the handshaking goroutine).
	own string
}

var _ tls.ClientSessionCache = (*connSessions)(nil)

func (c *connSessions) Get(string) (*tls.ClientSessionState, bool) {
	st := c.cache.get(c.key)
	return st, st != nil
}

func (c *connSessions) Put(_ string, st *tls.ClientSessionState) {
	expires := c.cache.now().Add(sessionMaxAge)
	for _, end := range []int64{c.peerEnd.Load(), c.ownEnd.Load()} {
		if end != 0 && time.Unix(0, end).Before(expires) {
			expires = time.Unix(0, end)
		}
	}
	c.cache.put(c.key, st, expires.Add(-time.Second))
}
