// Package translate turns a ProxyView into Envoy xDS v3 resources. It is a
// pure function of its input: no globals, environment, clock or randomness,
// so the same view always yields the same resources. docs/xds.md lists
// everything it may emit. A Cache (cache.go) makes translations of many
// proxies and snapshots share their pieces, giving the same bytes.
package translate

import (
	"cmp"
	"slices"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"

	"github.com/lateenmesh/lateen/internal/mesh"
)

// Resources is one proxy's complete configuration, each list sorted by name.
type Resources struct {
	Listeners []*listenerv3.Listener
	Routes    []*routev3.RouteConfiguration
	Clusters  []*clusterv3.Cluster
	Endpoints []*endpointv3.ClusterLoadAssignment
	// Secrets are the SDS secrets the proxy gets over ADS (credentialName
	// credentials); its own identity never travels.
	Secrets []*tlsv3.Secret
}

// Translate builds the resources for the proxy a view belongs to.
func Translate(v *mesh.ProxyView) *Resources { return translate(v, nil) }

// Translate builds the resources for the proxy a view belongs to, as the
// package-level Translate does (the same bytes), reusing the pieces and
// class-wide parts it built for earlier views (see Cache).
func (c *Cache) Translate(v *mesh.ProxyView) *Resources { return translate(v, c) }

func translate(v *mesh.ProxyView, c *Cache) *Resources {
	b := newBuilder(v, c)
	b.outboundClusters()
	switch v.Proxy.Type {
	case mesh.Router:
		b.gatewayListeners()
	default:
		b.sidecarListeners()
	}
	b.specialClusters()
	b.tcpTelemetry()
	b.tcpAccessLogs()
	return b.finish()
}

// builder accumulates resources while translating one view.
type builder struct {
	view      *mesh.ProxyView
	listeners []*listenerv3.Listener
	routes    []*routev3.RouteConfiguration
	clusters  map[string]*clusterv3.Cluster
	endpoints []*endpointv3.ClusterLoadAssignment
	// secretNames are the ADS secrets the configuration names; peerAuth
	// is the workload's effective PeerAuthentication (lazy).
	secretNames map[string]bool
	peerAuth    *mesh.PeerAuthn
	// metricsConfig is the proxy's resolved Telemetry metrics (lazy).
	metricsConfig *mesh.MetricsConfig

	// cache, when set, provides pieces and class-wide parts (cache.go);
	// class is this proxy's class-wide part once outboundClusters ran:
	// its outbound clusters, endpoints and secret names are the proxy's
	// too (beside clusters, endpoints and secretNames).
	cache *Cache
	class *classPart
	// decorateOut is whether outbound routes carry tracing decorators
	// (0: not known yet, 1: no, 2: yes); see outboundDecorate.
	decorateOut int8
	// predecorated route configurations need no decoration pass.
	predecorated map[*routev3.RouteConfiguration]bool
	// nsMTLS memoizes NamespaceMTLSMode; digests, piece key digests.
	nsMTLS  map[string]mesh.MTLSMode
	digests *keyDigests
}

func newBuilder(v *mesh.ProxyView, c *Cache) *builder {
	return &builder{view: v, cache: c, clusters: map[string]*clusterv3.Cluster{}, secretNames: map[string]bool{}}
}

func (b *builder) addCluster(c *clusterv3.Cluster) { b.clusters[c.Name] = c }

func (b *builder) finish() *Resources {
	r := &Resources{Listeners: b.listeners, Routes: b.routes, Endpoints: b.endpoints}
	if b.class != nil {
		for _, n := range b.class.secretNames {
			b.secretNames[n] = true
		}
	}
	r.Secrets = b.credentialSecrets()
	for _, c := range b.clusters {
		r.Clusters = append(r.Clusters, c)
	}
	slices.SortFunc(r.Listeners, func(a, b *listenerv3.Listener) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(r.Routes, func(a, b *routev3.RouteConfiguration) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(r.Clusters, func(a, b *clusterv3.Cluster) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(r.Endpoints, func(a, b *endpointv3.ClusterLoadAssignment) int {
		return cmp.Compare(a.ClusterName, b.ClusterName)
	})
	if b.class != nil {
		r.Clusters = mergeByName(b.class.clusters, r.Clusters, func(c *clusterv3.Cluster) string { return c.Name })
		r.Endpoints = mergeByName(b.class.endpoints, r.Endpoints, func(c *endpointv3.ClusterLoadAssignment) string { return c.ClusterName })
	}
	return r
}

// mergeByName merges two lists sorted by name (no name in both).
func mergeByName[M any](a, b []M, name func(M) string) []M {
	if len(b) == 0 {
		return a
	}
	out := make([]M, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if name(a[i]) <= name(b[j]) {
			out, i = append(out, a[i]), i+1
		} else {
			out, j = append(out, b[j]), j+1
		}
	}
	return append(append(out, a[i:]...), b[j:]...)
}
