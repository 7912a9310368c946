// Package memory is a configuration source held in memory, for tests and for
// callers that build configuration programmatically.
package memory

import (
	"context"
	"sync"

	"github.com/lateenmesh/lateen/internal/config"
)

// Source holds a list of objects; every Replace pushes the new full state.
type Source struct {
	mu      sync.Mutex
	state   config.State
	changed chan struct{}
}

// New returns a source holding objs.
func New(objs ...*config.Object) *Source {
	return &Source{state: config.State{Source: "memory", Objects: objs, Synced: true}, changed: make(chan struct{}, 1)}
}

var _ config.Source = (*Source)(nil)

// Replace swaps the whole content of the source.
func (s *Source) Replace(objs []*config.Object, rejected []*config.Rejection) {
	s.mu.Lock()
	s.state = config.State{Source: "memory", Objects: objs, Rejected: rejected, Synced: true}
	s.mu.Unlock()
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// Run pushes the current state now and after every Replace.
func (s *Source) Run(ctx context.Context, push func(config.State)) error {
	for {
		s.mu.Lock()
		st := s.state
		s.mu.Unlock()
		push(st)
		select {
		case <-ctx.Done():
			return nil
		case <-s.changed:
		}
	}
}
