package controlplane

import (
	"context"
	"fmt"
	"slices"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// lightClient is a minimal ADS client for measuring pilot alone: it
// subscribes as lateen-proxy does (CDS, EDS for the EDS clusters, LDS, RDS
// for the connection managers' route configurations) and ACKs every
// response, but decodes only clusters and listeners, for their names. It
// neither validates nor keeps anything, so a thousand of them cost the
// harness little, unlike lateen-proxy's own client.
type lightClient struct {
	address string
	node    *corev3.Node
	p       *simProxy
}

// lightType is one type's subscription on a stream.
type lightType struct {
	names          []string
	version, nonce string // of the last response
	requested      bool
	received       bool
}

func (c *lightClient) Run(ctx context.Context) error {
	conn, err := grpc.NewClient(c.address, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage)))
	if err != nil {
		return err
	}
	defer conn.Close()
	for ctx.Err() == nil {
		_ = c.stream(ctx, discoveryv3.NewAggregatedDiscoveryServiceClient(conn))
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

func (c *lightClient) stream(ctx context.Context, ads discoveryv3.AggregatedDiscoveryServiceClient) error {
	st, err := ads.StreamAggregatedResources(ctx)
	if err != nil {
		return err
	}
	types := map[string]*lightType{resource.ClusterType: {}, resource.EndpointType: {}, resource.ListenerType: {},
		resource.RouteType: {}}
	send := func(r *discoveryv3.DiscoveryRequest) error {
		c.p.sending(r)
		return st.Send(r)
	}
	types[resource.ClusterType].requested = true
	if err := send(&discoveryv3.DiscoveryRequest{Node: c.node, TypeUrl: resource.ClusterType}); err != nil {
		return err
	}
	for {
		resp, err := st.Recv()
		if err != nil {
			return err
		}
		c.p.received(resp)
		if err := c.handle(resp, types, send); err != nil {
			return err
		}
	}
}

// handle ACKs a response, then asks for what it makes the proxy subscribe
// to (EDS and LDS after CDS, RDS after LDS).
func (c *lightClient) handle(resp *discoveryv3.DiscoveryResponse, types map[string]*lightType,
	send func(*discoveryv3.DiscoveryRequest) error) error {
	ts := types[resp.TypeUrl]
	if ts == nil {
		return fmt.Errorf("unexpected %s response", resp.TypeUrl)
	}
	ts.received, ts.version, ts.nonce = true, resp.VersionInfo, resp.Nonce
	if err := send(&discoveryv3.DiscoveryRequest{TypeUrl: resp.TypeUrl, VersionInfo: resp.VersionInfo,
		ResponseNonce: resp.Nonce, ResourceNames: ts.names}); err != nil {
		return err
	}
	var next string
	var names []string
	switch resp.TypeUrl {
	case resource.ClusterType:
		next, names = resource.EndpointType, edsNames(resp)
		if !types[resource.ListenerType].requested {
			types[resource.ListenerType].requested = true
			if err := send(&discoveryv3.DiscoveryRequest{TypeUrl: resource.ListenerType}); err != nil {
				return err
			}
		}
	case resource.ListenerType:
		next, names = resource.RouteType, rdsNames(resp)
	}
	if nt := types[next]; next != "" && (!nt.requested || !slices.Equal(nt.names, names)) {
		nt.requested, nt.names = true, names
		if err := send(&discoveryv3.DiscoveryRequest{TypeUrl: next, ResourceNames: names, VersionInfo: nt.version,
			ResponseNonce: nt.nonce}); err != nil {
			return err
		}
	}
	if types[resource.ClusterType].received && types[resource.EndpointType].received &&
		types[resource.ListenerType].received && types[resource.RouteType].received {
		c.p.syncOnce.Do(func() { close(c.p.synced) })
	}
	return nil
}

func edsNames(resp *discoveryv3.DiscoveryResponse) []string {
	var out []string
	for _, a := range resp.Resources {
		var cl clusterv3.Cluster
		if a.UnmarshalTo(&cl) != nil || cl.GetType() != clusterv3.Cluster_EDS {
			continue
		}
		name := cl.GetEdsClusterConfig().GetServiceName()
		if name == "" {
			name = cl.Name
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

func rdsNames(resp *discoveryv3.DiscoveryResponse) []string {
	var out []string
	for _, a := range resp.Resources {
		var l listenerv3.Listener
		if a.UnmarshalTo(&l) != nil {
			continue
		}
		for _, fc := range l.FilterChains {
			for _, f := range fc.Filters {
				var hcm hcmv3.HttpConnectionManager
				if f.GetTypedConfig().UnmarshalTo(&hcm) == nil {
					if n := hcm.GetRds().GetRouteConfigName(); n != "" && !slices.Contains(out, n) {
						out = append(out, n)
					}
				}
			}
		}
	}
	slices.Sort(out)
	return out
}
