package config

import (
	"cmp"
	"context"
	"slices"
)

// Source produces configuration. Run calls push with the source's full current
// state once at start and again after every change, until ctx is done. A
// source never sends partial updates: the consumer keeps the latest state.
type Source interface {
	Run(ctx context.Context, push func(State)) error
}

// State is the full content of one source at one moment.
type State struct {
	Source   string
	Objects  []*Object
	Rejected []*Rejection
	// Synced is false until the source has read everything once.
	Synced bool
}

// Set is an immutable, indexed collection of accepted objects together with
// the objects that were rejected. It is what the control plane builds from.
type Set struct {
	version  uint64
	objects  map[Key]*Object
	byKind   map[Kind][]*Object
	rejected []*Rejection
}

// NewSet indexes objs. Objects of each kind are listed oldest first
// (creation time, then namespace and name), the order Istio uses whenever
// "the oldest wins".
func NewSet(version uint64, objs []*Object, rejected []*Rejection) *Set {
	s := &Set{version: version, objects: make(map[Key]*Object, len(objs)), byKind: map[Kind][]*Object{}, rejected: rejected}
	for _, o := range objs {
		s.objects[o.Key()] = o
		s.byKind[o.Kind] = append(s.byKind[o.Kind], o)
	}
	for _, list := range s.byKind {
		slices.SortFunc(list, CompareAge)
	}
	slices.SortFunc(s.rejected, func(a, b *Rejection) int {
		return cmp.Or(cmp.Compare(a.Origin.File, b.Origin.File), cmp.Compare(a.Origin.Document, b.Origin.Document),
			cmp.Compare(a.Key.String(), b.Key.String()))
	})
	return s
}

// CompareAge orders objects oldest first, then by namespace and name.
func CompareAge(a, b *Object) int {
	return cmp.Or(a.Meta.CreationTimestamp.Compare(b.Meta.CreationTimestamp),
		cmp.Compare(a.Meta.Namespace, b.Meta.Namespace), cmp.Compare(a.Meta.Name, b.Meta.Name))
}

// Version increases with every Set an ingester publishes.
func (s *Set) Version() uint64 { return s.version }

// Get returns the object with key k, or nil.
func (s *Set) Get(k Key) *Object { return s.objects[k] }

// List returns the objects of one kind, oldest first. Do not modify it.
func (s *Set) List(k Kind) []*Object { return s.byKind[k] }

// Len is the number of accepted objects.
func (s *Set) Len() int { return len(s.objects) }

// All returns every accepted object ordered by kind, namespace and name.
func (s *Set) All() []*Object {
	out := make([]*Object, 0, len(s.objects))
	for _, o := range s.objects {
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b *Object) int {
		return cmp.Or(cmp.Compare(a.Kind.Name, b.Kind.Name), cmp.Compare(a.Meta.Namespace, b.Meta.Namespace),
			cmp.Compare(a.Meta.Name, b.Meta.Name))
	})
	return out
}

// Rejected lists what was not accepted, ordered by origin.
func (s *Set) Rejected() []*Rejection { return s.rejected }
