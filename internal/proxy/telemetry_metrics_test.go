package proxy_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	xdstypev3 "github.com/cncf/xds/go/xds/type/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tcpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/lateenmesh/lateen/internal/proxy"
	"github.com/lateenmesh/lateen/internal/proxy/proxytest"
	"github.com/lateenmesh/lateen/internal/proxy/xdsclient"
	"github.com/lateenmesh/lateen/internal/wait"
)

// workload is one proxy of the telemetry tests with its own management
// server and node identity.
type workload struct {
	srv   *proxytest.Server
	p     *proxy.Proxy
	id    string
	stats string
	merge string
}

func startWorkload(t *testing.T, name, sa string, opts proxy.Options) *workload {
	t.Helper()
	srv := proxytest.NewServer(t)
	app, _, _ := strings.Cut(name, "-")
	opts.XDSAddress, opts.IP, opts.WorkloadName, opts.ServiceAccount = srv.Addr, "127.0.0.1", name, sa
	opts.Labels = map[string]string{"app": app, "version": "v1"}
	opts.AdminAddress, opts.ReadyAddress, opts.StatsAddress = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	if opts.MergedStatsAddress == "" {
		opts.MergedStatsAddress = "-"
	}
	opts.DrainTimeout = 2 * time.Second
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
	w := &workload{srv: srv, p: p,
		id: xdsclient.Node(xdsclient.NodeInfo{Type: "sidecar", IP: "127.0.0.1", WorkloadName: name, Namespace: "default"}).Id}
	w.stats, w.merge = p.MetricsAddrs()
	return w
}

// set publishes r and waits until the proxy ACKed every type it holds.
func (w *workload) set(t *testing.T, version string, r proxytest.Resources) {
	t.Helper()
	w.srv.Set(t, w.id, version, r)
	typeURLs := []string{resourcev3.ClusterType, resourcev3.ListenerType}
	if len(r.Routes) > 0 {
		typeURLs = append(typeURLs, resourcev3.RouteType)
	}
	if len(r.Endpoints) > 0 {
		typeURLs = append(typeURLs, resourcev3.EndpointType)
	}
	for _, typeURL := range typeURLs {
		w.srv.WaitRequest(t, typeURL+" "+version, func(req *discoveryv3.DiscoveryRequest) bool {
			if req.TypeUrl == typeURL && req.ErrorDetail != nil {
				t.Fatalf("NACK %s: %s", typeURL, req.ErrorDetail.GetMessage())
			}
			return req.TypeUrl == typeURL && req.VersionInfo == version
		})
	}
	<-w.p.Ready()
}

// scrape returns /stats/prometheus of addr.
func scrape(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/stats/prometheus")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("content type %q", ct)
	}
	return string(b)
}

