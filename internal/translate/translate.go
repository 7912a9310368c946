// Package translate turns a ProxyView into Envoy xDS v3 resources. It is a
// pure function of its input: no globals, environment, clock or randomness,
// so the same view always yields the same resources. docs/xds.md lists
// everything it may emit.
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
func Translate(v *mesh.ProxyView) *Resources {
	b := &builder{view: v, clusters: map[string]*clusterv3.Cluster{}, secretNames: map[string]bool{}}
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
}

func (b *builder) addCluster(c *clusterv3.Cluster) { b.clusters[c.Name] = c }

func (b *builder) finish() *Resources {
	r := &Resources{Listeners: b.listeners, Routes: b.routes, Endpoints: b.endpoints, Secrets: b.credentialSecrets()}
	for _, c := range b.clusters {
		r.Clusters = append(r.Clusters, c)
	}
	slices.SortFunc(r.Listeners, func(a, b *listenerv3.Listener) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(r.Routes, func(a, b *routev3.RouteConfiguration) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(r.Clusters, func(a, b *clusterv3.Cluster) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(r.Endpoints, func(a, b *endpointv3.ClusterLoadAssignment) int {
		return cmp.Compare(a.ClusterName, b.ClusterName)
	})
	return r
}
