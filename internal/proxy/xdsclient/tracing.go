package xdsclient

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tracev3 "github.com/envoyproxy/go-control-plane/envoy/config/trace/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tracingv3 "github.com/envoyproxy/go-control-plane/envoy/type/tracing/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/telemetry/accesslog"
)

// Tracer type URLs (docs/xds.md).
const (
	zipkinTypeURL = "type.googleapis.com/envoy.config.trace.v3.ZipkinConfig"
	otelTypeURL   = "type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig"
)

// decodeHCMObservability decodes an HCM's access_log and tracing.
func decodeHCMObservability(pb *hcmv3.HttpConnectionManager, h *resource.HTTPConnectionManager) error {
	var err error
	if h.AccessLogs, err = decodeAccessLogs(pb.GetAccessLog()); err != nil {
		return err
	}
	if t := pb.GetTracing(); t != nil {
		if h.Tracing, err = decodeTracing(t); err != nil {
			return under("tracing", err)
		}
	}
	return nil
}

// decodeTracing decodes HttpConnectionManager.tracing.
func decodeTracing(pb *hcmv3.HttpConnectionManager_Tracing) (*resource.Tracing, error) {
	t := &resource.Tracing{
		ClientSampling:       percent(pb.GetClientSampling()),
		RandomSampling:       percent(pb.GetRandomSampling()),
		OverallSampling:      percent(pb.GetOverallSampling()),
		MaxPathTagLength:     256,
		SpawnUpstreamSpan:    pb.GetSpawnUpstreamSpan().GetValue(),
		NoContextPropagation: pb.GetNoContextPropagation(),
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"client_sampling", t.ClientSampling}, {"random_sampling", t.RandomSampling}, {"overall_sampling", t.OverallSampling}} {
		if p.v < 0 || p.v > 100 {
			return nil, fieldErr(p.name+".value", "must be within [0, 100], got %v", p.v)
		}
	}
	if l := pb.GetMaxPathTagLength(); l != nil {
		t.MaxPathTagLength = int(l.GetValue())
	}
	for i, ct := range pb.GetCustomTags() {
		tag, err := decodeCustomTag(ct)
		if err != nil {
			return nil, under(fmt.Sprintf("custom_tags[%d]", i), err)
		}
		t.CustomTags = append(t.CustomTags, tag)
	}
	if p := pb.GetProvider(); p != nil {
		prov, err := decodeTracingProvider(p)
		if err != nil {
			return nil, under("provider", err)
		}
		t.Provider = prov
	}
	return t, nil
}

// percent reads an optional envoy.type.v3.Percent (Envoy's default 100%).
func percent(p *typev3.Percent) float64 {
	if p == nil {
		return 100
	}
	return p.GetValue()
}

func decodeCustomTag(ct *tracingv3.CustomTag) (resource.CustomTag, error) {
	tag := resource.CustomTag{Tag: ct.GetTag()}
	if tag.Tag == "" {
		return tag, fieldErr("tag", "required")
	}
	switch t := ct.GetType().(type) {
	case *tracingv3.CustomTag_Literal_:
		tag.Kind, tag.Value = resource.TagLiteral, t.Literal.GetValue()
	case *tracingv3.CustomTag_RequestHeader:
		if t.RequestHeader.GetName() == "" {
			return tag, fieldErr("request_header.name", "required")
		}
		tag.Kind, tag.Value, tag.Default = resource.TagRequestHeader, strings.ToLower(t.RequestHeader.GetName()),
			t.RequestHeader.GetDefaultValue()
	case *tracingv3.CustomTag_Value:
		if _, err := accesslog.CompileText(t.Value, true, accesslog.Env{}); err != nil {
			return tag, fieldErr("value", "%v", err)
		}
		tag.Kind, tag.Value = resource.TagFormat, t.Value
	default:
		return tag, fieldErr("type", "literal, request_header or value is required")
	}
	return tag, nil
}

func decodeTracingProvider(p *tracev3.Tracing_Http) (*resource.TracingProvider, error) {
	a := p.GetTypedConfig()
	if a == nil {
		return nil, fieldErr("typed_config", "required")
	}
	prov := &resource.TracingProvider{Name: p.GetName()}
	switch a.GetTypeUrl() {
	case zipkinTypeURL:
		var zc tracev3.ZipkinConfig
		if err := unpack(a, &zc); err != nil {
			return nil, under("typed_config", err)
		}
		z, err := decodeZipkin(&zc)
		if err != nil {
			return nil, under("typed_config", err)
		}
		prov.Zipkin = z
	case otelTypeURL:
		var oc tracev3.OpenTelemetryConfig
		if err := unpack(a, &oc); err != nil {
			return nil, under("typed_config", err)
		}
		o, err := decodeOTel(&oc)
		if err != nil {
			return nil, under("typed_config", err)
		}
		prov.OpenTelemetry = o
	default:
		return nil, fieldErr("typed_config", "tracer type %q not supported by lateen-proxy", a.GetTypeUrl())
	}
	return prov, nil
}

