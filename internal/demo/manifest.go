package demo

import (
	"bytes"
	"fmt"

	"sigs.k8s.io/yaml"
)

// File is one YAML file the demo writes into its config directory.
type File struct {
	Name    string
	Content []byte
}

// Manifests returns the Istio YAML of the demo: the registry (a
// ServiceEntry per service, a WorkloadEntry per workload), a Sidecar per
// workload binding its inbound port without traffic capture, the Bookinfo
// Gateway and VirtualService from Istio's sample on ingressPort, and
// DestinationRules with subsets for every service as Istio's
// destination-rule-all.yaml has. No other VirtualService: reviews rotates.
//
// Under capture=iptables the ServiceEntries carry the services' VIPs and
// there are no Sidecars: traffic reaches the proxies by capture.
func Manifests(workloads []*Workload, ingressPort uint32) []File {
	var out []File
	for _, f := range []File{
		{"registry.yaml", docs(registry(workloads))},
		{"sidecars.yaml", docs(sidecars(workloads))},
		{"bookinfo-gateway.yaml", docs(bookinfoGateway(ingressPort))},
		{"destination-rule-all.yaml", docs(destinationRules())},
	} {
		if len(f.Content) > 0 {
			out = append(out, f)
		}
	}
	return out
}

type object = map[string]any

func meta(name, namespace string) object {
	return object{"name": name, "namespace": namespace}
}

func networking(kind, name, namespace string, spec object) object {
	return object{"apiVersion": "networking.istio.io/v1", "kind": kind, "metadata": meta(name, namespace), "spec": spec}
}

func registry(workloads []*Workload) []object {
	var out []object
	seen := map[string]bool{}
	for _, w := range workloads {
		if w.Gateway || seen[w.Service] {
			continue
		}
		seen[w.Service] = true
		var ports []any
		for _, p := range w.Ports {
			ports = append(ports, object{"number": p.Number, "name": p.Name, "protocol": p.Protocol})
		}
		spec := object{
			"hosts":            []any{serviceHost(w)},
			"location":         "MESH_INTERNAL",
			"resolution":       "STATIC",
			"ports":            ports,
			"workloadSelector": object{"labels": object{"app": w.Labels["app"]}},
		}
		if w.VIP != "" {
			spec["addresses"] = []any{w.VIP}
		}
		out = append(out, networking("ServiceEntry", w.Service, w.Namespace, spec))
	}
	for _, w := range workloads {
		if w.Gateway {
			continue
		}
		labels := object{"security.istio.io/tlsMode": "istio"}
		for k, v := range w.Labels {
			labels[k] = v
		}
		we := networking("WorkloadEntry", w.Name, w.Namespace, object{
			"address": w.Address, "labels": labels, "serviceAccount": w.ServiceAccount,
		})
		we["metadata"].(object)["annotations"] = prometheusAnnotations()
		out = append(out, we)
	}
	return out
}

// sidecars binds each workload's service ports on its own address and
// forwards them to the app's port ("0.0.0.0:port" is the workload's address).
func sidecars(workloads []*Workload) []object {
	var out []object
	for _, w := range workloads {
		if w.Gateway || w.Netns != "" {
			continue
		}
		var ingress []any
		for _, p := range w.Ports {
			ingress = append(ingress, object{
				"port":            object{"number": p.Number, "name": p.Name, "protocol": p.Protocol},
				"defaultEndpoint": fmt.Sprintf("0.0.0.0:%d", p.AppPort),
			})
		}
		out = append(out, networking("Sidecar", w.Name, w.Namespace, object{
			"workloadSelector": object{"labels": stringsToAny(w.Labels)},
			"ingress":          ingress,
			"egress":           []any{object{"hosts": []any{"*/*"}}},
		}))
	}
	return out
}

func bookinfoGateway(port uint32) []object {
	match := func(kind, v string) object { return object{"uri": object{kind: v}} }
	return []object{
		networking("Gateway", "bookinfo-gateway", SampleNamespace, object{
			"selector": object{"istio": "ingressgateway"},
			"servers": []any{object{
				"port":  object{"number": port, "name": "http", "protocol": "HTTP"},
				"hosts": []any{"*"},
			}},
		}),
		networking("VirtualService", "bookinfo", SampleNamespace, object{
			"hosts":    []any{"*"},
			"gateways": []any{"bookinfo-gateway"},
			"http": []any{object{
				"match": []any{
					match("exact", "/productpage"), match("prefix", "/static"), match("exact", "/login"),
					match("exact", "/logout"), match("prefix", "/api/v1/products"),
				},
				"route": []any{object{"destination": object{"host": "productpage", "port": object{"number": 9080}}}},
			}},
		}),
	}
}

func destinationRules() []object {
	subsets := func(versions ...string) []any {
		var out []any
		for _, v := range versions {
			out = append(out, object{"name": v, "labels": object{"version": v}})
		}
		return out
	}
	var out []object
	for _, dr := range []struct {
		name     string
		versions []string
	}{
		{"productpage", []string{"v1"}},
		{"reviews", []string{"v1", "v2", "v3"}},
		{"ratings", []string{"v1"}},
		{"details", []string{"v1"}},
		{"httpbin", []string{"v1", "v2"}},
		{"tcp-echo", []string{"v1", "v2"}},
	} {
		out = append(out, networking("DestinationRule", dr.name, SampleNamespace, object{
			"host": dr.name, "subsets": subsets(dr.versions...),
		}))
	}
	return out
}

func stringsToAny(m map[string]string) object {
	out := object{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// docs renders objects as one multi-document YAML stream.
func docs(objs []object) []byte {
	var buf bytes.Buffer
	for i, o := range objs {
		if i > 0 {
			buf.WriteString("---\n")
		}
		b, err := yaml.Marshal(o)
		if err != nil {
			panic(err) // plain maps, strings and numbers always marshal
		}
		buf.Write(b)
	}
	return buf.Bytes()
}
