// Package lateenrun runs Lateen for the benchmarks: it writes Istio YAML
// into a config directory, starts lateen-pilot and lateen-proxy binaries
// on loopback addresses, and reads pilot's /debug/syncz and /metrics.
package lateenrun

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"
)

// Object is one Istio resource as plain YAML data.
type Object = map[string]any

// Port is a service port.
type Port struct {
	Number   uint32
	Name     string
	Protocol string
}

func (p Port) object() Object {
	return Object{"number": p.Number, "name": p.Name, "protocol": p.Protocol}
}

// Endpoint is an inline ServiceEntry endpoint.
type Endpoint struct {
	Address string
	Labels  map[string]string
}

// Host is the FQDN of service name in namespace ns.
func Host(name, ns string) string { return fmt.Sprintf("%s.%s.svc.cluster.local", name, ns) }

func networking(kind, name, ns string, spec Object) Object {
	return Object{
		"apiVersion": "networking.istio.io/v1",
		"kind":       kind,
		"metadata":   Object{"name": name, "namespace": ns},
		"spec":       spec,
	}
}

// ServiceEntry is a mesh-internal service with either a workload selector
// or inline endpoints.
func ServiceEntry(name, ns string, ports []Port, selector map[string]string, endpoints []Endpoint) Object {
	spec := Object{
		"hosts":      []any{Host(name, ns)},
		"location":   "MESH_INTERNAL",
		"resolution": "STATIC",
		"ports":      portList(ports),
	}
	if selector != nil {
		spec["workloadSelector"] = Object{"labels": labelMap(selector)}
	}
	if len(endpoints) > 0 {
		var eps []any
		for _, e := range endpoints {
			ep := Object{"address": e.Address}
			if len(e.Labels) > 0 {
				ep["labels"] = labelMap(e.Labels)
			}
			eps = append(eps, ep)
		}
		spec["endpoints"] = eps
	}
	return networking("ServiceEntry", name, ns, spec)
}

// WorkloadEntry is a workload with a sidecar (tlsMode istio) at address.
func WorkloadEntry(name, ns, address, serviceAccount string, labels map[string]string) Object {
	l := labelMap(labels)
	l["security.istio.io/tlsMode"] = "istio"
	return networking("WorkloadEntry", name, ns, Object{
		"address": address, "labels": l, "serviceAccount": serviceAccount,
	})
}

// Ingress binds a service port on the workload's address and forwards it
// to the app's port on the same address.
type Ingress struct {
	Port    Port
	AppPort uint32
}

// SidecarResource is a Sidecar that scopes the workloads selected (a namespace-wide Sidecar when
// selector is nil): inbound ports from ingress, outbound hosts from
// egressHosts ("namespace/host" as Istio's; nil leaves egress unset).
func SidecarResource(name, ns string, selector map[string]string, ingress []Ingress, egressHosts []string) Object {
	spec := Object{}
	if selector != nil {
		spec["workloadSelector"] = Object{"labels": labelMap(selector)}
	}
	var in []any
	for _, i := range ingress {
		in = append(in, Object{"port": i.Port.object(), "defaultEndpoint": fmt.Sprintf("0.0.0.0:%d", i.AppPort)})
	}
	if len(in) > 0 {
		spec["ingress"] = in
	}
	if egressHosts != nil {
		hosts := make([]any, len(egressHosts))
		for i, h := range egressHosts {
			hosts[i] = h
		}
		spec["egress"] = []any{Object{"hosts": hosts}}
	}
	return networking("Sidecar", name, ns, spec)
}

// DestinationRule for host with one subset per version label value.
func DestinationRule(name, ns, host string, versions ...string) Object {
	var subsets []any
	for _, v := range versions {
		subsets = append(subsets, Object{"name": v, "labels": Object{"version": v}})
	}
	spec := Object{"host": host}
	if len(subsets) > 0 {
		spec["subsets"] = subsets
	}
	return networking("DestinationRule", name, ns, spec)
}

// VirtualService for host: requests whose path starts with prefix go to
// the host's port, the rest too (the prefix route only marks the
// configuration, so each edit changes what proxies receive).
func VirtualService(name, ns, host string, port uint32, prefix string) Object {
	dest := []any{Object{"destination": Object{"host": host, "port": Object{"number": port}}}}
	return networking("VirtualService", name, ns, Object{
		"hosts": []any{host},
		"http": []any{
			Object{"name": "marked", "match": []any{Object{"uri": Object{"prefix": prefix}}}, "route": dest},
			Object{"name": "default", "route": dest},
		},
	})
}

func portList(ports []Port) []any {
	out := make([]any, len(ports))
	for i, p := range ports {
		out[i] = p.object()
	}
	return out
}

func labelMap(m map[string]string) Object {
	out := Object{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Marshal renders objects as one multi-document YAML stream.
func Marshal(objs ...Object) ([]byte, error) {
	var buf bytes.Buffer
	for i, o := range objs {
		if i > 0 {
			buf.WriteString("---\n")
		}
		b, err := yaml.Marshal(o)
		if err != nil {
			return nil, err
		}
		buf.Write(b)
	}
	return buf.Bytes(), nil
}

// WriteFile writes objects to dir/name atomically (a watcher never sees a
// half-written file).
func WriteFile(dir, name string, objs ...Object) error {
	data, err := Marshal(objs...)
	if err != nil {
		return fmt.Errorf("lateenrun: %s: %w", name, err)
	}
	tmp, err := os.CreateTemp(dir, "."+name+".tmp*")
	if err != nil {
		return fmt.Errorf("lateenrun: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("lateenrun: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("lateenrun: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("lateenrun: %w", err)
	}
	return nil
}
