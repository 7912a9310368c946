package translate

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	tracev3 "github.com/envoyproxy/go-control-plane/envoy/config/trace/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tracingv3 "github.com/envoyproxy/go-control-plane/envoy/type/tracing/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	telemetry "istio.io/api/telemetry/v1alpha1"

	"github.com/lateenmesh/lateen/internal/mesh"
)

// Tracer names and defaults (as istiod's).
const (
	zipkinTracerName     = "envoy.tracers.zipkin"
	otelTracerName       = "envoy.tracers.opentelemetry"
	defaultZipkinPath    = "/api/v2/spans"
	defaultZipkinTimeout = 5 * time.Second
)

// tracing returns a connection manager's tracing (nil: none) and names
// its routes for spans: the RDS route configuration rds (already built)
// or the inline one.
func (b *builder) tracing(statPrefix, rds string, inline *routev3.RouteConfiguration) *hcmv3.HttpConnectionManager_Tracing {
	class := b.classOf(statPrefix)
	spec := b.view.Tracing(telemetryMode(class))
	if spec == nil {
		return nil
	}
	t := &hcmv3.HttpConnectionManager_Tracing{ClientSampling: &typev3.Percent{Value: 100},
		RandomSampling: &typev3.Percent{Value: spec.Sampling}, OverallSampling: &typev3.Percent{Value: 100},
		CustomTags: b.customTags(spec), NoContextPropagation: spec.DisableContextPropagation}
	if class == classGateway {
		t.SpawnUpstreamSpan = wrapperspb.Bool(true) // Istio's default for gateways
	}
	t.Provider, t.MaxPathTagLength = b.tracingProvider(spec)
	if t.MaxPathTagLength == nil {
		if n := b.view.Mesh.GetDefaultConfig().GetTracing().GetMaxPathTagLength(); n > 0 {
			t.MaxPathTagLength = wrapperspb.UInt32(n)
		}
	}
	if inline != nil {
		b.decorate(inline, class)
	}
	for _, rc := range b.routes {
		if rc.Name == rds && !b.predecorated[rc] {
			b.decorate(rc, class)
		}
	}
	return t
}

// tracingProvider is Tracing.provider for a Zipkin or OpenTelemetry
// extension provider, and the provider's max tag length.
func (b *builder) tracingProvider(spec *mesh.TracingSpec) (*tracev3.Tracing_Http, *wrapperspb.UInt32Value) {
	var maxTag uint32
	p := &tracev3.Tracing_Http{}
	switch prov := spec.Provider.GetProvider().(type) {
	case *meshv1alpha1.MeshConfig_ExtensionProvider_Zipkin:
		z := prov.Zipkin
		maxTag, p.Name = z.GetMaxTagLength(), zipkinTracerName
		p.ConfigType = &tracev3.Tracing_Http_TypedConfig{TypedConfig: mustAny(zipkinConfig(z, spec.Collector))}
	case *meshv1alpha1.MeshConfig_ExtensionProvider_Opentelemetry:
		o := prov.Opentelemetry
		maxTag, p.Name = o.GetMaxTagLength(), otelTracerName
		p.ConfigType = &tracev3.Tracing_Http_TypedConfig{TypedConfig: mustAny(b.otelConfig(o, spec.Collector))}
	}
	if maxTag == 0 {
		return p, nil
	}
	return p, wrapperspb.UInt32(maxTag)
}

func zipkinConfig(z *meshv1alpha1.MeshConfig_ExtensionProvider_ZipkinTracingProvider, c mesh.Collector) *tracev3.ZipkinConfig {
	path := z.GetPath()
	if path == "" {
		path = defaultZipkinPath
	}
	timeout := defaultZipkinTimeout
	if z.GetTimeout() != nil {
		timeout = z.GetTimeout().AsDuration()
	}
	zc := &tracev3.ZipkinConfig{CollectorEndpointVersion: tracev3.ZipkinConfig_HTTP_JSON,
		TraceId_128Bit: !z.GetEnable_64BitTraceId(), SharedSpanContext: wrapperspb.Bool(false),
		CollectorService: &corev3.HttpService{HttpUri: &corev3.HttpUri{Uri: "http://" + c.Host + path,
			HttpUpstreamType: &corev3.HttpUri_Cluster{Cluster: c.Cluster}, Timeout: durationpb.New(timeout)},
			RequestHeadersToAdd: providerHeaders(z.GetHeaders())}}
	if z.GetTraceContextOption() == meshv1alpha1.MeshConfig_ExtensionProvider_ZipkinTracingProvider_USE_B3_WITH_W3C_PROPAGATION {
		zc.TraceContextOption = tracev3.ZipkinConfig_USE_B3_WITH_W3C_PROPAGATION
	}
	return zc
}

