package xds

import (
	"context"
	"fmt"
	"slices"
	"testing"

	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
)

// twoServicesYAML is reviews and ratings, each with one endpoint; extra
// endpoints are added by endpointYAML.
const twoServicesYAML = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews.default.svc.cluster.local]
  ports: [{number: 9080, name: http, protocol: HTTP}]
  resolution: STATIC
  workloadSelector: {labels: {app: reviews}}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ratings, namespace: default}
spec:
  hosts: [ratings.default.svc.cluster.local]
  ports: [{number: 9080, name: http, protocol: HTTP}]
  resolution: STATIC
  workloadSelector: {labels: {app: ratings}}
`

func endpointYAML(app string, n int) string {
	return fmt.Sprintf("---\napiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: %s-%d, namespace: default}\nspec: {address: 127.0.1.%d, labels: {app: %s}}\n",
		app, n, n, app)
}

const (
	reviewsCluster = "outbound|9080||reviews.default.svc.cluster.local"
	ratingsCluster = "outbound|9080||ratings.default.svc.cluster.local"
)

// adsClient drives one ADS stream by hand.
type adsClient struct {
	t      *testing.T
	stream discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient
}

func newADSClient(t *testing.T, client discoveryv3.AggregatedDiscoveryServiceClient) *adsClient {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	stream, err := client.StreamAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return &adsClient{t: t, stream: stream}
}

func (c *adsClient) send(r *discoveryv3.DiscoveryRequest) {
	c.t.Helper()
	if err := c.stream.Send(r); err != nil {
		c.t.Fatal(err)
	}
}

// expect receives the next response, which must be of typeURL.
func (c *adsClient) expect(typeURL string) *discoveryv3.DiscoveryResponse {
	c.t.Helper()
	resp := recv(c.t, c.stream)
	if resp.TypeUrl != typeURL {
		c.t.Fatalf("got a %s response, want %s", resp.TypeUrl, typeURL)
	}
	return resp
}

// ack acknowledges resp, subscribing to names.
func (c *adsClient) ack(resp *discoveryv3.DiscoveryResponse, names ...string) {
	c.t.Helper()
	c.send(&discoveryv3.DiscoveryRequest{TypeUrl: resp.TypeUrl, VersionInfo: resp.VersionInfo, ResponseNonce: resp.Nonce,
		ResourceNames: names})
}

// endpointNames lists the clusters of an EDS response, sorted.
func endpointNames(t *testing.T, resp *discoveryv3.DiscoveryResponse) []string {
	t.Helper()
	var out []string
	for _, a := range resp.Resources {
		var cla endpointv3.ClusterLoadAssignment
		if err := a.UnmarshalTo(&cla); err != nil {
			t.Fatal(err)
		}
		out = append(out, cla.ClusterName)
	}
	slices.Sort(out)
	return out
}

// TestEndpointsAreSentInPart checks that an endpoint change sends only the
// ClusterLoadAssignment that changed, that a NACK makes the next response
// whole, and that a new stream gets everything.
func TestEndpointsAreSentInPart(t *testing.T) {
	s, client := startServer(t)
	s.Update(snapshotOf(t, twoServicesYAML+endpointYAML("reviews", 1)+endpointYAML("ratings", 2), 1))
	c := newADSClient(t, client)
	c.send(&discoveryv3.DiscoveryRequest{Node: testNode(), TypeUrl: resourcev3.ClusterType})
	c.ack(c.expect(resourcev3.ClusterType))
	names := []string{ratingsCluster, reviewsCluster}
	c.send(&discoveryv3.DiscoveryRequest{TypeUrl: resourcev3.EndpointType, ResourceNames: names})
	eds := c.expect(resourcev3.EndpointType)
	if got := endpointNames(t, eds); !slices.Equal(got, names) {
		t.Fatalf("first EDS response %v, want %v", got, names)
	}
	c.ack(eds, names...)

	s.Update(snapshotOf(t, twoServicesYAML+endpointYAML("reviews", 1)+endpointYAML("ratings", 2)+endpointYAML("reviews", 3), 2))
	eds2 := c.expect(resourcev3.EndpointType)
	if got := endpointNames(t, eds2); !slices.Equal(got, []string{reviewsCluster}) || eds2.VersionInfo == eds.VersionInfo {
		t.Fatalf("after a reviews endpoint: %v version %s, want only reviews at a new version", got, eds2.VersionInfo)
	}
	// NACK: the proxy keeps the previous version; the next change is sent whole.
	c.send(&discoveryv3.DiscoveryRequest{TypeUrl: resourcev3.EndpointType, VersionInfo: eds.VersionInfo, ResponseNonce: eds2.Nonce,
		ResourceNames: names, ErrorDetail: &status.Status{Message: "rejected"}})
	s.Update(snapshotOf(t, twoServicesYAML+endpointYAML("reviews", 1)+endpointYAML("ratings", 2)+endpointYAML("ratings", 4), 3))
	eds3 := c.expect(resourcev3.EndpointType)
	if got := endpointNames(t, eds3); !slices.Equal(got, names) {
		t.Fatalf("after a NACK: %v, want every cluster", got)
	}
	c.ack(eds3, names...)

	// A new stream of the same proxy gets every resource again.
	c2 := newADSClient(t, client)
	c2.send(&discoveryv3.DiscoveryRequest{Node: testNode(), TypeUrl: resourcev3.EndpointType, ResourceNames: names,
		VersionInfo: eds3.VersionInfo})
	if got := endpointNames(t, c2.expect(resourcev3.EndpointType)); !slices.Equal(got, names) {
		t.Fatalf("new stream: %v, want every cluster", got)
	}
}

// TestNewSubscriptionIsAnswered checks that a resource the proxy starts
// subscribing to is sent even when the version it acknowledged is
// current (its cluster arrived after the endpoints' last response).
func TestNewSubscriptionIsAnswered(t *testing.T) {
	s, client := startServer(t)
	s.Update(snapshotOf(t, registryYAML, 1))
	c := newADSClient(t, client)
	c.send(&discoveryv3.DiscoveryRequest{Node: testNode(), TypeUrl: resourcev3.ClusterType})
	c.ack(c.expect(resourcev3.ClusterType))
	c.send(&discoveryv3.DiscoveryRequest{TypeUrl: resourcev3.EndpointType, ResourceNames: []string{reviewsCluster}})
	eds := c.expect(resourcev3.EndpointType)
	c.ack(eds, reviewsCluster)

	s.Update(snapshotOf(t, twoServicesYAML+endpointYAML("reviews", 1)+endpointYAML("ratings", 2), 2))
	var cds, eds2 *discoveryv3.DiscoveryResponse
	for cds == nil || eds2 == nil {
		resp := recv(t, c.stream)
		switch resp.TypeUrl {
		case resourcev3.ClusterType:
			cds = resp
		case resourcev3.EndpointType:
			eds2 = resp
		}
	}
	c.ack(cds)
	c.ack(eds2, ratingsCluster, reviewsCluster)
	if got := endpointNames(t, eds2); slices.Contains(got, ratingsCluster) {
		t.Fatalf("ratings sent before the proxy subscribed: %v", got)
	}
	if got := endpointNames(t, c.expect(resourcev3.EndpointType)); !slices.Equal(got, []string{ratingsCluster}) {
		t.Fatalf("after subscribing to ratings: %v, want ratings only", got)
	}
}
