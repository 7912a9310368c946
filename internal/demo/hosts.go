package demo

import (
	"fmt"
	"strings"

	"github.com/lateenmesh/lateen/internal/hostname"
)

// DomainSuffix is the mesh's DNS domain (Kubernetes' cluster.local).
const DomainSuffix = "cluster.local"

// hostsFile is the /etc/hosts of a workload's namespace: every service of
// the demo by each name a client in that namespace may use (the full
// name and, as Kubernetes' search domains would, the short forms), at its
// VIP; the workload's own name at its address.
func hostsFile(ws []*Workload, self *Workload) string {
	var b strings.Builder
	b.WriteString("# lateen demo: the mesh's services, at their VIPs (capture=iptables)\n")
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	fmt.Fprintf(&b, "%s\t%s\n", self.Address, self.Name)
	seen := map[string]bool{}
	for _, w := range ws {
		if w.VIP == "" || seen[w.Service] {
			continue
		}
		seen[w.Service] = true
		fqdn := serviceHost(w)
		names := append([]string{fqdn}, hostname.AltNames(fqdn, self.Namespace, DomainSuffix)...)
		fmt.Fprintf(&b, "%s\t%s\n", w.VIP, strings.Join(names, " "))
	}
	return b.String()
}

// serviceHost is the full name of a workload's service.
func serviceHost(w *Workload) string {
	return fmt.Sprintf("%s.%s.svc.%s", w.Service, w.Namespace, DomainSuffix)
}
