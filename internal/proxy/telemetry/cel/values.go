package cel

import (
	nethttp "net/http"
	"strings"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"

	"github.com/lateenmesh/lateen/internal/proxy/telemetry/attrs"
	"github.com/lateenmesh/lateen/internal/proxy/telemetry/peer"
)

// getter produces one attribute (nil: absent).
type getter func(b *attrs.Bag) ref.Val

func str(s string) ref.Val {
	if s == "" {
		return nil
	}
	return types.String(s)
}

func strs(ss []string) ref.Val {
	if len(ss) == 0 {
		return nil
	}
	return types.String(ss[0])
}

var roots = map[string]map[string]getter{
	"request":     requestFields,
	"response":    responseFields,
	"source":      addressFields(func(b *attrs.Bag) *attrs.Address { return &b.Source }),
	"destination": addressFields(func(b *attrs.Bag) *attrs.Address { return &b.Destination }),
	"connection":  connectionFields,
	"upstream":    upstreamFields,
	"xds":         xdsFields,
}

func resolve(b *attrs.Bag, name string) ref.Val {
	switch name {
	case "node":
		return workloadValue(b.Node)
	case "downstream_peer":
		return workloadValue(b.DownstreamPeer)
	case "upstream_peer":
		return workloadValue(b.UpstreamPeer)
	}
	if fields := roots[name]; fields != nil {
		return &lazyMap{bag: b, fields: fields}
	}
	return nil
}

var requestFields = map[string]getter{
	"id":         func(b *attrs.Bag) ref.Val { return str(b.Request.ID) },
	"method":     func(b *attrs.Bag) ref.Val { return str(b.Request.Method) },
	"scheme":     func(b *attrs.Bag) ref.Val { return str(b.Request.Scheme) },
	"host":       func(b *attrs.Bag) ref.Val { return str(b.Request.Host) },
	"path":       func(b *attrs.Bag) ref.Val { return str(b.Request.Path) },
	"url_path":   func(b *attrs.Bag) ref.Val { return str(b.Request.URLPath()) },
	"query":      func(b *attrs.Bag) ref.Val { return types.String(b.Request.Query()) },
	"protocol":   func(b *attrs.Bag) ref.Val { return str(b.Request.Protocol) },
	"headers":    func(b *attrs.Bag) ref.Val { return headerValue(b.Request.Headers) },
	"referer":    func(b *attrs.Bag) ref.Val { return str(b.Request.Headers.Get("Referer")) },
	"useragent":  func(b *attrs.Bag) ref.Val { return str(b.Request.Headers.Get("User-Agent")) },
	"time":       func(b *attrs.Bag) ref.Val { return types.Timestamp{Time: b.Request.Time} },
	"duration":   func(b *attrs.Bag) ref.Val { return types.Duration{Duration: b.Request.Duration} },
	"size":       func(b *attrs.Bag) ref.Val { return types.Int(b.Request.Size) },
	"total_size": func(b *attrs.Bag) ref.Val { return types.Int(b.Request.TotalSize()) },
}

var responseFields = map[string]getter{
	"code": func(b *attrs.Bag) ref.Val {
		if b.TCP {
			return nil
		}
		return types.Int(b.Response.Code)
	},
	"code_details": func(b *attrs.Bag) ref.Val { return str(b.Response.CodeDetails) },
	"flags":        func(b *attrs.Bag) ref.Val { return types.Uint(b.Response.Flags) },
	"grpc_status": func(b *attrs.Bag) ref.Val {
		if s, ok := b.Response.GRPCStatus(); ok {
			return types.Int(s)
		}
		return nil
	},
	"headers":    func(b *attrs.Bag) ref.Val { return headerValue(b.Response.Headers) },
	"trailers":   func(b *attrs.Bag) ref.Val { return trailerValue(b.Response.Headers) },
	"size":       func(b *attrs.Bag) ref.Val { return types.Int(b.Response.Size) },
	"total_size": func(b *attrs.Bag) ref.Val { return types.Int(b.Response.TotalSize()) },
}

func addressFields(get func(*attrs.Bag) *attrs.Address) map[string]getter {
	return map[string]getter{
		"address": func(b *attrs.Bag) ref.Val { return str(get(b).Address) },
		"port": func(b *attrs.Bag) ref.Val {
			if get(b).Port == 0 {
				return nil
			}
			return types.Int(get(b).Port)
		},
	}
}

