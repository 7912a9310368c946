package launch

import (
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
)

// Blocks hands out loopback address blocks 127.N.0.0/24, one per
// topology or harness, so that every process binds the standard ports
// (15000, 15001, ...) on its own address, as Lateen's local mode does. A
// block is taken only when nobody listens on its first addresses, so
// parallel runs (and other tests on the machine) do not collide.
type Blocks struct {
	mu   sync.Mutex
	used map[int]bool
}

// Next returns a free block's prefix, "127.N.0." (append the host number).
func (b *Blocks) Next() (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used == nil {
		b.used = map[int]bool{}
	}
	start := 100 + rand.IntN(140)
	for i := range 140 {
		n := 100 + (start-100+i)%140
		if b.used[n] {
			continue
		}
		prefix := fmt.Sprintf("127.%d.0.", n)
		if free(prefix) {
			b.used[n] = true
			return prefix, nil
		}
	}
	return "", fmt.Errorf("launch: no free loopback block 127.100-239.0.0/24")
}

// free reports whether the ports a harness binds are free on the block's
// first addresses.
func free(prefix string) bool {
	for _, addr := range []string{prefix + "1:15010", prefix + "2:15001", prefix + "3:15001"} {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return false
		}
		l.Close()
	}
	return true
}
