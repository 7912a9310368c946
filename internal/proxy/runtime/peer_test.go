package runtime_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	tcpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/lateenmesh/lateen/internal/ca/catest"
	proxyhttp "github.com/lateenmesh/lateen/internal/proxy/http"
	"github.com/lateenmesh/lateen/internal/proxy/listener"
	"github.com/lateenmesh/lateen/internal/proxy/mtls"
	"github.com/lateenmesh/lateen/internal/proxy/proxytest"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/runtime"
	"github.com/lateenmesh/lateen/internal/proxy/stats"
	"github.com/lateenmesh/lateen/internal/proxy/tcp"
	"github.com/lateenmesh/lateen/internal/proxy/xdsclient"
	"github.com/lateenmesh/lateen/internal/wait"
)

// recorded keeps what observers saw of the downstream peer.
type recorded struct {
	mu          sync.Mutex
	http, tcpPr *mtls.Peer
}

type httpObserver struct{ r *recorded }

func (o httpObserver) Begin(_ *http.Request, info *proxyhttp.Info) func() {
	o.r.mu.Lock()
	o.r.http = info.Peer
	o.r.mu.Unlock()
	return nil
}

type tcpObserver struct{ r *recorded }

func (o tcpObserver) Begin(info *tcp.ConnInfo) func() {
	o.r.mu.Lock()
	o.r.tcpPr = info.Peer
	o.r.mu.Unlock()
	return nil
}

// TestPeerIdentityReachesObservers: the client's SPIFFE identity of an
// mTLS connection is in the request's Info and the TCP connection's
// ConnInfo, for authorization and telemetry.
func TestPeerIdentityReachesObservers(t *testing.T) {
	c := catest.NewCA(t)
	server, client := catest.Issue(t, c, "httpbin"), catest.Issue(t, c, "sleep")
	rec := &recorded{}
	filters, tcpFilters := proxyhttp.NewFilters(), tcp.NewFilters()
	filters.RegisterObserver("test", func(*resource.HTTPConnectionManager, proxyhttp.BuildContext) (proxyhttp.Observer, error) {
		return httpObserver{rec}, nil
	})
	tcpFilters.RegisterObserver("test", func(*resource.TCPProxy, tcp.BuildContext) (tcp.Observer, error) {
		return tcpObserver{rec}, nil
	})
	st := stats.New()
	lm := listener.NewManager(listener.Options{Stats: st})
	hs := proxyhttp.NewServer(proxyhttp.ServerOptions{})
	rt, err := runtime.New(runtime.Options{Stats: st, Listeners: lm, HTTP: hs, Filters: filters, TCPFilters: tcpFilters,
		TLS: mtls.NewStore(mtls.Options{Identity: server})})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, run := range []func(context.Context) error{lm.Run, hs.Serve} {
		wg.Add(1)
		go func() { defer wg.Done(); _ = run(ctx) }()
	}
	defer func() { cancel(); wg.Wait(); rt.Close() }()

	srv := proxytest.NewServer(t)
	node := xdsclient.Node(xdsclient.NodeInfo{Type: "sidecar", IP: "127.0.0.1", WorkloadName: "httpbin", Namespace: "default"})
	xc, err := xdsclient.New(xdsclient.Options{Address: srv.Addr, Node: node, Applier: rt})
	if err != nil {
		t.Fatal(err)
	}
	wg.Add(1)
	go func() { defer wg.Done(); _ = xc.Run(ctx) }()

	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") }))
	defer app.Close()
	httpPort, tcpPort := proxytest.FreePort(t), proxytest.FreePort(t)
	mtlsChain := func(port uint32, l *listenerv3.Listener) *listenerv3.Listener {
		l.FilterChains[0].FilterChainMatch = &listenerv3.FilterChainMatch{DestinationPort: wrapperspb.UInt32(port), TransportProtocol: "tls"}
		l.FilterChains[0].TransportSocket = proxytest.DownstreamSocket(proxytest.IstioInbound(proxytest.ALPNDownstream))
		l.ListenerFilters = []*listenerv3.ListenerFilter{proxytest.TLSInspector()}
		return l
	}
	srv.Set(t, node.Id, "1", proxytest.Resources{
		Clusters: []types.Resource{proxytest.StaticCluster("app", strings.TrimPrefix(app.URL, "http://"))},
		Listeners: []types.Resource{
			mtlsChain(httpPort, proxytest.HTTPListener("in-http", "127.0.0.1", httpPort, "r")),
			mtlsChain(tcpPort, proxytest.Listener("in-tcp", "127.0.0.1", tcpPort, &tcpv3.TcpProxy{StatPrefix: "in",
				ClusterSpecifier: &tcpv3.TcpProxy_Cluster{Cluster: "app"}})),
		},
		Routes: []types.Resource{proxytest.RouteConfig("r", proxytest.VirtualHost("vh", []string{"*"}, proxytest.PrefixRoute("/", "app")))},
	})
	<-rt.Ready()

	cfg := &tls.Config{Certificates: []tls.Certificate{*client.Cert}, InsecureSkipVerify: true} //nolint:gosec // test client
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
	wait.For(t, 10*time.Second, "a request over mTLS", func() error {
		resp, err := hc.Get(fmt.Sprintf("https://127.0.0.1:%d/", httpPort))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(b) != "ok" {
			return fmt.Errorf("%d %q", resp.StatusCode, b)
		}
		return nil
	})
	conn, err := tls.Dial("tcp", net.JoinHostPort("127.0.0.1", fmt.Sprint(tcpPort)), cfg)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(conn, "GET / HTTP/1.0\r\n\r\n")
	_, _ = io.ReadAll(conn)
	conn.Close()

	want := "spiffe://cluster.local/ns/default/sa/sleep"
	wait.For(t, 10*time.Second, "observers to see the peer", func() error {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for name, p := range map[string]*mtls.Peer{"Info": rec.http, "ConnInfo": rec.tcpPr} {
			if p == nil || p.Principal != want || p.Namespace != "default" || p.ServiceAccount != "sleep" {
				return fmt.Errorf("%s peer %+v", name, p)
			}
		}
		return nil
	})
}
