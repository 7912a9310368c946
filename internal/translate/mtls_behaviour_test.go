package translate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"

	"github.com/lateenmesh/lateen/internal/ca/catest"
	"github.com/lateenmesh/lateen/internal/config"
	"github.com/lateenmesh/lateen/internal/config/validate"
	"github.com/lateenmesh/lateen/internal/mesh"
	"github.com/lateenmesh/lateen/internal/proxy"
	"github.com/lateenmesh/lateen/internal/proxy/proxytest"
	"github.com/lateenmesh/lateen/internal/proxy/xdsclient"
	"github.com/lateenmesh/lateen/internal/translate"
	"github.com/lateenmesh/lateen/internal/wait"
)

// meshNode is a real proxy of one workload with an identity, configured
// with the translator's output for its own view.
type meshNode struct {
	srv  *proxytest.Server
	node *mesh.Proxy
	id   string
}

func startNode(t *testing.T, ip, name, sa string, labels map[string]string, id *catest.Identity) *meshNode {
	t.Helper()
	n := &meshNode{srv: proxytest.NewServer(t)}
	info := xdsclient.NodeInfo{Type: "sidecar", IP: ip, WorkloadName: name, Namespace: "default", ServiceAccount: sa,
		Labels: labels, InterceptionMode: mesh.InterceptNone}
	n.id = xdsclient.Node(info).Id
	n.node = &mesh.Proxy{ID: n.id, Type: mesh.Sidecar, IPs: []string{ip}, Namespace: "default", WorkloadName: name,
		ServiceAccount: sa, Labels: labels, InterceptionMode: mesh.InterceptNone}
	p, err := proxy.New(proxy.Options{XDSAddress: n.srv.Addr, IP: ip, WorkloadName: name, ServiceAccount: sa, Labels: labels,
		AdminAddress: ip + ":0", ReadyAddress: ip + ":0", StatsAddress: ip + ":0", MergedStatsAddress: "-",
		DrainTimeout: time.Second, Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("proxy Run: %v", err)
		}
	})
	return n
}

// publish translates the mesh for the node and waits for its ACKs.
func (n *meshNode) publish(t *testing.T, snap *mesh.Snapshot, version string) {
	t.Helper()
	res := translate.Translate(snap.ViewFor(n.node))
	var r proxytest.Resources
	for _, l := range res.Listeners {
		r.Listeners = append(r.Listeners, types.Resource(l))
	}
	for _, x := range res.Routes {
		r.Routes = append(r.Routes, types.Resource(x))
	}
	for _, c := range res.Clusters {
		r.Clusters = append(r.Clusters, types.Resource(c))
	}
	for _, e := range res.Endpoints {
		r.Endpoints = append(r.Endpoints, types.Resource(e))
	}
	n.srv.Set(t, n.id, version, r)
	for _, typeURL := range []string{"type.googleapis.com/envoy.config.cluster.v3.Cluster", "type.googleapis.com/envoy.config.listener.v3.Listener"} {
		n.srv.WaitRequest(t, typeURL+" "+version, func(req *discoveryv3.DiscoveryRequest) bool {
			if req.TypeUrl == typeURL && req.ErrorDetail != nil {
				t.Fatalf("NACK %s: %s", typeURL, req.ErrorDetail.Message)
			}
			return req.TypeUrl == typeURL && req.VersionInfo == version
		})
	}
}

func freePortOn(t *testing.T, ip string) int {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Skipf("cannot bind %s: %v", ip, err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestIstioYAMLGivesMutualTLS: Istio YAML in, two real sidecars out.
// With a mesh-wide STRICT PeerAuthentication, sleep's request to httpbin
// goes over mTLS (auto mTLS: httpbin's endpoint has a sidecar), httpbin's
// app sees sleep's identity in x-forwarded-client-cert, and a plaintext
// client is refused at httpbin's port.
func TestIstioYAMLGivesMutualTLS(t *testing.T) {
	c := catest.NewCA(t)
	const sleepIP, httpbinIP = "127.0.0.1", "127.0.0.2"
	port, listenPort := freePortOn(t, httpbinIP), freePortOn(t, sleepIP)
	var seen http.Header
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Clone()
		_ = json.NewEncoder(w).Encode(r.Header)
	}))
	defer app.Close()
	appURL, _ := url.Parse(app.URL)
	yaml := fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: httpbin, namespace: default}
spec:
  hosts: [httpbin.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - {name: http, number: %[1]d, protocol: HTTP}
  endpoints:
  - {address: %[2]s, labels: {app: httpbin, security.istio.io/tlsMode: istio}, serviceAccount: httpbin}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: httpbin, namespace: default}
spec:
  workloadSelector:
    labels: {app: httpbin}
  ingress:
  - port: {number: %[1]d, name: http, protocol: HTTP}
    defaultEndpoint: %[3]s
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec:
  mtls: {mode: STRICT}
`, port, httpbinIP, appURL.Host)
	objs, rejs := config.Decode(config.Origin{File: "test.yaml"}, []byte(yaml))
	if len(rejs) > 0 {
		t.Fatal(rejs[0])
	}
	for _, o := range objs {
		if err := validate.Object(o); err != nil {
			t.Fatal(err)
		}
	}
	snap := mesh.Build(config.NewSet(1, objs, nil), mesh.Options{MeshConfig: []byte(fmt.Sprintf(`{"proxyListenPort": %d}`, listenPort))})
	sleep := startNode(t, sleepIP, "sleep", "sleep", map[string]string{"app": "sleep"}, catest.Issue(t, c, "sleep"))
	httpbin := startNode(t, httpbinIP, "httpbin", "httpbin", map[string]string{"app": "httpbin"}, catest.Issue(t, c, "httpbin"))
	httpbin.publish(t, snap, "1")
	sleep.publish(t, snap, "1")

	proxyURL := &url.URL{Scheme: "http", Host: fmt.Sprintf("%s:%d", sleepIP, listenPort)}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL)}}
	wait.For(t, 10*time.Second, "sleep → httpbin over mTLS", func() error {
		resp, err := client.Get(fmt.Sprintf("http://httpbin.default.svc.cluster.local:%d/", port))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
	xfcc := seen.Get("X-Forwarded-Client-Cert")
	if !strings.HasPrefix(xfcc, "By=spiffe://cluster.local/ns/default/sa/httpbin;") ||
		!strings.HasSuffix(xfcc, "URI=spiffe://cluster.local/ns/default/sa/sleep") {
		t.Errorf("x-forwarded-client-cert %q", xfcc)
	}
	plain := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil}}
	if resp, err := plain.Get(fmt.Sprintf("http://%s:%d/", httpbinIP, port)); err == nil {
		resp.Body.Close()
		t.Errorf("plaintext request to a STRICT port answered %d", resp.StatusCode)
	}
}
