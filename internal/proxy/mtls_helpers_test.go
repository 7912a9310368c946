package proxy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tcpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/lateenmesh/lateen/internal/ca"
	"github.com/lateenmesh/lateen/internal/ca/catest"
	"github.com/lateenmesh/lateen/internal/proxy"
	"github.com/lateenmesh/lateen/internal/proxy/mtls"
	"github.com/lateenmesh/lateen/internal/proxy/proxytest"
)

// testMesh is a CA issuing workload certificates directly (no agent).
type testMesh struct{ ca *ca.CA }

func newTestMesh(t testing.TB) *testMesh {
	t.Helper()
	return &testMesh{ca: catest.NewCA(t)}
}

// identity issues a certificate for default/<sa>.
func (m *testMesh) identity(t testing.TB, sa string) *catest.Identity {
	t.Helper()
	return catest.Issue(t, m.ca, sa)
}

var _ mtls.Identity = (*catest.Identity)(nil)

// startNode runs a proxy with its own management server; id may be nil.
func startNode(t testing.TB, opts proxy.Options) *env {
	t.Helper()
	srv := proxytest.NewServer(t)
	if os.Getenv("PROXY_TEST_LOG") != "" {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	opts.XDSAddress, opts.IP, opts.WorkloadName = srv.Addr, "127.0.0.1", "test"
	opts.AdminAddress, opts.ReadyAddress, opts.DrainTimeout = "127.0.0.1:0", "127.0.0.1:0", 2*time.Second
	opts.StatsAddress, opts.MergedStatsAddress = "127.0.0.1:0", "-"
	p, err := proxy.New(opts)
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
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return")
		}
	})
	e := &env{srv: srv, p: p}
	if e.admin, err = p.AdminAddr(ctx); err != nil {
		t.Fatal(err)
	}
	return e
}

// echoApp answers with the request headers it got, as JSON.
func echoApp(t testing.TB, name string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend", name)
		_ = json.NewEncoder(w).Encode(r.Header)
	}))
	t.Cleanup(s.Close)
	return s
}

// Inbound chains of a sidecar port, as the translator builds them.
type inboundMode int

const (
	strictMode inboundMode = iota
	permissiveMode
	plaintextMode
)

func inboundHCM(port uint32) *hcmv3.HttpConnectionManager {
	h := filterHCM("inbound_127.0.0.1_"+strconv.Itoa(int(port)), "", false)
	h.ForwardClientCertDetails = hcmv3.HttpConnectionManager_APPEND_FORWARD
	h.SetCurrentClientCertDetails = &hcmv3.HttpConnectionManager_SetCurrentClientCertDetails{
		Subject: wrapperspb.Bool(true), Uri: true, Dns: true}
	h.RouteSpecifier = &hcmv3.HttpConnectionManager_RouteConfig{RouteConfig: proxytest.RouteConfig("inbound",
		proxytest.VirtualHost("inbound", []string{"*"}, proxytest.PrefixRoute("/", "inbound")))}
	return h
}

// inboundListener is a sidecar's HTTP (or, with tcp, TCP) inbound
// listener on port, its chains per mode, forwarding to cluster "inbound".
func inboundListener(port uint32, mode inboundMode, tcp bool) *listenerv3.Listener {
	filter := proxytest.NetworkFilter("envoy.filters.network.http_connection_manager", inboundHCM(port))
	alpn := proxytest.ALPNDownstream
	if tcp {
		filter = proxytest.NetworkFilter("envoy.filters.network.tcp_proxy", &tcpv3.TcpProxy{StatPrefix: "inbound",
			ClusterSpecifier: &tcpv3.TcpProxy_Cluster{Cluster: "inbound"}})
		alpn = append([]string{"istio-peer-exchange"}, proxytest.ALPNDownstream...)
	}
	m := func(transport string, alpn ...string) *listenerv3.FilterChainMatch {
		return &listenerv3.FilterChainMatch{DestinationPort: wrapperspb.UInt32(port), TransportProtocol: transport,
			ApplicationProtocols: alpn}
	}
	var chains []*listenerv3.FilterChain
	switch mode {
	case strictMode:
		chains = append(chains, proxytest.Chain(m("tls"), filter, proxytest.IstioInbound(alpn)))
	case permissiveMode:
		chains = append(chains, proxytest.Chain(m("tls", proxytest.ALPNAllIstioMTLS...), filter, proxytest.IstioInbound(alpn)),
			proxytest.Chain(m("raw_buffer"), filter, nil))
	case plaintextMode:
		chains = append(chains, proxytest.Chain(m("raw_buffer"), filter, nil))
	}
	return &listenerv3.Listener{Name: "inbound", Address: proxytest.Listener("x", "127.0.0.1", port, &tcpv3.TcpProxy{}).Address,
		FilterChains: chains, ListenerFilters: []*listenerv3.ListenerFilter{proxytest.TLSInspector()}}
}