// otelConfig exports OTLP over HTTP when the provider has http settings,
// over gRPC otherwise; the service name is the proxy's service cluster.
func (b *builder) otelConfig(o *meshv1alpha1.MeshConfig_ExtensionProvider_OpenTelemetryTracingProvider, c mesh.Collector) *tracev3.OpenTelemetryConfig {
	oc := &tracev3.OpenTelemetryConfig{ServiceName: b.serviceCluster()}
	if h := o.GetHttp(); h != nil {
		path := h.GetPath()
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		oc.HttpService = &corev3.HttpService{HttpUri: &corev3.HttpUri{Uri: c.Host + path,
			HttpUpstreamType: &corev3.HttpUri_Cluster{Cluster: c.Cluster}, Timeout: h.GetTimeout()},
			RequestHeadersToAdd: providerHeaders(h.GetHeaders())}
		return oc
	}
	g := &corev3.GrpcService{TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{
		ClusterName: c.Cluster, Authority: c.Host}}, Timeout: o.GetGrpc().GetTimeout()}
	for _, h := range o.GetGrpc().GetInitialMetadata() {
		g.InitialMetadata = append(g.InitialMetadata, &corev3.HeaderValue{Key: h.GetName(), Value: h.GetValue()})
	}
	oc.GrpcService = g
	return oc
}

func providerHeaders(hs []*meshv1alpha1.MeshConfig_ExtensionProvider_HttpHeader) []*corev3.HeaderValueOption {
	var out []*corev3.HeaderValueOption
	for _, h := range hs {
		out = append(out, &corev3.HeaderValueOption{AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
			Header: &corev3.HeaderValue{Key: h.GetName(), Value: h.GetValue()}})
	}
	return out
}

// workloadLabels are the proxy's canonical service and revision, as
// Istio's injector derives them from its labels.
func (b *builder) canonical() (service, revision string) {
	l := b.view.Proxy.Labels
	service = firstOf(l["service.istio.io/canonical-name"], l["app.kubernetes.io/name"], l["app"], b.view.Proxy.WorkloadName)
	revision = firstOf(l["service.istio.io/canonical-revision"], l["app.kubernetes.io/version"], l["version"], "latest")
	return service, revision
}

// serviceCluster is Envoy's local service cluster as Istio names it:
// <canonical service>.<namespace>.
func (b *builder) serviceCluster() string {
	svc, _ := b.canonical()
	return svc + "." + b.view.Proxy.Namespace
}

