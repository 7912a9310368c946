package xds

import "time"

// sendBudget bounds the bytes of responses sent and not yet answered (by
// an ACK or NACK of their type, or the proxy's disconnection). A response
// stays in pilot's gRPC buffers until the proxy has read it, so without a
// bound a change pushed to many slow readers holds one encoded copy per
// proxy at once. A response that does not fit waits (its watch stays open)
// until earlier ones are answered; one response is always let through
// when nothing is outstanding, and one unanswered for longer than expiry
// no longer counts. Guarded by the cache's lock.
type sendBudget struct {
	limit  int
	used   int
	expiry time.Duration
	now    func() time.Time
	// expired is when expire last ran (it runs at most every second).
	expired time.Time
	// out are the outstanding responses by proxy and type.
	out map[outKey]outstanding
	// waiting are the watches held back, in order (and as a set).
	waiting   []waitingWatch
	isWaiting map[waitingWatch]bool
}

type outKey struct{ node, typeURL string }

type outstanding struct {
	size int
	at   time.Time
}

type waitingWatch struct {
	node string
	id   int64
}

func newSendBudget(limit int, now func() time.Time) *sendBudget {
	return &sendBudget{limit: limit, expiry: 30 * time.Second, now: now, out: map[outKey]outstanding{},
		isWaiting: map[waitingWatch]bool{}}
}

// admit reports whether a response of size may be sent now; if so it
// counts as outstanding for node and type.
func (b *sendBudget) admit(node, typeURL string, size int) bool {
	if b.limit <= 0 {
		return true
	}
	if b.used > 0 && b.used+size > b.limit {
		b.expire()
	}
	if b.used > 0 && b.used+size > b.limit {
		return false
	}
	k := outKey{node, typeURL}
	b.used += size - b.out[k].size
	b.out[k] = outstanding{size: size, at: b.now()}
	return true
}

// answered releases the outstanding response of node and type.
func (b *sendBudget) answered(node, typeURL string) {
	k := outKey{node, typeURL}
	if o, ok := b.out[k]; ok {
		b.used -= o.size
		delete(b.out, k)
	}
}

// forget releases every outstanding response of a node.
func (b *sendBudget) forget(node string) {
	for k, o := range b.out {
		if k.node == node {
			b.used -= o.size
			delete(b.out, k)
		}
	}
}

func (b *sendBudget) expire() {
	now := b.now()
	if b.used == 0 || now.Sub(b.expired) < time.Second {
		return
	}
	b.expired = now
	cutoff := now.Add(-b.expiry)
	for k, o := range b.out {
		if o.at.Before(cutoff) {
			b.used -= o.size
			delete(b.out, k)
		}
	}
}

// wait queues a watch held back (once).
func (b *sendBudget) wait(node string, id int64) {
	w := waitingWatch{node, id}
	if !b.isWaiting[w] {
		b.isWaiting[w] = true
		b.waiting = append(b.waiting, w)
	}
}

// takeWaiting returns the watches held back and empties the queue.
func (b *sendBudget) takeWaiting() []waitingWatch {
	w := b.waiting
	b.waiting = nil
	clear(b.isWaiting)
	return w
}
