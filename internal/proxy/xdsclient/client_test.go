package xdsclient_test

import (
	"context"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/google/go-cmp/cmp"

	"github.com/lateenmesh/lateen/internal/proxy/proxytest"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/xdsclient"
)

// recorder is a real Applier that keeps what it was given.
type recorder struct{ ch chan *resource.Config }

func (r *recorder) Apply(cfg *resource.Config) error { r.ch <- cfg; return nil }

func (r *recorder) next(t *testing.T) *resource.Config {
	t.Helper()
	select {
	case cfg := <-r.ch:
		return cfg
	case <-time.After(10 * time.Second):
		t.Fatal("no configuration applied")
		return nil
	}
}

// none fails if a configuration was applied.
func (r *recorder) none(t *testing.T) {
	t.Helper()
	select {
	case cfg := <-r.ch:
		t.Fatalf("unexpected configuration applied: versions %v", cfg.Versions)
	default:
	}
}

// until returns the first applied configuration satisfying ok.
func (r *recorder) until(t *testing.T, ok func(*resource.Config) bool) *resource.Config {
	t.Helper()
	for {
		if cfg := r.next(t); ok(cfg) {
			return cfg
		}
	}
}

// each fails if a pending applied configuration does not satisfy ok.
func (r *recorder) each(t *testing.T, ok func(*resource.Config) bool) {
	t.Helper()
	for {
		select {
		case cfg := <-r.ch:
			if !ok(cfg) {
				t.Fatalf("unexpected configuration applied: versions %v", cfg.Versions)
			}
		default:
			return
		}
	}
}

var node = xdsclient.Node(xdsclient.NodeInfo{Type: "sidecar", IP: "127.0.0.9", WorkloadName: "reviews-v1", Namespace: "default"})