// serverSide publishes a server sidecar's inbound listener on a free port
// in front of app and returns the port.
func serverSide(t testing.TB, e *env, version string, mode inboundMode, tcp bool, app string) uint32 {
	t.Helper()
	port := proxytest.FreePort(t)
	e.applyTB(t, version, proxytest.Resources{
		Clusters:  []types.Resource{proxytest.StaticCluster("inbound", app)},
		Listeners: []types.Resource{inboundListener(port, mode, tcp)},
	})
	return port
}

// clientSide publishes a client sidecar's outbound HTTP listener routing
// everything to cluster "out" (EDS, endpoints cla, tls applied by tweak)
// and returns the listener's address.
func clientSide(t testing.TB, e *env, version string, cla *endpointv3.ClusterLoadAssignment, tweak func(*clusterv3.Cluster)) string {
	t.Helper()
	port := proxytest.FreePort(t)
	cl := proxytest.EDSCluster("out")
	tweak(cl)
	cla.ClusterName = "out"
	e.applyTB(t, version, proxytest.Resources{
		Clusters:  []types.Resource{cl},
		Endpoints: []types.Resource{cla},
		Listeners: []types.Resource{proxytest.Listener("outbound", "127.0.0.1", port, filterHCM("outbound", "r", false))},
		Routes: []types.Resource{proxytest.RouteConfig("r", proxytest.VirtualHost("vh", []string{"*"},
			proxytest.PrefixRoute("/", "out")))},
	})
	return fmt.Sprintf("127.0.0.1:%d", port)
}

func withTLS(ctx *tlsv3.UpstreamTlsContext) func(*clusterv3.Cluster) {
	return func(c *clusterv3.Cluster) { c.TransportSocket = proxytest.UpstreamSocket(ctx) }
}

const (
	sleepID   = "spiffe://cluster.local/ns/default/sa/sleep"
	httpbinID = "spiffe://cluster.local/ns/default/sa/httpbin"
	sni       = "outbound_.8000_._.httpbin.default.svc.cluster.local"
)

// echoed decodes an echoApp response's headers.
func echoed(t testing.TB, r result) http.Header {
	t.Helper()
	var h http.Header
	if err := json.Unmarshal([]byte(r.body), &h); err != nil {
		t.Fatalf("response %d %q: %v", r.code, r.body, err)
	}
	return h
}

// plainGet sends one plaintext request on a fresh connection; it reports
// an error when the server closes the connection instead of answering.
func plainGet(addr string, hdr ...string) (int, http.Header, error) {
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var h http.Header
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &h)
	return resp.StatusCode, h, nil
}

// echoTCP is a TCP echo server.
func echoTCP(t *testing.T) string {
	t.Helper()
	ln := listen(t)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

func dialEcho(addr, msg string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, msg); err != nil {
		return "", err
	}
	buf := make([]byte, len(msg))
	_, err = io.ReadFull(c, buf)
	return string(buf), err
}

// applyTB is env.apply for tests and benchmarks: it publishes a snapshot
// and waits until the proxy ACKed it on every type.
func (e *env) applyTB(t testing.TB, version string, r proxytest.Resources) {
	t.Helper()
	e.srv.Set(t, nodeID, version, r)
	types := []string{resourcev3.ClusterType, resourcev3.ListenerType}
	if len(r.Routes) > 0 {
		types = append(types, resourcev3.RouteType)
	}
	if len(r.Endpoints) > 0 {
		types = append(types, resourcev3.EndpointType)
	}
	for _, typeURL := range types {
		e.srv.WaitRequest(t, typeURL+" "+version, func(req *discoveryv3.DiscoveryRequest) bool {
			return req.TypeUrl == typeURL && req.VersionInfo == version && req.ErrorDetail == nil
		})
	}
	<-e.p.Ready()
}
