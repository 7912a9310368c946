package xdsclient

import (
	"fmt"

	tcpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

const tcpProxyTypeURL = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"

func decodeTCPProxy(_ *Decoders, a *anypb.Any, fc *resource.FilterChain) error {
	var pb tcpv3.TcpProxy
	if err := unpack(a, &pb); err != nil {
		return err
	}
	t := &resource.TCPProxy{StatPrefix: pb.GetStatPrefix(), Cluster: pb.GetCluster()}
	var err error
	if wc := pb.GetWeightedClusters(); wc != nil {
		for i, c := range wc.GetClusters() {
			if c.GetName() == "" {
				return fieldErr(fmt.Sprintf("weighted_clusters.clusters[%d].name", i), "empty")
			}
			t.WeightedClusters = append(t.WeightedClusters, resource.WeightedCluster{Name: c.GetName(), Weight: c.GetWeight()})
		}
		if len(t.WeightedClusters) == 0 {
			return fieldErr("weighted_clusters.clusters", "empty")
		}
	} else if t.Cluster == "" {
		return fieldErr("cluster_specifier", "cluster or weighted_clusters is required")
	}
	if pb.GetIdleTimeout() != nil {
		if t.IdleTimeout, err = duration(pb.GetIdleTimeout(), "idle_timeout"); err != nil {
			return err
		}
		t.IdleTimeoutSet = true
	}
	if t.AccessLogs, err = decodeAccessLogs(pb.GetAccessLog()); err != nil {
		return err
	}
	fc.TCP = t
	return nil
}