// sample sums the series of name whose labels include want (nil: the
// metric has no series).
func sample(text, name string, want map[string]string) (float64, bool) {
	var sum float64
	found := false
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (len(rest) > 0 && rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		labels, value := parseSample(rest)
		if !matches(labels, want) {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err == nil {
			sum, found = sum+v, true
		}
	}
	return sum, found
}

func parseSample(rest string) (map[string]string, string) {
	labels := map[string]string{}
	if strings.HasPrefix(rest, "{") {
		end := strings.LastIndex(rest, "}")
		for _, kv := range splitLabels(rest[1:end]) {
			k, v, _ := strings.Cut(kv, "=")
			labels[k] = strings.Trim(v, `"`)
		}
		rest = rest[end+1:]
	}
	return labels, strings.TrimSpace(rest)
}

// splitLabels splits k="v",k="v" (values here hold no quotes or commas
// inside quotes other than plain text).
func splitLabels(s string) []string {
	var out []string
	inQuote, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			inQuote = !inQuote
		case ',':
			if !inQuote {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

func matches(labels, want map[string]string) bool {
	for k, v := range want {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// waitSample waits until the sum of name's series matching labels is n.
func waitSample(t *testing.T, addr, name string, labels map[string]string, n float64) {
	t.Helper()
	wait.For(t, 15*time.Second, fmt.Sprintf("%s%v = %v", name, labels, n), func() error {
		text := scrape(t, addr)
		if got, _ := sample(text, name, labels); got != n {
			return fmt.Errorf("got %v in\n%s", got, istioLines(text))
		}
		return nil
	})
}

func istioLines(text string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "istio_requests_total") || strings.HasPrefix(l, "istio_tcp_") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func typedStruct(t *testing.T, typeURL string, fields map[string]any) *anypb.Any {
	t.Helper()
	st, err := structpb.NewStruct(fields)
	if err != nil {
		t.Fatal(err)
	}
	return proxytest.Any(&xdstypev3.TypedStruct{TypeUrl: typeURL, Value: st})
}

var istioHeaders = []any{map[string]any{"istio_headers": map[string]any{}}}

// telemetryFilters are the HTTP filters istiod puts around the router.
func telemetryFilters(t *testing.T, inbound bool, stats map[string]any) []*hcmv3.HttpFilter {
	mx := map[string]any{"upstream_discovery": istioHeaders, "upstream_propagation": istioHeaders}
	if inbound {
		mx = map[string]any{"downstream_discovery": istioHeaders, "downstream_propagation": istioHeaders}
	}
	return []*hcmv3.HttpFilter{
		{Name: "istio.metadata_exchange", ConfigType: &hcmv3.HttpFilter_TypedConfig{
			TypedConfig: typedStruct(t, "type.googleapis.com/io.istio.http.peer_metadata.Config", mx)}},
		{Name: "istio.stats", ConfigType: &hcmv3.HttpFilter_TypedConfig{
			TypedConfig: typedStruct(t, "type.googleapis.com/stats.PluginConfig", stats)}},
		{Name: "envoy.filters.http.router", ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: proxytest.Any(&routerv3.Router{})}},
	}
}

func tcpTelemetryFilters(t *testing.T) []*listenerv3.Filter {
	return []*listenerv3.Filter{
		{Name: "istio.metadata_exchange", ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: typedStruct(t,
			"type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange", map[string]any{"protocol": "istio-peer-exchange"})}},
		{Name: "istio.stats", ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: typedStruct(t,
			"type.googleapis.com/stats.PluginConfig", map[string]any{"disable_host_header_fallback": true})}},
	}
}

func serviceMetadata(host string) *corev3.Metadata {
	st, _ := structpb.NewStruct(map[string]any{"services": []any{map[string]any{"host": host,
		"name": strings.Split(host, ".")[0], "namespace": "default"}}})
	return &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{"istio": st}}
}

// details is the server side: an inbound listener (mTLS when mtls, else
// plaintext) in front of app, HTTP on port and TCP on tcpPort.
func detailsSide(t *testing.T, w *workload, mtls bool, app, tcpApp string) (port, tcpPort uint32) {
	port, tcpPort = proxytest.FreePort(t), proxytest.FreePort(t)
	hcm := &hcmv3.HttpConnectionManager{StatPrefix: "inbound_127.0.0.1_9080",
		HttpFilters: telemetryFilters(t, true, map[string]any{"disable_host_header_fallback": true}),
		RouteSpecifier: &hcmv3.HttpConnectionManager_RouteConfig{RouteConfig: proxytest.RouteConfig("inbound|9080||",
			proxytest.VirtualHost("inbound", []string{"*"}, proxytest.PrefixRoute("/", "inbound|9080||")))}}
	tcpFilters := append(tcpTelemetryFilters(t), proxytest.NetworkFilter("envoy.filters.network.tcp_proxy",
		&tcpv3.TcpProxy{StatPrefix: "inbound|9000||", ClusterSpecifier: &tcpv3.TcpProxy_Cluster{Cluster: "inbound|9000||"}}))
	inbound := func(name string, port uint32, filters []*listenerv3.Filter, alpn []string) *listenerv3.Listener {
		fc := &listenerv3.FilterChain{Filters: filters}
		var lf []*listenerv3.ListenerFilter
		if mtls {
			fc.FilterChainMatch = &listenerv3.FilterChainMatch{TransportProtocol: "tls"}
			fc.TransportSocket = proxytest.DownstreamSocket(proxytest.IstioInbound(alpn))
			lf = []*listenerv3.ListenerFilter{proxytest.TLSInspector()}
		}
		return &listenerv3.Listener{Name: name, Address: proxytest.Listener("x", "127.0.0.1", port, &tcpv3.TcpProxy{}).Address,
			TrafficDirection: corev3.TrafficDirection_INBOUND, FilterChains: []*listenerv3.FilterChain{fc}, ListenerFilters: lf}
	}
	http, tcp := proxytest.StaticCluster("inbound|9080||", app), proxytest.StaticCluster("inbound|9000||", tcpApp)
	http.Metadata, tcp.Metadata = serviceMetadata("details.default.svc.cluster.local"), serviceMetadata("details.default.svc.cluster.local")
	w.set(t, "1", proxytest.Resources{
		Clusters: []types.Resource{http, tcp},
		Listeners: []types.Resource{
			inbound("inbound_9080", port, []*listenerv3.Filter{proxytest.NetworkFilter("envoy.filters.network.http_connection_manager", hcm)},
				proxytest.ALPNDownstream),
			inbound("inbound_9000", tcpPort, tcpFilters, append([]string{"istio-peer-exchange"}, proxytest.ALPNDownstream...)),
		},
	})
	return port, tcpPort
}

// productpageSide is the client side: an outbound HTTP listener routing
// to details (and to "empty", a cluster without endpoints, under /empty),
// and an outbound TCP listener to details' TCP port. It returns both
// listener addresses.
func productpageSide(t *testing.T, w *workload, mtls bool, port, tcpPort uint32, stats map[string]any) (string, string) {
	const httpCluster, tcpCluster = "outbound|9080||details.default.svc.cluster.local", "outbound|9000||details.default.svc.cluster.local"
	cluster := func(name string) *clusterv3.Cluster {
		c := proxytest.EDSCluster(name)
		c.Metadata = serviceMetadata("details.default.svc.cluster.local")
		if mtls {
			c.TransportSocket = proxytest.UpstreamSocket(proxytest.IstioMutual("outbound_.9080_._.details.default.svc.cluster.local",
				"spiffe://cluster.local/ns/default/sa/details"))
		}
		return c
	}
	withWorkload := func(cla *endpointv3.ClusterLoadAssignment) *endpointv3.ClusterLoadAssignment {
		st, _ := structpb.NewStruct(map[string]any{"workload": "details-v1"})
		cla.Endpoints[0].LbEndpoints[0].Metadata = &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{"istio": st}}
		return cla
	}
	httpPort, outTCPPort := proxytest.FreePort(t), proxytest.FreePort(t)
	hcm := proxytest.HCM("outbound_0.0.0.0_15001", "r")
	hcm.HttpFilters = telemetryFilters(t, false, stats)
	out := proxytest.Listener("outbound", "127.0.0.1", httpPort, hcm)
	out.TrafficDirection = corev3.TrafficDirection_OUTBOUND
	outTCP := &listenerv3.Listener{Name: "outbound_tcp", Address: proxytest.Listener("x", "127.0.0.1", outTCPPort, &tcpv3.TcpProxy{}).Address,
		TrafficDirection: corev3.TrafficDirection_OUTBOUND, FilterChains: []*listenerv3.FilterChain{{Filters: append(tcpTelemetryFilters(t),
			proxytest.NetworkFilter("envoy.filters.network.tcp_proxy", &tcpv3.TcpProxy{StatPrefix: tcpCluster,
				ClusterSpecifier: &tcpv3.TcpProxy_Cluster{Cluster: tcpCluster}}))}}}
	w.set(t, "1", proxytest.Resources{
		Clusters: []types.Resource{cluster(httpCluster), cluster(tcpCluster), proxytest.EDSCluster("empty")},
		Endpoints: []types.Resource{withWorkload(proxytest.CLA(httpCluster, fmt.Sprintf("127.0.0.1:%d", port))),
			withWorkload(proxytest.CLA(tcpCluster, fmt.Sprintf("127.0.0.1:%d", tcpPort))), proxytest.CLA("empty")},
		Listeners: []types.Resource{out, outTCP},
		Routes: []types.Resource{proxytest.RouteConfig("r", proxytest.VirtualHost("details", []string{"*"},
			proxytest.PrefixRoute("/empty", "empty"), proxytest.PrefixRoute("/", httpCluster)))},
	})
	return fmt.Sprintf("127.0.0.1:%d", httpPort), fmt.Sprintf("127.0.0.1:%d", outTCPPort)
}

