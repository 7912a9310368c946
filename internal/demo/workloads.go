// Package demo runs `lateen demo`: the whole mesh with Istio's sample
// applications on one machine, no Kubernetes. It writes the Istio YAML for
// the registry and the samples into a config directory, then runs pilot,
// the gateways and every sample with its sidecar as separate processes.
package demo

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
)

// Port is one service port of a workload and the app port behind it.
type Port struct {
	Name     string `json:"name"`
	Number   uint32 `json:"number"`
	Protocol string `json:"protocol"`
	AppPort  uint32 `json:"appPort"`
}

// Workload is one instance the demo runs, with its sidecar (or, for a
// gateway, the router proxy alone).
type Workload struct {
	Name           string            `json:"name"`
	Namespace      string            `json:"namespace"`
	ServiceAccount string            `json:"serviceAccount"`
	Labels         map[string]string `json:"labels"`
	Address        string            `json:"address"`
	Service        string            `json:"service,omitempty"`
	Ports          []Port            `json:"ports"`
	// Sample is the sample app and its flags; empty for gateways.
	Sample []string `json:"sample,omitempty"`
	// Gateway marks router proxies (ingress and egress gateways).
	Gateway bool `json:"gateway,omitempty"`
	// AppMetrics is where the app serves its own Prometheus metrics (nil:
	// it does not); its sidecar merges them on :15020.
	AppMetrics *AppMetrics `json:"appMetrics,omitempty"`
	// Netns is the workload's network namespace under capture=iptables
	// (`ip netns exec <netns>` runs a command as the workload); empty
	// when it shares the host's.
	Netns string `json:"netns,omitempty"`
	// VIP is the service's address under capture=iptables: the name of
	// the service resolves to it in every namespace, and connections to
	// it are captured.
	VIP string `json:"vip,omitempty"`
}

// AppMetrics is an app's Prometheus endpoint (what a pod's prometheus.io/port
// and prometheus.io/path annotations say before Istio rewrites them).
type AppMetrics struct {
	Port uint32 `json:"port"`
	Path string `json:"path"`
}

// appMetricsPaths are the samples serving their own metrics, as Istio's
// (productpage's request_result_total).
var appMetricsPaths = map[string]string{"productpage": "/metrics"}

// AppPortOffset separates an app's own port from its service port: the
// sidecar binds the service port on the workload address and forwards to
// the app on service port + offset.
const AppPortOffset = 10000

// Namespace of the sample workloads and of the gateways.
const (
	SampleNamespace = "default"
	SystemNamespace = "istio-system"
)

type sampleSpec struct {
	name, app, version, sa, service string
	port                            uint32
	protocol                        string
	sample                          []string
}

var sampleSpecs = []sampleSpec{
	{"productpage-v1", "productpage", "v1", "bookinfo-productpage", "productpage", 9080, "HTTP", []string{"productpage"}},
	{"details-v1", "details", "v1", "bookinfo-details", "details", 9080, "HTTP", []string{"details"}},
	{"reviews-v1", "reviews", "v1", "bookinfo-reviews", "reviews", 9080, "HTTP", []string{"reviews", "--version=v1"}},
	{"reviews-v2", "reviews", "v2", "bookinfo-reviews", "reviews", 9080, "HTTP", []string{"reviews", "--version=v2"}},
	{"reviews-v3", "reviews", "v3", "bookinfo-reviews", "reviews", 9080, "HTTP", []string{"reviews", "--version=v3"}},
	{"ratings-v1", "ratings", "v1", "bookinfo-ratings", "ratings", 9080, "HTTP", []string{"ratings"}},
	{"httpbin-v1", "httpbin", "v1", "httpbin", "httpbin", 8000, "HTTP", []string{"httpbin", "--version=v1"}},
	{"httpbin-v2", "httpbin", "v2", "httpbin", "httpbin", 8000, "HTTP", []string{"httpbin", "--version=v2"}},
	{"sleep", "sleep", "", "sleep", "sleep", 80, "HTTP", []string{"sleep"}},
	{"tcp-echo-v1", "tcp-echo", "v1", "tcp-echo", "tcp-echo", 9000, "TCP", []string{"tcp-echo", "--prefix=one"}},
	{"tcp-echo-v2", "tcp-echo", "v2", "tcp-echo", "tcp-echo", 9000, "TCP", []string{"tcp-echo", "--prefix=two"}},
}

// Workloads lays the demo's workloads out on addresses starting after base
// (base itself is pilot's): the ingress and egress gateways, then the
// samples. Every sample runs in namespace default with Istio's labels and
// service accounts.
func Workloads(base netip.Addr) []*Workload {
	addr := base
	next := func() string {
		addr = addr.Next()
		return addr.String()
	}
	out := []*Workload{
		gateway("istio-ingressgateway", "ingressgateway", next()),
		gateway("istio-egressgateway", "egressgateway", next()),
	}
	for _, s := range sampleSpecs {
		labels := map[string]string{"app": s.app}
		if s.version != "" {
			labels["version"] = s.version
		}
		w := &Workload{
			Name: s.name, Namespace: SampleNamespace, ServiceAccount: s.sa, Labels: labels,
			Address: next(), Service: s.service, Sample: slices.Clone(s.sample),
			Ports: []Port{{Name: portName(s.protocol), Number: s.port, Protocol: s.protocol, AppPort: s.port + AppPortOffset}},
		}
		w.Sample = append(w.Sample, "--addr="+w.Address+":"+strconv.Itoa(int(w.Ports[0].AppPort)))
		if path, ok := appMetricsPaths[s.app]; ok {
			w.AppMetrics = &AppMetrics{Port: w.Ports[0].AppPort, Path: path}
		}
		out = append(out, w)
	}
	return out
}

func gateway(name, istioLabel, address string) *Workload {
	return &Workload{
		Name: name, Namespace: SystemNamespace, ServiceAccount: name + "-service-account",
		Labels:  map[string]string{"app": name, "istio": istioLabel},
		Address: address, Gateway: true,
	}
}

func portName(protocol string) string {
	switch protocol {
	case "HTTP":
		return "http"
	case "TCP":
		return "tcp"
	}
	return fmt.Sprintf("port-%s", protocol)
}

// layoutNetns adapts the workloads to capture=iptables, as pods: each
// sample gets a network namespace and its app listens on its service
// port on every address of it (the sidecar reaches it on the address the
// client used, from 127.0.0.6); each service gets a VIP from VIPRange.
func layoutNetns(ws []*Workload, n *Network) {
	vips := map[string]string{}
	for _, w := range ws {
		if w.Gateway {
			continue
		}
		w.Netns = n.namespaceName(w)
		n.Namespaces = append(n.Namespaces, w.Netns)
		if _, ok := vips[w.Service]; !ok {
			vips[w.Service] = fmt.Sprintf("240.240.0.%d", len(vips)+1)
		}
		w.VIP = vips[w.Service]
		for i := range w.Ports {
			w.Ports[i].AppPort = w.Ports[i].Number
		}
		w.Sample[len(w.Sample)-1] = fmt.Sprintf("--addr=0.0.0.0:%d", w.Ports[0].AppPort)
		if w.AppMetrics != nil {
			w.AppMetrics.Port = w.Ports[0].AppPort
		}
	}
}
