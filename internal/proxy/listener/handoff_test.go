package listener

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/stats"
)

// recorder is a handler that reports the local address each connection
// it serves has.
type recordingHandler struct {
	name string
	got  chan<- served
}

type served struct{ handler, local string }

func (h recordingHandler) ServeConn(c net.Conn) {
	h.got <- served{h.name, c.LocalAddr().String()}
	_ = c.Close()
}

// fakeOrigDst maps a client's local address (the server's remote
// address) to the original destination the test pretends it had.
type fakeOrigDst struct {
	mu  sync.Mutex
	dst map[string]netip.AddrPort
}

func (f *fakeOrigDst) set(client net.Conn, dst string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if dst != "" {
		f.dst[client.LocalAddr().String()] = netip.MustParseAddrPort(dst)
	}
}

func (f *fakeOrigDst) lookup(c net.Conn) (netip.AddrPort, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d, ok := f.dst[c.RemoteAddr().String()]; ok {
		return d, nil
	}
	return netip.AddrPort{}, errors.New("not redirected")
}

func TestUseOriginalDstHandsOffByAddress(t *testing.T) {
	got := make(chan served, 4)
	fake := &fakeOrigDst{dst: map[string]netip.AddrPort{}}
	st := stats.New()
	m := NewManager(Options{Stats: st, OriginalDst: fake.lookup})
	t.Cleanup(m.Close)
	h := func(name string) Handler { return recordingHandler{name, got} }
	specs := []Spec{
		{Name: "virtualOutbound", Address: "127.0.0.1:0", Handler: h("virtualOutbound"), UseOriginalDst: true},
		{Name: "0.0.0.0_9080", Address: "0.0.0.0:9080", Handler: h("0.0.0.0_9080"), Unbound: true},
		{Name: "10.0.0.5_3306", Address: "10.0.0.5:3306", Handler: h("10.0.0.5_3306"), Unbound: true},
		{Name: "[::]_9080", Address: "[::]:9080", Handler: h("[::]_9080"), Unbound: true},
	}
	commit(t, m, specs)
	addr := m.Addresses()["virtualOutbound"]
	if len(m.Addresses()) != 1 {
		t.Fatalf("bound listeners %v, want virtualOutbound only", m.Addresses())
	}
	tests := []struct {
		name, dst, handler, local string
	}{
		{"wildcard listener for the port", "10.9.9.9:9080", "0.0.0.0_9080", "10.9.9.9:9080"},
		{"exact address wins", "10.0.0.5:3306", "10.0.0.5_3306", "10.0.0.5:3306"},
		{"IPv6 wildcard", "[fd00::1]:9080", "[::]_9080", "[fd00::1]:9080"},
		{"no listener: served by the receiving one", "10.0.0.6:3306", "virtualOutbound", "10.0.0.6:3306"},
		{"not redirected: served with its own address", "", "virtualOutbound", addr},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dialWith(t, addr, fake, tc.dst)
			defer c.Close()
			select {
			case s := <-got:
				if s != (served{tc.handler, tc.local}) {
					t.Errorf("served by %s with local address %s, want %s with %s", s.handler, s.local, tc.handler, tc.local)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("connection not served")
			}
		})
	}
	if n := st.Counter("listener.0.0.0.0:9080.downstream_cx_total").Value(); n != 1 {
		t.Errorf("listener.0.0.0.0:9080.downstream_cx_total = %d, want 1 (the handed-off connection)", n)
	}
}

func TestRestoreOriginalDstWithoutHandoff(t *testing.T) {
	got := make(chan served, 1)
	fake := &fakeOrigDst{dst: map[string]netip.AddrPort{}}
	m := NewManager(Options{OriginalDst: fake.lookup})
	t.Cleanup(m.Close)
	commit(t, m, []Spec{
		{Name: "virtualInbound", Address: "127.0.0.1:0", Handler: recordingHandler{"virtualInbound", got}, RestoreOriginalDst: true},
		{Name: "0.0.0.0_9080", Address: "0.0.0.0:9080", Handler: recordingHandler{"0.0.0.0_9080", got}, Unbound: true},
	})
	c := dialWith(t, m.Addresses()["virtualInbound"], fake, "10.1.2.3:9080")
	defer c.Close()
	if s := <-got; s != (served{"virtualInbound", "10.1.2.3:9080"}) {
		t.Errorf("served %+v, want virtualInbound with the original destination as local address", s)
	}
}

func TestUnboundListenersFollowUpdates(t *testing.T) {
	got := make(chan served, 2)
	fake := &fakeOrigDst{dst: map[string]netip.AddrPort{}}
	m := NewManager(Options{OriginalDst: fake.lookup})
	t.Cleanup(m.Close)
	outbound := Spec{Name: "virtualOutbound", Address: "127.0.0.1:0", Handler: recordingHandler{"virtualOutbound", got}, UseOriginalDst: true}
	commit(t, m, []Spec{outbound, {Name: "0.0.0.0_80", Address: "0.0.0.0:80", Handler: recordingHandler{"old", got}, Unbound: true}})
	addr := m.Addresses()["virtualOutbound"]
	commit(t, m, []Spec{outbound}) // the bound socket stays, the unbound listener goes
	c := dialWith(t, addr, fake, "10.0.0.1:80")
	defer c.Close()
	if s := <-got; s.handler != "virtualOutbound" {
		t.Errorf("after the unbound listener was removed, served by %s", s.handler)
	}
}

func commit(t *testing.T, m *Manager, specs []Spec) {
	t.Helper()
	p, err := m.Prepare(specs)
	if err != nil {
		t.Fatal(err)
	}
	p.Commit()
}

// dialWith connects to addr, first telling fake the original destination
// (none when dst is "") the connection is to have.
func dialWith(t *testing.T, addr string, fake *fakeOrigDst, dst string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 10 * time.Second}
	la, err := net.ResolveTCPAddr("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Reserve the client port first so the fake knows it before the
	// server sees the connection.
	ln, err := net.ListenTCP("tcp", la)
	if err != nil {
		t.Fatal(err)
	}
	d.LocalAddr = ln.Addr()
	ln.Close()
	fake.set(&fixedLocal{addr: d.LocalAddr}, dst)
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fixedLocal is a net.Conn stand-in that only has a local address.
type fixedLocal struct {
	net.Conn
	addr net.Addr
}

func (f *fixedLocal) LocalAddr() net.Addr { return f.addr }