// headersApp answers 200 with the request headers it got (and counts
// itself in app metrics on /metrics).
func headersApp(t *testing.T) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			_, _ = io.WriteString(w, "# TYPE app_hits_total counter\napp_hits_total 7\n")
			return
		}
		for k := range r.Header {
			w.Header().Add("X-Seen", k)
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(s.Close)
	return s
}

func TestIstioMetricsHTTPAndTCP(t *testing.T) {
	for _, mtls := range []bool{false, true} {
		t.Run(map[bool]string{false: "plaintext", true: "mutual TLS"}[mtls], func(t *testing.T) {
			testIstioMetrics(t, mtls)
		})
	}
}

func testIstioMetrics(t *testing.T, mtls bool) {
	var ppOpts, dOpts proxy.Options
	policy, principal := "none", "unknown"
	if mtls {
		m := newTestMesh(t)
		ppOpts.Identity, dOpts.Identity = m.identity(t, "productpage"), m.identity(t, "details")
		policy, principal = "mutual_tls", "spiffe://cluster.local/ns/default/sa/productpage"
	}
	app := headersApp(t)
	d := startWorkload(t, "details-v1", "details", dOpts)
	port, tcpPort := detailsSide(t, d, mtls, strings.TrimPrefix(app.URL, "http://"), echoTCP(t))
	pp := startWorkload(t, "productpage-v1", "productpage", ppOpts)
	out, outTCP := productpageSide(t, pp, mtls, port, tcpPort, map[string]any{
		"metrics": []any{map[string]any{"name": "requests_total", "dimensions": map[string]any{"request_path": "request.url_path"}}}})

	resp, err := http.Get("http://" + out + "/details/0")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, h := range resp.Header.Values("X-Seen") {
		if strings.HasPrefix(h, "X-Envoy-Peer-Metadata") {
			t.Errorf("the app saw %s", h)
		}
	}
	if v := resp.Header.Get("X-Envoy-Peer-Metadata"); v != "" {
		t.Error("the client got the server's peer metadata")
	}

	common := map[string]string{"source_workload": "productpage-v1", "source_app": "productpage",
		"destination_workload": "details-v1", "destination_app": "details", "destination_version": "v1",
		"destination_service": "details.default.svc.cluster.local", "destination_service_name": "details",
		"destination_workload_namespace": "default", "source_workload_namespace": "default",
		"response_code": "200", "request_protocol": "http", "response_flags": "-"}
	server := with(common, "reporter", "destination", "connection_security_policy", policy, "source_principal", principal)
	waitSample(t, d.stats, "istio_requests_total", server, 1)
	client := with(common, "reporter", "source", "connection_security_policy", "unknown", "request_path", "/details/0")
	if mtls {
		// The client side reads both identities from its upstream
		// handshake.
		client = with(client, "source_principal", principal,
			"destination_principal", "spiffe://cluster.local/ns/default/sa/details")
	}
	waitSample(t, pp.stats, "istio_requests_total", client, 1)
	text := scrape(t, pp.stats)
	if n, _ := sample(text, "istio_request_duration_milliseconds_count", with(common, "reporter", "source")); n != 1 {
		t.Errorf("duration count %v", n)
	}
	if n, _ := sample(text, "istio_request_bytes_bucket", with(common, "reporter", "source", "le", "+Inf")); n != 1 {
		t.Errorf("request bytes +Inf bucket %v", n)
	}

	// A local reply: no healthy upstream.
	resp, err = http.Get("http://" + out + "/empty")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitSample(t, pp.stats, "istio_requests_total", map[string]string{"reporter": "source", "response_code": "503",
		"response_flags": "UH", "destination_workload": "unknown"}, 1)

	// TCP: one echo session, counted with its bytes both ways.
	if got, err := dialEcho(outTCP, "hello tcp"); err != nil || got != "hello tcp" {
		t.Fatalf("echo: %q, %v", got, err)
	}
	tcpCommon := map[string]string{"request_protocol": "tcp", "destination_service": "details.default.svc.cluster.local",
		"destination_workload": "details-v1"}
	// The server knows its client through the in-band exchange, over mTLS
	// only; the client falls back to the endpoint's metadata.
	source := map[bool]string{false: "unknown", true: "productpage-v1"}[mtls]
	tcpServer := with(tcpCommon, "reporter", "destination", "connection_security_policy", policy, "source_workload", source)
	tcpClient := with(tcpCommon, "reporter", "source", "source_workload", "productpage-v1")
	if mtls {
		tcpClient = with(tcpClient, "source_principal", principal,
			"destination_principal", "spiffe://cluster.local/ns/default/sa/details")
	}
	for _, c := range []struct {
		addr   string
		labels map[string]string
	}{{d.stats, tcpServer}, {pp.stats, tcpClient}} {
		waitSample(t, c.addr, "istio_tcp_connections_closed_total", c.labels, 1)
		text := scrape(t, c.addr)
		for name, want := range map[string]float64{"istio_tcp_connections_opened_total": 1,
			"istio_tcp_sent_bytes_total": 9, "istio_tcp_received_bytes_total": 9} {
			if got, _ := sample(text, name, c.labels); got != want {
				t.Errorf("%s %s%v = %v, want %v", c.addr, name, c.labels, got, want)
			}
		}
	}
}