func start(t *testing.T) (*proxytest.Server, *recorder) {
	t.Helper()
	srv := proxytest.NewServer(t)
	rec := &recorder{ch: make(chan *resource.Config, 100)}
	c, err := xdsclient.New(xdsclient.Options{Address: srv.Addr, Node: node, Applier: rec,
		BackoffMin: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return srv, rec
}

func basic(clusters ...*clusterv3.Cluster) proxytest.Resources {
	r := proxytest.Resources{
		Clusters:  []types.Resource{proxytest.EDSCluster("c1")},
		Endpoints: []types.Resource{proxytest.CLA("c1", "127.0.0.1:9001")},
		Listeners: []types.Resource{proxytest.HTTPListener("l1", "0.0.0.0", 9080, "r1")},
		Routes: []types.Resource{proxytest.RouteConfig("r1",
			proxytest.VirtualHost("vh", []string{"*"}, proxytest.PrefixRoute("/", "c1")))},
	}
	if len(clusters) > 0 {
		r.Clusters = nil
		for _, c := range clusters {
			r.Clusters = append(r.Clusters, c)
		}
	}
	return r
}

func acked(typeURL, version string) func(*discoveryv3.DiscoveryRequest) bool {
	return func(r *discoveryv3.DiscoveryRequest) bool {
		return r.TypeUrl == typeURL && r.VersionInfo == version && r.ErrorDetail == nil && r.ResponseNonce != ""
	}
}

func TestInitialSyncACKsEveryType(t *testing.T) {
	srv, rec := start(t)
	srv.Set(t, node.Id, "v1", basic())
	cfg := rec.next(t)
	if got := cfg.Missing(); got != "" {
		t.Fatalf("applied an incomplete config: missing %s", got)
	}
	for _, typeURL := range []string{resource.ClusterType, resource.EndpointType, resource.ListenerType, resource.RouteType} {
		srv.WaitRequest(t, "ACK of "+typeURL, acked(typeURL, "v1"))
	}
	reqs := srv.Requests()
	if reqs[0].TypeUrl != resource.ClusterType || reqs[0].GetNode().GetId() != node.Id {
		t.Errorf("first request: type %s node %q, want CDS with the node", reqs[0].TypeUrl, reqs[0].GetNode().GetId())
	}
	eds := srv.WaitRequest(t, "EDS subscription", func(r *discoveryv3.DiscoveryRequest) bool { return r.TypeUrl == resource.EndpointType })
	rds := srv.WaitRequest(t, "RDS subscription", func(r *discoveryv3.DiscoveryRequest) bool { return r.TypeUrl == resource.RouteType })
	if diff := cmp.Diff([]string{"c1"}, eds.ResourceNames); diff != "" {
		t.Errorf("EDS names (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"r1"}, rds.ResourceNames); diff != "" {
		t.Errorf("RDS names (-want +got):\n%s", diff)
	}
	if cfg.Clusters["c1"] == nil || cfg.Endpoints["c1"].Endpoints[0].Address != "127.0.0.1:9001" {
		t.Errorf("config: clusters %v endpoints %v", cfg.Clusters, cfg.Endpoints)
	}
}

func TestNACKNamesResourceAndFieldAndKeepsLastGood(t *testing.T) {
	tests := []struct {
		name    string
		cluster func() *clusterv3.Cluster
		detail  string
	}{
		{
			name: "field outside the contract",
			cluster: func() *clusterv3.Cluster {
				c := proxytest.EDSCluster("c1")
				c.DnsLookupFamily = clusterv3.Cluster_V4_ONLY
				return c
			},
			detail: `Cluster "c1": dns_lookup_family: field not supported by lateen-proxy`,
		},
		{
			name: "secret the proxy does not serve",
			cluster: func() *clusterv3.Cluster {
				c := proxytest.EDSCluster("c1")
				ctx := proxytest.IstioMutual("sni")
				ctx.CommonTlsContext.TlsCertificateSdsSecretConfigs = []*tlsv3.SdsSecretConfig{proxytest.LocalSDS("ROOTCA")}
				c.TransportSocket = proxytest.UpstreamSocket(ctx)
				return c
			},
			detail: `Cluster "c1": transport_socket.typed_config.common_tls_context.tls_certificate_sds_secret_configs[0].name: ` +
				`"ROOTCA" is not a secret the proxy serves here (default or file-cert: for certificates, ROOTCA or file-root: for validation)`,
		},
		{
			name: "unknown discovery type",
			cluster: func() *clusterv3.Cluster {
				c := proxytest.EDSCluster("c1")
				c.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STRICT_DNS}
				c.EdsClusterConfig = nil
				return c
			},
			detail: `Cluster "c1": type: discovery type STRICT_DNS not supported by lateen-proxy`,
		},
		{
			name: "unsupported lb policy",
			cluster: func() *clusterv3.Cluster {
				c := proxytest.EDSCluster("c1")
				c.LbPolicy = clusterv3.Cluster_LOAD_BALANCING_POLICY_CONFIG
				return c
			},
			detail: `Cluster "c1": lb_policy: LOAD_BALANCING_POLICY_CONFIG not supported by lateen-proxy`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, rec := start(t)
			srv.Set(t, node.Id, "v1", basic())
			rec.next(t)
			srv.WaitRequest(t, "CDS ACK v1", acked(resource.ClusterType, "v1"))
			srv.Set(t, node.Id, "v2", basic(tt.cluster()))
			nack := srv.WaitRequest(t, "CDS NACK", func(r *discoveryv3.DiscoveryRequest) bool {
				return r.TypeUrl == resource.ClusterType && r.ErrorDetail != nil
			})
			if got := nack.ErrorDetail.GetMessage(); got != tt.detail {
				t.Errorf("error_detail:\n got %q\nwant %q", got, tt.detail)
			}
			if nack.VersionInfo != "v1" {
				t.Errorf("NACK version_info = %q, want the last good v1", nack.VersionInfo)
			}
			// EDS v2 (valid) may apply, always with the last good clusters.
			rec.each(t, func(cfg *resource.Config) bool { return cfg.Versions[resource.ClusterType] == "v1" })
		})
	}
}

func TestNACKOfListenerNamesNestedField(t *testing.T) {
	srv, rec := start(t)
	res := basic()
	l := proxytest.HTTPListener("l1", "0.0.0.0", 9080, "r1")
	hcm := proxytest.HCM("l1", "r1")
	hcm.SkipXffAppend = true
	l.FilterChains[0].Filters[0] = proxytest.Listener("x", "0.0.0.0", 1, hcm).FilterChains[0].Filters[0]
	res.Listeners = []types.Resource{l}
	srv.Set(t, node.Id, "v1", res)
	nack := srv.WaitRequest(t, "LDS NACK", func(r *discoveryv3.DiscoveryRequest) bool {
		return r.TypeUrl == resource.ListenerType && r.ErrorDetail != nil
	})
	want := `Listener "l1": filter_chains[0].filters[0].typed_config.skip_xff_append: field not supported by lateen-proxy`
	if got := nack.ErrorDetail.GetMessage(); got != want {
		t.Errorf("error_detail:\n got %q\nwant %q", got, want)
	}
	rec.none(t)
}

func TestIncompleteConfigIsHeldUntilClosed(t *testing.T) {
	srv, rec := start(t)
	res := basic()
	res.Routes = []types.Resource{proxytest.RouteConfig("r1",
		proxytest.VirtualHost("vh", []string{"*"}, proxytest.PrefixRoute("/", "c2")))}
	srv.Set(t, node.Id, "v1", res)
	// Every type is ACKed (each resource is valid) but nothing is applied:
	// the route names a cluster that does not exist yet.
	srv.WaitRequest(t, "RDS ACK v1", acked(resource.RouteType, "v1"))
	rec.none(t)

	res.Clusters = append(res.Clusters, proxytest.EDSCluster("c2"))
	res.Endpoints = append(res.Endpoints, proxytest.CLA("c2", "127.0.0.1:9002"))
	srv.Set(t, node.Id, "v2", res)
	cfg := rec.next(t)
	if cfg.Clusters["c2"] == nil || cfg.Endpoints["c2"] == nil {
		t.Fatalf("applied config lacks c2: %v", cfg.Versions)
	}
	if cfg.Versions[resource.ClusterType] != "v2" || cfg.Versions[resource.EndpointType] != "v2" {
		t.Errorf("versions = %v", cfg.Versions)
	}
}

func TestReconnectKeepsConfigAndResubscribes(t *testing.T) {
	srv, rec := start(t)
	srv.Set(t, node.Id, "v1", basic())
	rec.next(t)
	srv.Restart(t)
	srv.WaitStreams(t, 2)
	res := basic()
	res.Endpoints = []types.Resource{proxytest.CLA("c1", "127.0.0.1:9003")}
	srv.Set(t, node.Id, "v2", res)
	rec.until(t, func(cfg *resource.Config) bool {
		return cfg.Endpoints["c1"].Endpoints[0].Address == "127.0.0.1:9003"
	})
	// The new stream announced the versions the proxy already had.
	srv.WaitRequest(t, "CDS request with v1 on the new stream", func(r *discoveryv3.DiscoveryRequest) bool {
		return r.TypeUrl == resource.ClusterType && r.VersionInfo == "v1" && r.ResponseNonce == "" && r.GetNode().GetId() == node.Id
	})
}

func TestHeldRouteDoesNotBlockEndpointUpdates(t *testing.T) {
	srv, rec := start(t)
	srv.Set(t, node.Id, "v1", basic())
	rec.next(t)
	res := basic()
	res.Routes = []types.Resource{proxytest.RouteConfig("r1",
		proxytest.VirtualHost("vh", []string{"*"}, proxytest.PrefixRoute("/", "c2")))}
	res.Endpoints = []types.Resource{proxytest.CLA("c1", "127.0.0.1:9004")}
	srv.Set(t, node.Id, "v2", res)
	cfg := rec.until(t, func(cfg *resource.Config) bool {
		return cfg.Endpoints["c1"].Endpoints[0].Address == "127.0.0.1:9004"
	})
	if got := cfg.Routes["r1"].VirtualHosts[0].Routes[0].Action.Cluster; got != "c1" {
		t.Errorf("route cluster = %s, want the applied c1 while c2 is missing", got)
	}
	if got := cfg.Versions[resource.RouteType]; got != "v1" {
		t.Errorf("RDS version applied = %s, want v1", got)
	}
}
