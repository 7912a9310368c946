package xds

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/lateenmesh/lateen/internal/wait"
)

// TestPushMetrics checks istiod's push metrics: a connected proxy's push
// counts as a trigger, and its convergence and queue times, the config
// sizes and the responses sent are observed; a snapshot that changes
// nothing for the proxy counts as skipped.
func TestPushMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{Listener: lis, Metrics: NewMetrics(reg)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	s.Update(snapshotOf(t, registryYAML, 1))
	sctx, scancel := context.WithCancel(context.Background())
	defer scancel()
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(sctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&discoveryv3.DiscoveryRequest{Node: testNode(), TypeUrl: resourcev3.ClusterType}); err != nil {
		t.Fatal(err)
	}
	recv(t, stream)
	// A change the proxy depends on (one more endpoint) is pushed; a
	// snapshot without any change for it, published after that push, is
	// not translated again. (Published together, the two would be merged
	// into one push.)
	s.Update(snapshotOf(t, registryYAML+moreEndpointYAML, 2))
	waitMetrics(t, reg, map[string]float64{"pilot_proxy_convergence_time": 2})
	s.Update(snapshotOf(t, registryYAML+moreEndpointYAML, 3))
	waitMetrics(t, reg, map[string]float64{
		"pilot_proxy_convergence_time": 2, "pilot_proxy_queue_time": 2, "pilot_push_triggers{type=proxy}": 1,
		"pilot_push_triggers{type=config}": 1, "pilot_xds_pushes{type=cds}": 1, "pilot_xds": 1,
		"pilot_xds_config_size_bytes{type=cds}": 1, "pilot_xds_push_skipped": 1,
	})
}

// waitMetrics waits until every named series has at least its value.
func waitMetrics(t *testing.T, reg *prometheus.Registry, want map[string]float64) {
	t.Helper()
	wait.For(t, 10*time.Second, "push metrics", func() error {
		fams, err := reg.Gather()
		if err != nil {
			return err
		}
		got := map[string]float64{}
		for _, f := range fams {
			for _, m := range f.GetMetric() {
				got[f.GetName()+labelSuffix(m)] += value(m)
			}
		}
		for name, min := range want {
			if got[name] < min {
				return fmt.Errorf("%s = %v, want at least %v (all: %v)", name, got[name], min, got)
			}
		}
		return nil
	})
}

func labelSuffix(m *dto.Metric) string {
	if len(m.GetLabel()) == 0 {
		return ""
	}
	l := m.GetLabel()[0]
	return "{" + l.GetName() + "=" + l.GetValue() + "}"
}

// value is a counter's or gauge's value, or a histogram's count.
func value(m *dto.Metric) float64 {
	switch {
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetHistogram() != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	return 0
}
