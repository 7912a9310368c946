package translate

import (
	"cmp"
	"net"
	"slices"
	"strconv"
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"github.com/lateenmesh/lateen/internal/hostname"
	"github.com/lateenmesh/lateen/internal/registry"
)

// serviceDomains are the Host header values that reach a service's port
// through the capture NONE HTTP proxy, in Istio's order: the host name, the
// short forms a client in the proxy's namespace may use (hostname.AltNames)
// and the service's addresses, each as name:port, and also bare for port 80
// (a client omits the default port). It also returns the short forms, which
// give way to a service whose full name they are.
func (b *builder) serviceDomains(svc *registry.Service, port uint32) (domains, alt []string) {
	domains = withPort(nil, svc.Hostname, port)
	for _, a := range hostname.AltNames(svc.Hostname, b.view.Proxy.Namespace, b.view.DomainSuffix) {
		alt = withPort(alt, a, port)
	}
	domains = append(domains, alt...)
	for _, addr := range svc.Addresses {
		if strings.Contains(addr, "/") || addr == "0.0.0.0" || addr == "::" {
			continue // a CIDR range or the unspecified address names no VIP
		}
		domains = withPort(domains, addr, port)
	}
	return domains, alt
}

// withPort appends name:port, preceded by the bare name on port 80.
// IPv6 addresses are bracketed, as in a Host header.
func withPort(out []string, name string, port uint32) []string {
	name = strings.ToLower(name)
	if ip := net.ParseIP(name); ip != nil && ip.To4() == nil {
		name = "[" + name + "]"
	}
	if port == 80 {
		out = append(out, name)
	}
	return append(out, name+":"+strconv.FormatUint(uint64(port), 10))
}

// vhostSet collects the virtual hosts of one route configuration so that no
// two share a name or a domain (Envoy rejects duplicate domains): the first
// to claim one keeps it, as Istio builds them.
type vhostSet struct {
	names   map[string]bool
	domains map[string]bool
	// known are the full names (and name:port) of the services routed by
	// name: a short form equal to one of them is left to that service.
	known  map[string]bool
	vhosts []*routev3.VirtualHost
}

func newVhostSet(known map[string]bool) *vhostSet {
	return &vhostSet{names: map[string]bool{}, domains: map[string]bool{}, known: known}
}

// claim reserves a virtual host name; false when it is taken.
func (s *vhostSet) claim(name string) bool {
	if s.names[name] {
		return false
	}
	s.names[name] = true
	return true
}

// add keeps vh with the domains not claimed before (and short forms that
// are no other service's full name); vh is dropped when none remain.
func (s *vhostSet) add(vh *routev3.VirtualHost, alt []string) {
	kept := vh.Domains[:0]
	for _, d := range vh.Domains {
		if s.domains[d] || slices.Contains(alt, d) && s.known[d] {
			continue
		}
		s.domains[d] = true
		kept = append(kept, d)
	}
	if vh.Domains = kept; len(kept) > 0 {
		s.vhosts = append(s.vhosts, vh)
	}
}

// sorted returns the virtual hosts by name, as Istio orders them.
func (s *vhostSet) sorted() []*routev3.VirtualHost {
	slices.SortStableFunc(s.vhosts, func(a, b *routev3.VirtualHost) int { return cmp.Compare(a.Name, b.Name) })
	return s.vhosts
}