func decodeZipkin(zc *tracev3.ZipkinConfig) (*resource.ZipkinTracer, error) {
	if v := zc.GetCollectorEndpointVersion(); v != tracev3.ZipkinConfig_HTTP_JSON {
		return nil, fieldErr("collector_endpoint_version", "only HTTP_JSON is supported by lateen-proxy, got %s", v)
	}
	z := &resource.ZipkinTracer{TraceID128: zc.GetTraceId_128Bit(),
		SharedSpanContext: zc.GetSharedSpanContext() == nil || zc.GetSharedSpanContext().GetValue(),
		W3C:               zc.GetTraceContextOption() == tracev3.ZipkinConfig_USE_B3_WITH_W3C_PROPAGATION}
	if s := zc.GetCollectorService(); s != nil {
		svc, err := decodeHTTPService(s)
		if err != nil {
			return nil, under("collector_service", err)
		}
		z.Collector = svc
		return z, nil
	}
	if zc.GetCollectorCluster() == "" || zc.GetCollectorEndpoint() == "" {
		return nil, fieldErr("collector_cluster", "collector_service, or collector_cluster and collector_endpoint, are required")
	}
	host := zc.GetCollectorHostname()
	if host == "" {
		host = zc.GetCollectorCluster()
	}
	z.Collector = resource.HTTPService{Cluster: zc.GetCollectorCluster(), Host: host, Path: zc.GetCollectorEndpoint()}
	return z, nil
}

func decodeOTel(oc *tracev3.OpenTelemetryConfig) (*resource.OpenTelemetryTracer, error) {
	o := &resource.OpenTelemetryTracer{ServiceName: oc.GetServiceName()}
	if o.ServiceName == "" {
		o.ServiceName = "unknown_service:envoy"
	}
	switch {
	case oc.GetGrpcService() != nil:
		g, err := decodeGRPCService(oc.GetGrpcService())
		if err != nil {
			return nil, under("grpc_service", err)
		}
		o.GRPC = g
	case oc.GetHttpService() != nil:
		h, err := decodeHTTPService(oc.GetHttpService())
		if err != nil {
			return nil, under("http_service", err)
		}
		o.HTTP = &h
	default:
		return nil, fieldErr("grpc_service", "grpc_service or http_service is required")
	}
	return o, nil
}

func decodeHTTPService(s *corev3.HttpService) (resource.HTTPService, error) {
	u := s.GetHttpUri()
	svc := resource.HTTPService{Cluster: u.GetCluster()}
	if svc.Cluster == "" {
		return svc, fieldErr("http_uri.cluster", "required")
	}
	host, path, err := splitURI(u.GetUri())
	if err != nil {
		return svc, fieldErr("http_uri.uri", "%v", err)
	}
	if host == "" {
		host = svc.Cluster
	}
	svc.Host, svc.Path = host, path
	if svc.Timeout, err = duration(u.GetTimeout(), "http_uri.timeout"); err != nil {
		return svc, err
	}
	for i, h := range s.GetRequestHeadersToAdd() {
		if h.GetHeader().GetKey() == "" {
			return svc, fieldErr(fmt.Sprintf("request_headers_to_add[%d].header.key", i), "required")
		}
		svc.Headers = append(svc.Headers, resource.HeaderValue{
			Name: http.CanonicalHeaderKey(h.GetHeader().GetKey()), Value: h.GetHeader().GetValue()})
	}
	return svc, nil
}

// splitURI reads an HttpUri uri: a full URL, "host/path", or a path.
func splitURI(uri string) (host, path string, err error) {
	switch {
	case uri == "":
		return "", "", fmt.Errorf("required")
	case strings.Contains(uri, "://"):
		u, err := url.Parse(uri)
		if err != nil {
			return "", "", err
		}
		if u.Scheme != "http" {
			return "", "", fmt.Errorf("scheme %q not supported by lateen-proxy (plain http only)", u.Scheme)
		}
		return u.Host, u.RequestURI(), nil
	case strings.HasPrefix(uri, "/"):
		return "", uri, nil
	}
	host, rest, _ := strings.Cut(uri, "/")
	return host, "/" + rest, nil
}

func decodeGRPCService(s *corev3.GrpcService) (*resource.GRPCService, error) {
	eg := s.GetEnvoyGrpc()
	if eg == nil || eg.GetClusterName() == "" {
		return nil, fieldErr("envoy_grpc.cluster_name", "required (google_grpc is not supported by lateen-proxy)")
	}
	g := &resource.GRPCService{Cluster: eg.GetClusterName(), Authority: eg.GetAuthority()}
	if g.Authority == "" {
		g.Authority = g.Cluster
	}
	var err error
	if g.Timeout, err = duration(s.GetTimeout(), "timeout"); err != nil {
		return nil, err
	}
	for _, h := range s.GetInitialMetadata() {
		g.Metadata = append(g.Metadata, resource.HeaderValue{Name: strings.ToLower(h.GetKey()), Value: h.GetValue()})
	}
	return g, nil
}