var connectionFields = map[string]getter{
	"id":                             func(b *attrs.Bag) ref.Val { return types.Uint(b.Connection.ID) },
	"mtls":                           func(b *attrs.Bag) ref.Val { return types.Bool(b.Connection.MTLS) },
	"requested_server_name":          func(b *attrs.Bag) ref.Val { return str(b.Connection.RequestedServerName) },
	"tls_version":                    func(b *attrs.Bag) ref.Val { return str(b.Connection.TLSVersion) },
	"subject_local_certificate":      func(b *attrs.Bag) ref.Val { return str(b.Connection.SubjectLocal) },
	"subject_peer_certificate":       func(b *attrs.Bag) ref.Val { return str(b.Connection.SubjectPeer) },
	"dns_san_local_certificate":      func(b *attrs.Bag) ref.Val { return strs(b.Connection.DNSSanLocal) },
	"dns_san_peer_certificate":       func(b *attrs.Bag) ref.Val { return strs(b.Connection.DNSSanPeer) },
	"uri_san_local_certificate":      func(b *attrs.Bag) ref.Val { return strs(b.Connection.URISanLocal) },
	"uri_san_peer_certificate":       func(b *attrs.Bag) ref.Val { return strs(b.Connection.URISanPeer) },
	"termination_details":            func(b *attrs.Bag) ref.Val { return str(b.Connection.TerminationDetails) },
	"bytes_received":                 func(b *attrs.Bag) ref.Val { return types.Int(b.Connection.BytesReceived) },
	"bytes_sent":                     func(b *attrs.Bag) ref.Val { return types.Int(b.Connection.BytesSent) },
	"downstream_bytes_received":      func(b *attrs.Bag) ref.Val { return types.Int(b.Connection.BytesReceived) },
	"downstream_bytes_sent":          func(b *attrs.Bag) ref.Val { return types.Int(b.Connection.BytesSent) },
	"sha256_peer_certificate_digest": func(*attrs.Bag) ref.Val { return nil },
}

var upstreamFields = map[string]getter{
	"address": func(b *attrs.Bag) ref.Val { return str(b.Upstream.Address) },
	"port": func(b *attrs.Bag) ref.Val {
		if p := b.Upstream.Port(); p != 0 {
			return types.Int(p)
		}
		return nil
	},
	"local_address":             func(b *attrs.Bag) ref.Val { return str(b.Upstream.LocalAddress) },
	"transport_failure_reason":  func(b *attrs.Bag) ref.Val { return str(b.Upstream.TransportFailureReason) },
	"request_attempt_count":     func(b *attrs.Bag) ref.Val { return types.Uint(b.Upstream.RequestAttemptCount) },
	"tls_version":               func(b *attrs.Bag) ref.Val { return str(b.Upstream.TLSVersion) },
	"uri_san_peer_certificate":  func(b *attrs.Bag) ref.Val { return strs(b.Upstream.URISanPeer) },
	"uri_san_local_certificate": func(b *attrs.Bag) ref.Val { return strs(b.Upstream.URISanLocal) },
}

var xdsFields = map[string]getter{
	"cluster_name":      func(b *attrs.Bag) ref.Val { return str(b.XDS.ClusterName) },
	"route_name":        func(b *attrs.Bag) ref.Val { return str(b.XDS.RouteName) },
	"virtual_host_name": func(b *attrs.Bag) ref.Val { return str(b.XDS.VirtualHost) },
	"listener_name":     func(b *attrs.Bag) ref.Val { return str(b.XDS.Listener) },
	"filter_chain_name": func(b *attrs.Bag) ref.Val { return str(b.XDS.FilterChainName) },
	"listener_direction": func(b *attrs.Bag) ref.Val {
		switch b.XDS.Direction {
		case "INBOUND":
			return types.Int(1)
		case "OUTBOUND":
			return types.Int(2)
		}
		return types.Int(0)
	},
	"node": func(b *attrs.Bag) ref.Val { return workloadValue(b.Node) },
}

// headerValue is a header map keyed by lower-case names, multiple values
// joined with commas, as Envoy's request.headers.
func headerValue(h nethttp.Header) ref.Val {
	return &headerMap{h: h}
}

func trailerValue(h nethttp.Header) ref.Val {
	t := nethttp.Header{}
	for k, vs := range h {
		if name, ok := strings.CutPrefix(k, nethttp.TrailerPrefix); ok {
			t[nethttp.CanonicalHeaderKey(name)] = vs
		}
	}
	return &headerMap{h: t}
}

// workloadValue is a peer (or the node) as a map: Istio's peer fields,
// its node metadata keys and its labels.
func workloadValue(w *peer.Workload) ref.Val {
	if w == nil {
		return nil
	}
	labels := make(map[string]string, len(w.Labels))
	for k, v := range w.Labels {
		labels[k] = v
	}
	m := map[string]any{
		"id": w.ID, "name": w.Name, "namespace": w.Namespace, "workload": w.Workload, "app": w.App,
		"version": w.Version, "service": w.CanonicalService, "revision": w.CanonicalRevision,
		"cluster": w.Cluster, "mesh_id": w.MeshID, "service_account": w.ServiceAccount, "labels": labels,
		"metadata": map[string]any{"NAME": w.Name, "NAMESPACE": w.Namespace, "WORKLOAD_NAME": w.Workload,
			"CLUSTER_ID": w.Cluster, "MESH_ID": w.MeshID, "SERVICE_ACCOUNT": w.ServiceAccount, "LABELS": labels},
	}
	return types.DefaultTypeAdapter.NativeToValue(m)
}