func with(m map[string]string, kv ...string) map[string]string {
	out := make(map[string]string, len(m)+len(kv)/2)
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func TestMergedMetricsAndHealth(t *testing.T) {
	app := headersApp(t)
	w := startWorkload(t, "details-v1", "details", proxy.Options{MergedStatsAddress: "127.0.0.1:0",
		AppMetricsURL: app.URL + "/metrics"})
	detailsSide(t, w, false, strings.TrimPrefix(app.URL, "http://"), echoTCP(t))
	merged := scrape(t, w.merge)
	for name, want := range map[string]float64{"app_hits_total": 7, "envoy_server_live": 1, "envoy_server_state": 0,
		"envoy_control_plane_connected_state": 1, "envoy_cluster_manager_cds_update_success": 1,
		"envoy_listener_manager_lds_update_success": 1, "istio_agent_scrapes_total": 1} {
		if got, ok := sample(merged, name, nil); !ok || got != want {
			t.Errorf("merged %s = %v (found %v), want %v", name, got, ok, want)
		}
	}
	if _, ok := sample(merged, "istio_build", map[string]string{"component": "proxy"}); !ok {
		t.Error("no istio_build")
	}
	own := scrape(t, w.stats)
	if _, ok := sample(own, "app_hits_total", nil); ok {
		t.Error(":15090 has the app's metrics")
	}
	if _, ok := sample(own, "envoy_cluster_upstream_cx_total", nil); ok {
		t.Error(":15090 exports per-cluster stats without an inclusion prefix")
	}
}
