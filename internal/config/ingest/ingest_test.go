package ingest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	networking "istio.io/api/networking/v1alpha3"

	"github.com/lateenmesh/lateen/internal/config"
	"github.com/lateenmesh/lateen/internal/config/memory"
)

func vs(name, host string) *config.Object {
	return &config.Object{
		Kind:   config.VirtualService,
		Meta:   config.Meta{Name: name, Namespace: "default"},
		Spec:   &networking.VirtualService{Hosts: []string{host}},
		Origin: config.Origin{Source: "memory", File: name + ".yaml", Document: 1},
	}
}

// rejectBadHosts is a stand-in validator: hosts named "bad" are invalid.
func rejectBadHosts(o *config.Object) error {
	if o.Spec.(*networking.VirtualService).Hosts[0] == "bad" {
		return errors.New("spec.hosts[0]: bad host")
	}
	return nil
}

func startIngester(t *testing.T, src config.Source) <-chan *config.Set {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sets := make(chan *config.Set, 16)
	in := New(Options{Sources: []config.Source{src}, Validate: rejectBadHosts, Debounce: time.Millisecond, MaxDelay: 10 * time.Millisecond})
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx, func(s *config.Set) { sets <- s }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return sets
}

func next(t *testing.T, sets <-chan *config.Set) *config.Set {
	t.Helper()
	select {
	case s := <-sets:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no config set published")
		return nil
	}
}

func TestLastGoodVersionStaysWhenAnEditIsInvalid(t *testing.T) {
	src := memory.New(vs("a", "a.example.com"), vs("b", "b.example.com"))
	sets := startIngester(t, src)
	s1 := next(t, sets)
	if s1.Len() != 2 {
		t.Fatalf("first set has %d objects", s1.Len())
	}
	key := config.Key{Kind: config.VirtualService, Namespace: "default", Name: "a"}

	// An invalid edit of a: the old a stays, b is updated, the rejection is reported.
	src.Replace([]*config.Object{vs("a", "bad"), vs("b", "b2.example.com")}, nil)
	s2 := next(t, sets)
	if got := s2.Get(key).Spec.(*networking.VirtualService).Hosts[0]; got != "a.example.com" {
		t.Errorf("a = %q, want the last good a.example.com", got)
	}
	if got := s2.Get(config.Key{Kind: config.VirtualService, Namespace: "default", Name: "b"}).Spec.(*networking.VirtualService).Hosts[0]; got != "b2.example.com" {
		t.Errorf("b = %q, want the new b2.example.com", got)
	}
	if len(s2.Rejected()) != 1 || !s2.Rejected()[0].KeptLastGood || !strings.Contains(s2.Rejected()[0].Error(), "bad host") {
		t.Errorf("rejections = %v", s2.Rejected())
	}

	// A new invalid object has no last good version: it is simply absent.
	src.Replace([]*config.Object{vs("a", "bad"), vs("b", "b2.example.com"), vs("c", "bad")}, nil)
	s3 := next(t, sets)
	if s3.Get(config.Key{Kind: config.VirtualService, Namespace: "default", Name: "c"}) != nil {
		t.Error("invalid new object c was accepted")
	}
	// Deleting a removes it even though its last edit was invalid.
	src.Replace([]*config.Object{vs("b", "b2.example.com")}, nil)
	s4 := next(t, sets)
	if s4.Get(key) != nil || len(s4.Rejected()) != 0 {
		t.Errorf("after delete: a=%v rejected=%v", s4.Get(key), s4.Rejected())
	}
	if !(s1.Version() < s2.Version() && s3.Version() < s4.Version()) {
		t.Errorf("versions do not increase: %d %d %d %d", s1.Version(), s2.Version(), s3.Version(), s4.Version())
	}
}

func TestUnreadableObjectKeepsLastGood(t *testing.T) {
	a := vs("a", "a.example.com")
	src := memory.New(a)
	sets := startIngester(t, src)
	next(t, sets)
	src.Replace(nil, []*config.Rejection{{Origin: a.Origin, Key: a.Key(), Err: errors.New("spec.hosts: expected a list")}})
	s := next(t, sets)
	if s.Get(a.Key()) == nil {
		t.Fatal("last good version of a was dropped")
	}
	if len(s.Rejected()) != 1 || !s.Rejected()[0].KeptLastGood {
		t.Errorf("rejections = %v", s.Rejected())
	}
}

func TestCreationTimeIsStableAcrossEdits(t *testing.T) {
	src := memory.New(vs("a", "a.example.com"))
	sets := startIngester(t, src)
	t1 := next(t, sets).List(config.VirtualService)[0].Meta.CreationTimestamp
	src.Replace([]*config.Object{vs("a", "a2.example.com")}, nil)
	t2 := next(t, sets).List(config.VirtualService)[0].Meta.CreationTimestamp
	if t1.IsZero() || !t1.Equal(t2) {
		t.Errorf("creation time %v then %v; want the same non-zero time", t1, t2)
	}
}
