// Package ingest is the one path by which configuration enters the control
// plane. It runs every Source, keeps the latest full state of each, coalesces
// bursts of changes, validates each object, applies the last-good rule and
// publishes immutable config.Sets.
package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/lateenmesh/lateen/internal/config"
)

// Options configure an Ingester.
type Options struct {
	// Sources in priority order: when two define the same object, the
	// earlier source wins.
	Sources []config.Source
	// Validate checks one object; nil accepts everything.
	Validate func(*config.Object) error
	// Debounce is the quiet period after a change before publishing
	// (default 20ms: a burst of edits whose changes come less than that
	// apart is published once); MaxDelay bounds how long a steady stream
	// of changes can hold a publish back (default 1s).
	Debounce time.Duration
	MaxDelay time.Duration
	Logger   *slog.Logger
	// Now is the clock used for creation times of objects that carry none.
	Now func() time.Time
}

// DefaultDebounce is Options.Debounce's default.
const DefaultDebounce = 20 * time.Millisecond

// Ingester turns source states into config Sets.
type Ingester struct {
	opts Options

	mu      sync.Mutex
	states  []config.State
	dirty   bool
	changed chan struct{}
	merge   merger
}

// New returns an Ingester; it starts nothing until Run.
func New(opts Options) *Ingester {
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Validate == nil {
		opts.Validate = func(*config.Object) error { return nil }
	}
	return &Ingester{
		opts:    opts,
		states:  make([]config.State, len(opts.Sources)),
		changed: make(chan struct{}, 1),
		merge:   newMerger(),
	}
}

// Run runs the sources and calls publish with each new Set, once every source
// has synced and then after every (debounced) change. It returns when ctx is
// done or a source fails.
func (in *Ingester) Run(ctx context.Context, publish func(*config.Set)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, len(in.opts.Sources))
	var wg sync.WaitGroup
	for i, src := range in.opts.Sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := src.Run(ctx, func(st config.State) { in.push(i, st) })
			if err != nil && ctx.Err() == nil {
				errc <- fmt.Errorf("config source %d: %w", i, err)
			}
		}()
	}
	err := in.loop(ctx, errc, publish)
	cancel()
	wg.Wait()
	return err
}

func (in *Ingester) push(i int, st config.State) {
	in.mu.Lock()
	in.states[i] = st
	in.dirty = true
	in.mu.Unlock()
	select {
	case in.changed <- struct{}{}:
	default:
	}
}

func (in *Ingester) loop(ctx context.Context, errc <-chan error, publish func(*config.Set)) error {
	var quiet, deadline <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			return err
		case <-in.changed:
			quiet = time.After(in.opts.Debounce)
			if deadline == nil {
				deadline = time.After(in.opts.MaxDelay)
			}
			continue
		case <-quiet:
		case <-deadline:
		}
		quiet, deadline = nil, nil
		if set := in.build(); set != nil {
			publish(set)
		}
	}
}

// build merges the latest states, or returns nil while a source has not
// synced or nothing changed.
func (in *Ingester) build() *config.Set {
	in.mu.Lock()
	defer in.mu.Unlock()
	if !in.dirty {
		return nil
	}
	for _, st := range in.states {
		if !st.Synced {
			return nil
		}
	}
	in.dirty = false
	set := in.merge.merge(in.states, in.opts.Validate, in.opts.Now())
	for _, r := range set.Rejected() {
		in.opts.Logger.Warn("configuration rejected", "component", "config", "error", r.Error(), "keptLastGood", r.KeptLastGood)
	}
	in.opts.Logger.Info("configuration updated", "component", "config", "version", set.Version(),
		"objects", set.Len(), "rejected", len(set.Rejected()))
	return set
}

// merger applies the acceptance rules across rounds. It remembers the last
// good version of every object and the validation result of every object
// value it has seen (sources reuse unchanged *Object values).
type merger struct {
	version   uint64
	lastGood  map[config.Key]*config.Object
	validated map[*config.Object]error
	stamped   map[*config.Object]*config.Object
	born      map[config.Key]time.Time
}

func newMerger() merger {
	return merger{lastGood: map[config.Key]*config.Object{}, validated: map[*config.Object]error{},
		stamped: map[*config.Object]*config.Object{}, born: map[config.Key]time.Time{}}
}

func (m *merger) merge(states []config.State, validate func(*config.Object) error, now time.Time) *config.Set {
	accepted := map[config.Key]*config.Object{}
	validated := map[*config.Object]error{}
	stamped := map[*config.Object]*config.Object{}
	born := map[config.Key]time.Time{}
	var order []config.Key
	var rejected []*config.Rejection
	keep := func(k config.Key, o *config.Object) {
		if _, dup := accepted[k]; !dup {
			order = append(order, k)
		}
		accepted[k] = o
	}
	for _, st := range states {
		for _, o := range st.Objects {
			k := o.Key()
			if prev, taken := accepted[k]; taken {
				rejected = append(rejected, &config.Rejection{Origin: o.Origin, Key: k, KeptLastGood: true,
					Err: fmt.Errorf("conflict: also defined in %s, which stays in force", prev.Origin)})
				continue
			}
			err, seen := m.validated[o]
			if !seen {
				err = validate(o)
			}
			validated[o] = err
			if err != nil {
				rejected = append(rejected, &config.Rejection{Origin: o.Origin, Key: k, Err: err})
				continue
			}
			keep(k, m.stamp(o, stamped, born, now))
		}
		rejected = append(rejected, st.Rejected...)
	}
	// A rejected object whose key was accepted before keeps its last good
	// version, unless a valid definition of the key was accepted this round.
	for i, r := range rejected {
		if r.Key.Kind.IsZero() {
			continue
		}
		if _, taken := accepted[r.Key]; taken {
			continue
		}
		if old, ok := m.lastGood[r.Key]; ok {
			keep(r.Key, old)
			c := *r // rejections may be shared with the source: copy, never modify
			c.KeptLastGood = true
			rejected[i] = &c
		}
	}
	objs := make([]*config.Object, 0, len(order))
	for _, k := range order {
		objs = append(objs, accepted[k])
		if _, ok := born[k]; !ok {
			born[k] = accepted[k].Meta.CreationTimestamp
		}
	}
	m.version++
	m.lastGood, m.validated, m.stamped, m.born = accepted, validated, stamped, born
	return config.NewSet(m.version, objs, rejected)
}

// stamp gives an object without a creation time the time its key was first
// accepted, so that "oldest wins" rules are stable across edits.
func (m *merger) stamp(o *config.Object, stamped map[*config.Object]*config.Object, born map[config.Key]time.Time, now time.Time) *config.Object {
	k := o.Key()
	if !o.Meta.CreationTimestamp.IsZero() {
		born[k] = o.Meta.CreationTimestamp
		return o
	}
	if c, ok := m.stamped[o]; ok {
		stamped[o], born[k] = c, c.Meta.CreationTimestamp
		return c
	}
	t, ok := m.born[k]
	if !ok {
		t = now
	}
	c := *o
	c.Meta.CreationTimestamp = t
	stamped[o], born[k] = &c, t
	return &c
}
