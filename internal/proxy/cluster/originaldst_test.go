package cluster

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/lb"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/stats"
)

// TestSourceAddressBindsUpstreams checks upstream_bind_config: the inbound
// passthrough cluster connects to the original destination from
// 127.0.0.6, for the TCP proxy and for HTTP.
func TestSourceAddressBindsUpstreams(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	peers := make(chan string, 2)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peers <- r.RemoteAddr
	}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck
	t.Cleanup(func() { srv.Close() })

	rc := &resource.Cluster{Name: "InboundPassthroughCluster", Type: resource.ClusterOriginalDst, Limits: unlimited,
		ConnectTimeout: 5 * time.Second, Pool: resource.PoolSettings{SourceAddress: "127.0.0.6"}}
	m := NewManager(stats.New())
	set, err := m.Build(&resource.Config{Clusters: map[string]*resource.Cluster{rc.Name: rc}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.Commit(set)
	t.Cleanup(m.Close)
	c := set.Get(rc.Name)
	ep, ok := c.Pick(&lb.Request{OriginalDst: ln.Addr().String()})
	if !ok || ep.Address != ln.Addr().String() {
		t.Fatalf("picked %v %v, want the original destination %s", ep, ok, ln.Addr())
	}

	conn, err := c.Upstream.Dial(context.Background(), ep.Address)
	if err != nil {
		t.Fatal(err)
	}
	if host, _, _ := net.SplitHostPort(conn.LocalAddr().String()); host != "127.0.0.6" {
		t.Errorf("TCP upstream from %s, want 127.0.0.6", conn.LocalAddr())
	}
	conn.Close()

	req, _ := http.NewRequest(http.MethodGet, "http://"+ep.Address+"/", nil)
	resp, err := c.Upstream.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if host, _, _ := net.SplitHostPort(<-peers); host != "127.0.0.6" {
		t.Errorf("HTTP upstream from %s, want 127.0.0.6", host)
	}
}
