package listener

import (
	"net"
	"testing"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/stats"
)

// A proxy that stops while a configuration is being applied closes its
// listener manager between Prepare and Commit: Commit then serves nothing
// and releases what Prepare bound, for a kept listener as for a new one.
func TestCommitAfterClose(t *testing.T) {
	m := NewManager(Options{Stats: stats.New()})
	got := make(chan served, 1)
	kept := Spec{Name: "kept", Address: "127.0.0.1:0", Handler: recordingHandler{"kept", got}}
	commit(t, m, []Spec{kept})
	keptAddr := m.Addresses()["kept"]

	p, err := m.Prepare([]Spec{kept, {Name: "new", Address: "127.0.0.2:0", Handler: recordingHandler{"new", got}}})
	if err != nil {
		t.Fatal(err)
	}
	var fresh string
	for _, s := range p.fresh {
		fresh = s.ln.Addr().String()
	}
	m.Close()
	p.Commit() // must not panic
	if len(m.Addresses()) != 0 {
		t.Errorf("listeners after Close: %v", m.Addresses())
	}
	for _, addr := range []string{keptAddr, fresh} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after Close", addr)
		}
	}
}