func firstOf(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// customTags are Istio's service tags (unless disabled) and the Telemetry
// API's custom tags (or, without them, the ProxyConfig's), sorted by tag.
func (b *builder) customTags(spec *mesh.TracingSpec) []*tracingv3.CustomTag {
	var tags []*tracingv3.CustomTag
	if spec.EnableIstioTags {
		tags = b.istioTags()
	}
	if len(spec.CustomTags) > 0 {
		for name, t := range spec.CustomTags {
			if ct := telemetryTag(name, t); ct != nil {
				tags = append(tags, ct)
			}
		}
	} else {
		for name, t := range b.view.Mesh.GetDefaultConfig().GetTracing().GetCustomTags() {
			if ct := proxyConfigTag(name, t); ct != nil {
				tags = append(tags, ct)
			}
		}
	}
	slices.SortFunc(tags, func(a, c *tracingv3.CustomTag) int { return cmp.Compare(a.Tag, c.Tag) })
	return tags
}

func (b *builder) istioTags() []*tracingv3.CustomTag {
	service, revision := b.canonical()
	meshID := b.view.Mesh.GetTrustDomain() // Istio's default MESH_ID
	clusterID := firstOf(b.view.Proxy.ClusterID, "unknown")
	return []*tracingv3.CustomTag{literalTag("istio.canonical_revision", revision),
		literalTag("istio.canonical_service", service), literalTag("istio.mesh_id", firstOf(meshID, "unknown")),
		literalTag("istio.namespace", firstOf(b.view.Proxy.Namespace, "default")), literalTag("istio.cluster_id", clusterID)}
}

func literalTag(tag, value string) *tracingv3.CustomTag {
	return &tracingv3.CustomTag{Tag: tag, Type: &tracingv3.CustomTag_Literal_{Literal: &tracingv3.CustomTag_Literal{Value: value}}}
}

func headerTag(tag, name, def string) *tracingv3.CustomTag {
	return &tracingv3.CustomTag{Tag: tag, Type: &tracingv3.CustomTag_RequestHeader{RequestHeader: &tracingv3.CustomTag_Header{
		Name: name, DefaultValue: def}}}
}

// telemetryTag converts a Telemetry API tag (environment tags are
// rejected by validation: the proxy reads no environment).
func telemetryTag(name string, t *telemetry.Tracing_CustomTag) *tracingv3.CustomTag {
	switch x := t.GetType().(type) {
	case *telemetry.Tracing_CustomTag_Literal:
		return literalTag(name, x.Literal.GetValue())
	case *telemetry.Tracing_CustomTag_Header:
		return headerTag(name, x.Header.GetName(), x.Header.GetDefaultValue())
	case *telemetry.Tracing_CustomTag_Formatter:
		return &tracingv3.CustomTag{Tag: name, Type: &tracingv3.CustomTag_Value{Value: x.Formatter.GetValue()}}
	}
	return nil
}

func proxyConfigTag(name string, t *meshv1alpha1.Tracing_CustomTag) *tracingv3.CustomTag {
	switch x := t.GetType().(type) {
	case *meshv1alpha1.Tracing_CustomTag_Literal:
		return literalTag(name, x.Literal.GetValue())
	case *meshv1alpha1.Tracing_CustomTag_Header:
		return headerTag(name, x.Header.GetName(), x.Header.GetDefaultValue())
	}
	return nil
}

// decorate names the routes of a route configuration for tracing as
// istiod does: <host>:<port><path> for a route to one service's cluster
// (the path as matched: a prefix gets "*"), the cluster name otherwise;
// inbound routes are named by the service the workload serves there.
func (b *builder) decorate(rc *routev3.RouteConfiguration, class listenerClass) {
	for _, vh := range rc.VirtualHosts {
		for _, r := range vh.Routes {
			if op := b.routeOperation(r, class); op != "" && r.GetDecorator().GetOperation() != op {
				r.Decorator = &routev3.Decorator{Operation: op}
			}
		}
	}
}

func (b *builder) routeOperation(r *routev3.Route, class listenerClass) string {
	a := r.GetRoute()
	if a == nil {
		return ""
	}
	cluster := a.GetCluster()
	if wc := a.GetWeightedClusters(); wc != nil && len(wc.GetClusters()) > 0 {
		cluster = wc.GetClusters()[0].GetName()
	}
	parts := strings.Split(cluster, "|")
	if len(parts) != 4 {
		return cluster
	}
	host, port := parts[3], parts[1]
	if class == classInbound {
		n, _ := strconv.ParseUint(port, 10, 32)
		if host = b.inboundHost(uint32(n)); host == "" {
			return cluster
		}
		return host + ":" + port + "/*"
	}
	return host + ":" + port + routePath(r.GetMatch())
}

// inboundHost is the host of a service the workload serves on a port.
func (b *builder) inboundHost(port uint32) string {
	for _, svc := range b.view.Instances {
		if servesPort(svc, b.view.Workload, port) {
			return svc.Hostname
		}
	}
	return ""
}

func routePath(m *routev3.RouteMatch) string {
	switch {
	case m.GetPrefix() != "":
		return m.GetPrefix() + "*"
	case m.GetPath() != "":
		return m.GetPath()
	case m.GetSafeRegex() != nil:
		return m.GetSafeRegex().GetRegex()
	case m.GetPathSeparatedPrefix() != "":
		return m.GetPathSeparatedPrefix() + "*"
	}
	return "/*"
}
