package translate_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"

	"github.com/lateenmesh/lateen/internal/config"
	"github.com/lateenmesh/lateen/internal/config/validate"
	"github.com/lateenmesh/lateen/internal/mesh"
	"github.com/lateenmesh/lateen/internal/proxy"
	"github.com/lateenmesh/lateen/internal/proxy/proxytest"
	"github.com/lateenmesh/lateen/internal/proxy/xdsclient"
	"github.com/lateenmesh/lateen/internal/translate"
)

// meshProxy is a real lateen-proxy fed by a fake ADS server with the
// translator's output for one proxy: configuration YAML in, requests
// through the proxy out. Behaviour tests of the translator share it.
type meshProxy struct {
	srv        *proxytest.Server
	p          *proxy.Proxy
	node       *mesh.Proxy
	nodeID     string
	listenPort uint32 // virtualOutbound, the HTTP proxy in capture NONE
}

// startMeshProxy runs a proxy for workload "client" on 127.0.0.1.
func startMeshProxy(t *testing.T, typ mesh.NodeType, ns string, labels map[string]string) *meshProxy {
	t.Helper()
	m := &meshProxy{srv: proxytest.NewServer(t), listenPort: proxytest.FreePort(t)}
	info := xdsclient.NodeInfo{Type: string(typ), IP: "127.0.0.1", WorkloadName: "client", Namespace: ns, Labels: labels, InterceptionMode: mesh.InterceptNone}
	m.nodeID = xdsclient.Node(info).Id
	m.node = &mesh.Proxy{ID: m.nodeID, Type: typ, IPs: []string{"127.0.0.1"}, Namespace: ns, WorkloadName: "client",
		Labels: labels, InterceptionMode: mesh.InterceptNone}
	p, err := proxy.New(proxy.Options{XDSAddress: m.srv.Addr, NodeType: string(typ), IP: "127.0.0.1", Namespace: ns,
		WorkloadName: "client", Labels: labels, AdminAddress: "127.0.0.1:0", ReadyAddress: "127.0.0.1:0",
		StatsAddress: "127.0.0.1:0", MergedStatsAddress: "-", DrainTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("proxy Run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("proxy Run did not return")
		}
	})
	m.p = p
	return m
}

// httpProxyAddr is where the proxy serves as the app's HTTP proxy.
func (m *meshProxy) httpProxyAddr() string { return fmt.Sprintf("127.0.0.1:%d", m.listenPort) }

// apply validates and translates docs for the proxy, publishes the result
// as version, and waits until the proxy acknowledged every type.
func (m *meshProxy) apply(t *testing.T, version string, docs ...string) *mesh.ProxyView {
	t.Helper()
	objs, rejs := config.Decode(config.Origin{File: "test.yaml"}, []byte(strings.Join(docs, "\n---\n")))
	for _, r := range rejs {
		t.Fatalf("decode: %v", r)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, o := range objs {
		if err := validate.Object(o); err != nil {
			t.Fatalf("%s: %v", o.Key(), err)
		}
		o.Meta.CreationTimestamp = base.Add(time.Duration(i) * time.Second)
	}
	meshJSON := []byte(fmt.Sprintf(`{"proxyListenPort": %d}`, m.listenPort))
	view := mesh.Build(config.NewSet(1, objs, nil), mesh.Options{MeshConfig: meshJSON}).ViewFor(m.node)
	m.srv.Set(t, m.nodeID, version, resources(translate.Translate(view)))
	for _, typeURL := range []string{
		"type.googleapis.com/envoy.config.cluster.v3.Cluster",
		"type.googleapis.com/envoy.config.listener.v3.Listener",
		"type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
		"type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
	} {
		m.srv.WaitRequest(t, typeURL+" "+version, func(req *discoveryv3.DiscoveryRequest) bool {
			if req.TypeUrl == typeURL && req.ErrorDetail != nil {
				t.Fatalf("NACK %s: %s", typeURL, req.ErrorDetail.Message)
			}
			return req.TypeUrl == typeURL && req.VersionInfo == version
		})
	}
	<-m.p.Ready()
	return view
}

func resources(res *translate.Resources) proxytest.Resources {
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
	return r
}
