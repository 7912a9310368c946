package xds

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// TypeStatus is what one proxy has been sent and has accepted for one
// resource type.
type TypeStatus struct {
	TypeURL      string    `json:"typeUrl"`
	SentVersion  string    `json:"sentVersion,omitempty"`
	SentNonce    string    `json:"sentNonce,omitempty"`
	SentAt       time.Time `json:"sentAt,omitempty"`
	AckedVersion string    `json:"ackedVersion,omitempty"`
	AckedAt      time.Time `json:"ackedAt,omitempty"`
	// LastNack is the most recent rejection, kept until a later ACK.
	LastNack *Nack `json:"lastNack,omitempty"`
	Pushes   int64 `json:"pushes"`
	Rejects  int64 `json:"rejects"`
}

// Nack is one rejected response.
type Nack struct {
	Version string    `json:"version"`
	Error   string    `json:"error"`
	At      time.Time `json:"at"`
}

// ProxyStatus is the sync state of one connected proxy.
type ProxyStatus struct {
	ID          string       `json:"id"`
	Namespace   string       `json:"namespace"`
	Workload    string       `json:"workload"`
	ConnectedAt time.Time    `json:"connectedAt"`
	Types       []TypeStatus `json:"types"`
}

// Synced reports whether every type sent has been acknowledged at its
// latest version.
func (p ProxyStatus) Synced() bool {
	for _, t := range p.Types {
		if t.SentVersion != "" && t.SentVersion != t.AckedVersion {
			return false
		}
	}
	return len(p.Types) > 0
}

// statusBook records per proxy and type what was sent, acked and nacked.
type statusBook struct {
	mu      sync.Mutex
	proxies map[string]*ProxyStatus
	// sent remembers the version behind the last few nonces of each type so
	// a NACK can name the version it rejected.
	sent map[string]map[string][]sentResponse // node → type → newest last
}

type sentResponse struct{ nonce, version string }

const keepNonces = 4

func newStatusBook() *statusBook {
	return &statusBook{proxies: map[string]*ProxyStatus{}, sent: map[string]map[string][]sentResponse{}}
}

func (b *statusBook) connect(id, ns, workload string, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.proxies[id]; !ok {
		b.proxies[id] = &ProxyStatus{ID: id, Namespace: ns, Workload: workload, ConnectedAt: now}
		b.sent[id] = map[string][]sentResponse{}
	}
}

func (b *statusBook) disconnect(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.proxies, id)
	delete(b.sent, id)
}

func (b *statusBook) typeStatus(id, typeURL string) *TypeStatus {
	p := b.proxies[id]
	if p == nil {
		return nil
	}
	for i := range p.Types {
		if p.Types[i].TypeURL == typeURL {
			return &p.Types[i]
		}
	}
	p.Types = append(p.Types, TypeStatus{TypeURL: typeURL})
	slices.SortFunc(p.Types, func(a, b TypeStatus) int { return cmp.Compare(typeOrder(a.TypeURL), typeOrder(b.TypeURL)) })
	for i := range p.Types {
		if p.Types[i].TypeURL == typeURL {
			return &p.Types[i]
		}
	}
	return nil
}

func (b *statusBook) sentResponse(id, typeURL, version, nonce string, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.typeStatus(id, typeURL)
	if t == nil {
		return
	}
	t.SentVersion, t.SentNonce, t.SentAt = version, nonce, now
	t.Pushes++
	list := append(b.sent[id][typeURL], sentResponse{nonce, version})
	if len(list) > keepNonces {
		list = list[len(list)-keepNonces:]
	}
	b.sent[id][typeURL] = list
}

// ack records an ACK (nackErr == "") or NACK of the response with nonce.
// It returns the version the NACK rejected.
func (b *statusBook) ack(id, typeURL, version, nonce, nackErr string, now time.Time) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.typeStatus(id, typeURL)
	if t == nil {
		return ""
	}
	var rejected string
	for _, r := range b.sent[id][typeURL] {
		if r.nonce == nonce {
			rejected = r.version
		}
	}
	if nackErr == "" {
		t.AckedVersion, t.AckedAt, t.LastNack = version, now, nil
		return ""
	}
	t.Rejects++
	t.LastNack = &Nack{Version: rejected, Error: nackErr, At: now}
	return rejected
}

// lastSent returns the version last sent for a type.
func (b *statusBook) lastSent(id, typeURL string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t := b.typeStatus(id, typeURL); t != nil {
		return t.SentVersion
	}
	return ""
}

func (b *statusBook) snapshot() []ProxyStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]ProxyStatus, 0, len(b.proxies))
	for _, p := range b.proxies {
		c := *p
		c.Types = slices.Clone(p.Types)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b ProxyStatus) int { return cmp.Compare(a.ID, b.ID) })
	return out
}
