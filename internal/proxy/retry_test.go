package proxy_test

import (
	"fmt"
	"testing"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/lateenmesh/lateen/internal/proxy/proxytest"
)

func TestRetryOnConnectFailureUsesAnotherHost(t *testing.T) {
	e := startProxy(t)
	live := newBackend(t, "live", false)
	dead := fmt.Sprintf("127.0.0.1:%d", proxytest.FreePort(t))
	action := proxytest.ClusterAction("c")
	action.RetryPolicy = &routev3.RetryPolicy{RetryOn: "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes",
		NumRetries: wrapperspb.UInt32(2), RetriableStatusCodes: []uint32{503}, HostSelectionRetryMaxAttempts: 5}
	port := proxytest.FreePort(t)
	e.apply(t, "v1", proxytest.Resources{
		Clusters:  []types.Resource{proxytest.EDSCluster("c")},
		Endpoints: []types.Resource{proxytest.CLA("c", dead, live.hostPort())},
		Listeners: []types.Resource{proxytest.HTTPListener("l", "0.0.0.0", port, "r")},
		Routes: []types.Resource{proxytest.RouteConfig("r", proxytest.VirtualHost("vh", []string{"*"},
			&routev3.Route{Match: prefix("/"), Action: &routev3.Route_Route{Route: action}}))},
	})
	c := client()
	for i := range 6 {
		if r := get(t, c, fmt.Sprintf("127.0.0.1:%d", port), "h", "/"); r.code != 200 || r.body != "live" {
			t.Fatalf("request %d: %d %q", i, r.code, r.body)
		}
	}
	if got := e.stat("cluster.c.upstream_rq_retry"); got < 1 {
		t.Errorf("upstream_rq_retry = %d, want some", got)
	}
}
