package proxy_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	corsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/cors/v3"
	faultv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/fault/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/lateenmesh/lateen/internal/proxy/proxytest"
)

// Filter names as Istio configures them.
const (
	faultFilter = "envoy.filters.http.fault"
	corsFilter  = "envoy.filters.http.cors"
)

// filterHCM is an HCM over RDS routeName with Istio's filter chain: fault,
// CORS, router.
func filterHCM(statPrefix, routeName string, useRemoteAddress bool) *hcmv3.HttpConnectionManager {
	h := proxytest.HCM(statPrefix, routeName)
	typed := func(m proto.Message) *hcmv3.HttpFilter_TypedConfig {
		return &hcmv3.HttpFilter_TypedConfig{TypedConfig: proxytest.Any(m)}
	}
	h.HttpFilters = []*hcmv3.HttpFilter{
		{Name: faultFilter, ConfigType: typed(&faultv3.HTTPFault{})},
		{Name: corsFilter, ConfigType: typed(&corsv3.Cors{})},
		{Name: "envoy.filters.http.router", ConfigType: typed(&routerv3.Router{})},
	}
	h.UseRemoteAddress = wrapperspb.Bool(useRemoteAddress)
	return h
}

// routeSetup is a listener (named "l", stat prefix "l", filter chain of
// filterHCM) over route config "r" with one virtual host "*" holding
// routes, and the clusters given (name → endpoints).
type routeSetup struct {
	clusters  map[string][]string
	h2        map[string]bool
	useRemote bool
	routes    []*routev3.Route
}

// applySetup publishes s and returns the listener's address.
func applySetup(t *testing.T, e *env, version string, s routeSetup) string {
	t.Helper()
	port := proxytest.FreePort(t)
	var res proxytest.Resources
	for name, addrs := range s.clusters {
		cl := proxytest.EDSCluster(name)
		if s.h2[name] {
			cl = proxytest.H2(cl)
		}
		res.Clusters = append(res.Clusters, cl)
		res.Endpoints = append(res.Endpoints, proxytest.CLA(name, addrs...))
	}
	res.Listeners = []types.Resource{proxytest.Listener("l", "0.0.0.0", port, filterHCM("l", "r", s.useRemote))}
	res.Routes = []types.Resource{proxytest.RouteConfig("r", proxytest.VirtualHost("vh", []string{"*"}, s.routes...))}
	e.apply(t, version, res)
	return fmt.Sprintf("127.0.0.1:%d", port)
}

// forwardRoute forwards a path prefix to cluster with the given action
// tweaks applied.
func forwardRoute(pfx, cluster string, tweak func(*routev3.RouteAction)) *routev3.Route {
	a := proxytest.ClusterAction(cluster)
	if tweak != nil {
		tweak(a)
	}
	return &routev3.Route{Match: prefix(pfx), Action: &routev3.Route_Route{Route: a}}
}

// perFilter sets a route's typed_per_filter_config for a filter.
func perFilter(r *routev3.Route, filter string, m proto.Message) *routev3.Route {
	if r.TypedPerFilterConfig == nil {
		r.TypedPerFilterConfig = map[string]*anypb.Any{}
	}
	r.TypedPerFilterConfig[filter] = proxytest.Any(m)
	return r
}

func percent(p uint32) *typev3.FractionalPercent {
	return &typev3.FractionalPercent{Numerator: p, Denominator: typev3.FractionalPercent_HUNDRED}
}

func dur(d time.Duration) *durationpb.Duration { return durationpb.New(d) }

// serve starts an HTTP/1.1 + h2c server for h and returns its address.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := &http.Server{Handler: h, Protocols: new(http.Protocols)}
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	ln := listen(t)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// request builds a request to the proxy at addr for host.
func request(t *testing.T, method, addr, host, path string, hdr ...string) *http.Request {
	t.Helper()
	req := mustRequest(t, method, "http://"+addr+path, nil)
	req.Host = host
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return req
}

// grpcRequest is a gRPC-style request (h2c client, application/grpc).
func grpcRequest(t *testing.T, addr, path string, hdr ...string) *http.Request {
	t.Helper()
	req := request(t, "POST", addr, "grpc.example", path, hdr...)
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("TE", "trailers")
	return req
}
