package proxy_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/lateenmesh/lateen/internal/proxy/proxytest"
)

func TestConfigSwapUnderLoadLosesNoRequestAndKeepsSocket(t *testing.T) {
	e := startProxy(t)
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	slow := newHandlerBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			once.Do(func() { close(started) })
			<-release
		}
		fmt.Fprint(w, "old")
	}))
	fresh := newBackend(t, "new", false)
	port := proxytest.FreePort(t)
	res := func(target string) proxytest.Resources {
		return proxytest.Resources{
			Clusters:  []types.Resource{proxytest.EDSCluster("old"), proxytest.EDSCluster("new")},
			Endpoints: []types.Resource{proxytest.CLA("old", slow), proxytest.CLA("new", fresh.hostPort())},
			Listeners: []types.Resource{proxytest.HTTPListener("l", "0.0.0.0", port, "r")},
			Routes:    []types.Resource{proxytest.RouteConfig("r", proxytest.VirtualHost("vh", []string{"*"}, proxytest.PrefixRoute("/", target)))},
		}
	}
	e.apply(t, "v1", res("old"))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	keepAlive := client()
	if r := get(t, keepAlive, addr, "h", "/"); r.body != "old" {
		t.Fatalf("before swap: %q", r.body)
	}
	inflight := make(chan result, 1)
	go func() { inflight <- get(t, client(), addr, "h", "/slow") }()
	<-started

	e.apply(t, "v2", res("new"))
	// The kept-alive connection (same socket, same connection) sees the new routes.
	if r := get(t, keepAlive, addr, "h", "/"); r.body != "new" {
		t.Errorf("after swap: %q, want new", r.body)
	}
	close(release)
	if r := <-inflight; r.code != 200 || r.body != "old" {
		t.Errorf("in-flight request: %d %q, want 200 old", r.code, r.body)
	}
	if got := e.stat(fmt.Sprintf("listener.127.0.0.1:%d.downstream_cx_total", port)); got != 2 {
		t.Errorf("downstream_cx_total = %d, want 2 (the socket was kept, one keep-alive and one in-flight connection)", got)
	}
}

// newHandlerBackend serves h on 127.0.0.1 and returns its host:port.
func newHandlerBackend(t *testing.T, h http.Handler) string {
	ln := listen(t)
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func TestRuntimeErrorIsNACKedAndOldConfigKeepsServing(t *testing.T) {
	e := startProxy(t)
	b := newBackend(t, "b", false)
	port := proxytest.FreePort(t)
	busy := listen(t) // an address the proxy cannot bind
	good := proxytest.Resources{
		Clusters:  []types.Resource{proxytest.EDSCluster("c")},
		Endpoints: []types.Resource{proxytest.CLA("c", b.hostPort())},
		Listeners: []types.Resource{proxytest.HTTPListener("l", "0.0.0.0", port, "r")},
		Routes:    []types.Resource{proxytest.RouteConfig("r", proxytest.VirtualHost("vh", []string{"*"}, proxytest.PrefixRoute("/", "c")))},
	}
	e.apply(t, "v1", good)
	bad := good
	busyPort := uint32(busy.Addr().(*net.TCPAddr).Port)
	bad.Listeners = append([]types.Resource{}, good.Listeners...)
	bad.Listeners = append(bad.Listeners, proxytest.HTTPListener("busy", "127.0.0.1", busyPort, "r"))
	e.srv.Set(t, nodeID, "v2", bad)
	nack := e.srv.WaitRequest(t, "LDS NACK", func(r *discoveryv3.DiscoveryRequest) bool {
		return r.TypeUrl == "type.googleapis.com/envoy.config.listener.v3.Listener" && r.ErrorDetail != nil
	})
	if msg := nack.ErrorDetail.GetMessage(); !strings.HasPrefix(msg, `listener "busy": address: listen tcp `) || nack.VersionInfo != "v1" {
		t.Errorf("NACK %q version %q", msg, nack.VersionInfo)
	}
	if r := get(t, client(), fmt.Sprintf("127.0.0.1:%d", port), "h", "/"); r.body != "b" {
		t.Errorf("old config stopped serving: %d %q", r.code, r.body)
	}
}

func TestAdminConfigDumpReadinessAndStats(t *testing.T) {
	e := startProxy(t)
	for _, u := range []string{"http://" + e.ready + "/healthz/ready", "http://" + e.admin + "/ready"} {
		if r := do(t, client(), mustRequest(t, "GET", u, nil)); r.code != 503 {
			t.Errorf("%s before config: %d, want 503", u, r.code)
		}
	}
	b := newBackend(t, "b", false)
	port := proxytest.FreePort(t)
	e.apply(t, "v1", proxytest.Resources{
		Clusters:  []types.Resource{proxytest.EDSCluster("outbound|9080||reviews.default.svc.cluster.local"), proxytest.StaticCluster("inbound|9080||", b.hostPort())},
		Endpoints: []types.Resource{proxytest.CLA("outbound|9080||reviews.default.svc.cluster.local", b.hostPort())},
		Listeners: []types.Resource{proxytest.HTTPListener("l", "0.0.0.0", port, "r")},
		Routes:    []types.Resource{proxytest.RouteConfig("r", proxytest.VirtualHost("vh", []string{"*"}, proxytest.PrefixRoute("/", "inbound|9080||")))},
	})
	for _, u := range []string{"http://" + e.ready + "/healthz/ready", "http://" + e.admin + "/ready"} {
		if r := do(t, client(), mustRequest(t, "GET", u, nil)); r.code != 200 || strings.TrimSpace(r.body) != "LIVE" {
			t.Errorf("%s after config: %d %q", u, r.code, r.body)
		}
	}
	r := do(t, client(), mustRequest(t, "GET", "http://"+e.admin+"/config_dump", nil))
	var dump adminv3.ConfigDump
	if err := protojson.Unmarshal([]byte(r.body), &dump); err != nil {
		t.Fatalf("config_dump: %v\n%s", err, r.body)
	}
	var clusters adminv3.ClustersConfigDump
	if err := dump.Configs[0].UnmarshalTo(&clusters); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, dc := range clusters.DynamicActiveClusters {
		var c clusterv3.Cluster
		if err := dc.Cluster.UnmarshalTo(&c); err != nil {
			t.Fatal(err)
		}
		names = append(names, c.Name)
		if dc.VersionInfo != "v1" {
			t.Errorf("cluster %s version %q", c.Name, dc.VersionInfo)
		}
	}
	if want := "inbound|9080||,outbound|9080||reviews.default.svc.cluster.local"; strings.Join(names, ",") != want {
		t.Errorf("active clusters %v, want %s", names, want)
	}
	stats := do(t, client(), mustRequest(t, "GET", "http://"+e.admin+"/stats", nil)).body
	if !strings.Contains(stats, "server.live: 1\n") {
		t.Errorf("/stats lacks server.live:\n%s", stats)
	}
	clustersText := do(t, client(), mustRequest(t, "GET", "http://"+e.admin+"/clusters", nil)).body
	if !strings.Contains(clustersText, "outbound|9080||reviews.default.svc.cluster.local::"+b.hostPort()+"::health_flags::healthy") {
		t.Errorf("/clusters:\n%s", clustersText)
	}
	post, _ := http.Post("http://"+e.admin+"/logging?level=debug", "", nil)
	body, _ := io.ReadAll(post.Body)
	post.Body.Close()
	if !strings.Contains(string(body), "debug") {
		t.Errorf("/logging: %s", body)
	}
}
