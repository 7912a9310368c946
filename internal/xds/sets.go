package xds

import (
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"unsafe"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// item is one resource as sent: its name, a hash of its encoding and the
// encoding itself. Items are immutable and shared by every set (and so
// every proxy) holding the same message.
type item struct {
	name string
	hash string
	any  *anypb.Any
}

// resourceSet is one type's resources of a proxy, sorted by name, with a
// version that hashes their hashes. Sets with the same version are one
// set in memory (see encoder.intern). Immutable.
type resourceSet struct {
	version string
	items   []*item
	size    int // bytes encoded

	anysOnce   sync.Once
	anyList    []*anypb.Any
	hashesOnce sync.Once
	hashes     map[string]string
}

// anys lists the encoded resources, in order.
func (s *resourceSet) anys() []*anypb.Any {
	s.anysOnce.Do(func() {
		s.anyList = make([]*anypb.Any, len(s.items))
		for i, it := range s.items {
			s.anyList[i] = it.any
		}
	})
	return s.anyList
}

// returnedFor is what a proxy holds after a response of this set: the
// hash of each subscribed resource of the set.
func (s *resourceSet) returnedFor(subscribed map[string]struct{}, wildcard bool) map[string]string {
	all := wildcard || len(subscribed) >= len(s.items)
	for _, it := range s.items {
		if !all {
			break
		}
		_, all = subscribed[it.name]
	}
	if all {
		s.hashesOnce.Do(func() {
			s.hashes = make(map[string]string, len(s.items))
			for _, it := range s.items {
				s.hashes[it.name] = it.hash
			}
		})
		return s.hashes
	}
	out := make(map[string]string, len(subscribed))
	for _, it := range s.items {
		if _, ok := subscribed[it.name]; ok {
			out[it.name] = it.hash
		}
	}
	return out
}

// encoder turns translated messages into items and sets, remembering
// both: a message shared by many translations (the translate cache's
// pieces and class parts) is encoded once, and a list shared by many
// translations (a class's endpoints) becomes one set. What a generation
// did not use is forgotten at the next sweep.
type encoder struct {
	mu    sync.Mutex
	gen   uint64
	items map[proto.Message]*encoded
	// byHash interns items by content: messages built apart (per proxy)
	// with the same content share one encoding in memory.
	byHash map[string]*encoded
	lists  map[listKey]*listEntry
	sets   map[string]*setEntry // by type URL + version
}

type encoded struct {
	it   *item
	used uint64
}

// listKey is a list by identity: its type, first element and length.
type listKey struct {
	typeURL string
	data    uintptr
	n       int
}

type listEntry struct {
	list any // keeps the list, and so its identity, alive
	set  *resourceSet
	used uint64
}

type setEntry struct {
	set  *resourceSet
	used uint64
}

func newEncoder() *encoder {
	return &encoder{items: map[proto.Message]*encoded{}, byHash: map[string]*encoded{}, lists: map[listKey]*listEntry{},
		sets: map[string]*setEntry{}}
}

// set returns the set of one type's messages, sorted by name.
func set[M proto.Message](e *encoder, typeURL string, msgs []M, name func(M) string) *resourceSet {
	key := listKey{typeURL: typeURL, n: len(msgs)}
	if len(msgs) > 0 {
		key.data = uintptr(unsafe.Pointer(unsafe.SliceData(msgs)))
		e.mu.Lock()
		le := e.lists[key]
		if le != nil {
			le.used = e.gen
		}
		e.mu.Unlock()
		if le != nil {
			return le.set
		}
	}
	items := make([]*item, len(msgs))
	for i, m := range msgs {
		items[i] = e.item(m, name(m))
	}
	s := e.intern(typeURL, items)
	if len(msgs) > 0 {
		e.mu.Lock()
		e.lists[key] = &listEntry{list: msgs, set: s, used: e.gen}
		e.mu.Unlock()
	}
	return s
}

// item encodes one message (once per message).
func (e *encoder) item(m proto.Message, name string) *item {
	e.mu.Lock()
	enc := e.items[m]
	if enc != nil {
		enc.used = e.gen
	}
	e.mu.Unlock()
	if enc != nil {
		return enc.it
	}
	a := &anypb.Any{}
	if err := anypb.MarshalFrom(a, m, proto.MarshalOptions{Deterministic: true}); err != nil {
		panic(err) // generated messages always marshal
	}
	sum := sha256.Sum256(a.Value)
	it := &item{name: name, hash: hex.EncodeToString(sum[:16]), any: a}
	key := a.TypeUrl + " " + it.hash
	e.mu.Lock()
	defer e.mu.Unlock()
	if same := e.byHash[key]; same != nil && same.it.name == name {
		it = same.it
	}
	enc = &encoded{it: it, used: e.gen}
	e.items[m], e.byHash[key] = enc, enc
	return it
}

// intern returns the one set with these items' version.
func (e *encoder) intern(typeURL string, items []*item) *resourceSet {
	h := sha256.New()
	size := 0
	for _, it := range items {
		h.Write([]byte(it.hash))
		size += len(it.any.Value)
	}
	version := hex.EncodeToString(h.Sum(nil))[:16]
	e.mu.Lock()
	defer e.mu.Unlock()
	if se := e.sets[typeURL+version]; se != nil {
		se.used = e.gen
		return se.set
	}
	s := &resourceSet{version: version, items: items, size: size}
	e.sets[typeURL+version] = &setEntry{set: s, used: e.gen}
	return s
}

// sweep starts a generation and forgets what the last keep generations
// did not use. (Proxies keep their sets; only sharing with later pushes
// is lost.)
func (e *encoder) sweep(keep uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.gen++
	for k, v := range e.items {
		if v.used+keep < e.gen {
			delete(e.items, k)
		}
	}
	for k, v := range e.byHash {
		if v.used+keep < e.gen {
			delete(e.byHash, k)
		}
	}
	for k, v := range e.lists {
		if v.used+keep < e.gen {
			delete(e.lists, k)
		}
	}
	for k, v := range e.sets {
		if v.used+keep < e.gen {
			delete(e.sets, k)
		}
	}
}
