package proxy_test

import (
	"fmt"
	"runtime"
	"testing"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"

	"github.com/lateenmesh/lateen/internal/proxy"
	"github.com/lateenmesh/lateen/internal/proxy/proxytest"
)

// BenchmarkConfigMemory measures the heap a proxy keeps per service of its
// configuration: N services, each three EDS clusters (the service and two
// subsets, as a DestinationRule with two subsets makes them) of three
// endpoints, and a virtual host routing to it. The xDS resources are built
// before the baseline is taken, so heap-KB/service is what the proxy holds
// (decoded resources, clusters, pools, stats, route tables), plus what
// the in-process management server caches for the proxy's stream.
//
//	go test ./internal/proxy -run '^$' -bench ConfigMemory -benchtime 1x
func BenchmarkConfigMemory(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			res := meshResources(n, proxytest.FreePort(b))
			e := startNode(b, proxy.Options{})
			before := liveHeap()
			for b.Loop() {
				e.applyTB(b, "1", res)
			}
			after := liveHeap()
			b.ReportMetric(float64(after-before)/1024/float64(n), "heap-KB/service")
			b.ReportMetric(float64(after)/(1<<20), "heap-MB")
			runtime.KeepAlive(res)
		})
	}
}

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// meshResources is n services as a sidecar sees them.
func meshResources(n int, port uint32) proxytest.Resources {
	var r proxytest.Resources
	var vhosts []*routev3.VirtualHost
	for i := range n {
		host := fmt.Sprintf("svc-%04d.ns-%04d.svc.cluster.local", i, i/10)
		for _, subset := range []string{"", "v1", "v2"} {
			name := fmt.Sprintf("outbound|8080|%s|%s", subset, host)
			r.Clusters = append(r.Clusters, types.Resource(proxytest.EDSCluster(name)))
			r.Endpoints = append(r.Endpoints, proxytest.CLA(name, fmt.Sprintf("10.%d.%d.1:8080", i/250, i%250),
				fmt.Sprintf("10.%d.%d.2:8080", i/250, i%250), fmt.Sprintf("10.%d.%d.3:8080", i/250, i%250)))
		}
		vhosts = append(vhosts, proxytest.VirtualHost(host+":8080", []string{host, host + ":8080"},
			proxytest.PrefixRoute("/", fmt.Sprintf("outbound|8080||%s", host))))
	}
	r.Routes = []types.Resource{proxytest.RouteConfig("8080", vhosts...)}
	r.Listeners = []types.Resource{proxytest.HTTPListener("0.0.0.0_8080", "127.0.0.1", port, "8080")}
	return r
}
