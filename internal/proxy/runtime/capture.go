package runtime

import (
	"net"
	"strconv"

	"github.com/lateenmesh/lateen/internal/proxy/listener"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// listenerSpec is what the listener manager needs of a listener: where to
// bind it and its original destination handling (traffic capture). A
// listener with bind_to_port false keeps its configured address (0.0.0.0
// is not replaced by the wildcard address), which is what use_original_dst
// hand-offs look up.
func (b *build) listenerSpec(name string, l *resource.Listener, h listener.Handler) listener.Spec {
	addr := b.rt.bindAddress(l)
	if l.NoBind {
		addr = net.JoinHostPort(l.Address, strconv.Itoa(int(l.Port)))
	}
	return listener.Spec{Name: name, Address: addr, Handler: h, Unbound: l.NoBind,
		RestoreOriginalDst: l.OriginalDst, UseOriginalDst: l.UseOriginalDst}
}
