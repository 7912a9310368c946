package controlplane

import (
	"fmt"
	"os"
	"strings"

	"github.com/lateenmesh/lateen/bench/lateenrun"
)

// mesh is the configuration directory pilot watches: services spread over
// namespaces (service i in namespace i mod namespaces), one file per
// service; the first scoped namespaces have a namespace-wide Sidecar
// limiting their proxies to their own namespace, the others see the whole
// mesh (Istio's default).
type mesh struct {
	dir        string
	services   int
	endpoints  int
	namespaces int
	scoped     int
	next       int                          // endpoint address counter
	eps        map[int][]lateenrun.Endpoint // service index → endpoints
}

func nsName(i int) string { return fmt.Sprintf("ns-%02d", i) }

func svcName(i int) string { return fmt.Sprintf("svc-%05d", i) }

// namespaceOf places service i.
func (m *mesh) namespaceOf(i int) string { return nsName(i % m.namespaces) }

// address numbers endpoints on 127.251.0.0/16; nothing connects to them.
func (m *mesh) address() string {
	k := m.next
	m.next++
	return fmt.Sprintf("127.251.%d.%d", (k/256)%256, k%256)
}

var httpPort = []lateenrun.Port{{Number: 8080, Name: "http", Protocol: "HTTP"}}

func (m *mesh) endpointList(n int) []lateenrun.Endpoint {
	eps := make([]lateenrun.Endpoint, n)
	for i := range eps {
		eps[i] = lateenrun.Endpoint{Address: m.address()}
	}
	return eps
}

func (m *mesh) write() error {
	if err := os.MkdirAll(m.dir, 0o755); err != nil {
		return err
	}
	m.eps = map[int][]lateenrun.Endpoint{}
	for i := range m.services {
		m.eps[i] = m.endpointList(m.endpoints)
		if err := m.writeService(i); err != nil {
			return err
		}
	}
	for ns := range m.scoped {
		sc := lateenrun.SidecarResource("default", nsName(ns), nil, nil, []string{"./*"})
		if err := lateenrun.WriteFile(m.dir, "sidecar-"+nsName(ns)+".yaml", sc); err != nil {
			return err
		}
	}
	return m.editVirtualService("initial")
}

func (m *mesh) writeService(i int) error {
	se := lateenrun.ServiceEntry(svcName(i), m.namespaceOf(i), httpPort, nil, m.eps[i])
	return lateenrun.WriteFile(m.dir, svcName(i)+".yaml", se)
}

// The changes all concern services of namespace 0 (scoped): the proxies of
// namespace 0 and of every unscoped namespace see them, the other scoped
// namespaces' proxies do not.
const vsService = 0 // the VirtualService's host, in namespace 0

// endpointService is the second service of namespace 0, which gets the
// added endpoints.
func (m *mesh) endpointService() int { return m.namespaces }

// targetNamespace is where every change happens.
func (m *mesh) targetNamespace() string { return nsName(0) }

// affected reports whether a proxy in namespace ns sees namespace 0.
func (m *mesh) affected(ns string) bool {
	if ns == nsName(0) {
		return true
	}
	for i := range m.scoped {
		if ns == nsName(i) {
			return false
		}
	}
	return true
}

// editVirtualService rewrites the VirtualService of service 0 with a route
// matching the prefix "/<marker>".
func (m *mesh) editVirtualService(marker string) error {
	host := lateenrun.Host(svcName(vsService), m.targetNamespace())
	vs := lateenrun.VirtualService("vs-"+svcName(vsService), m.targetNamespace(), host, 8080, "/"+marker)
	return lateenrun.WriteFile(m.dir, "vs.yaml", vs)
}

// addEndpoint rewrites a namespace-0 service with one more endpoint at
// address.
func (m *mesh) addEndpoint(address string) error {
	i := m.endpointService()
	m.eps[i] = append(m.eps[i], lateenrun.Endpoint{Address: address})
	return m.writeService(i)
}

// newServiceHost names the k-th added service.
func (m *mesh) newServiceHost(k int) string {
	return lateenrun.Host(fmt.Sprintf("svc-new-%03d", k), m.targetNamespace())
}

// addService writes a new namespace-0 service for host (from
// newServiceHost).
func (m *mesh) addService(host string) error {
	name, _, _ := strings.Cut(host, ".")
	se := lateenrun.ServiceEntry(name, m.targetNamespace(), httpPort, nil, m.endpointList(m.endpoints))
	return lateenrun.WriteFile(m.dir, name+".yaml", se)
}
