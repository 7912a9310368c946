package exchange

import (
	proxyhttp "github.com/lateenmesh/lateen/internal/proxy/http"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/tcp"
	"github.com/lateenmesh/lateen/internal/proxy/telemetry/peer"
)

// Register adds the istio.metadata_exchange filters (HTTP and network)
// of the proxy running as node to the proxy's registries.
func Register(node *peer.Workload, hf *proxyhttp.Filters, tf *tcp.Filters) {
	hf.Register(resource.PeerMetadataTypeURL, httpFilter(node))
	tf.Register(resource.MetadataExchangeTypeURL, func(cfg any, bc tcp.BuildContext) (tcp.Filter, error) {
		return tcp.Filter{Exchanger: &exchanger{cfg: cfg.(*resource.MetadataExchange), node: node,
			inbound: bc.Direction == "INBOUND"}}, nil
	})
}
