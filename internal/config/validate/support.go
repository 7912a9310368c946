package validate

import (
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/lateenmesh/lateen/internal/config"
)

// Unsupported names a field (or one value of a field) that is valid Istio
// configuration but not implemented by Lateen yet. Objects that set it are
// rejected with an error wrapping config.ErrNotSupported, never silently
// accepted.
type Unsupported struct {
	Kind config.Kind
	// Path is a pattern over JSON field names from the object root, "[]"
	// standing for any list index or map key: "spec.http[].mirrors",
	// "spec.trafficPolicy.tunnel". It starts with "spec", or with
	// "data.mesh" for config.MeshConfigMap (which also covers standalone
	// mesh files).
	Path string
	// Value, when set, restricts the entry to the field having this value:
	// an enum value name ("DNS"), a string, a number or "true"/"false". A
	// scalar field that is not written counts as its default value.
	// Without Value, the entry matches when the field is set: a message or
	// scalar present, a list or map not empty.
	Value  string
	Reason string
}

// unsupported lists what Lateen does not implement yet. Keep it in sync with
// the translation code: an entry is removed when its feature lands.
var unsupported = []Unsupported{
	// VirtualService
	{Kind: config.VirtualService, Path: "spec.http[].match[].statPrefix", Reason: "per-route stats"},
	{Kind: config.VirtualService, Path: "spec.tcp", Reason: "TCP routes"},
	{Kind: config.VirtualService, Path: "spec.tls", Reason: "TLS routes"},

	// DestinationRule
	{Kind: config.DestinationRule, Path: "spec.trafficPolicy.tls.caCrl", Reason: "certificate revocation lists"},
	{Kind: config.DestinationRule, Path: "spec.trafficPolicy.portLevelSettings[].tls.caCrl", Reason: "certificate revocation lists"},
	{Kind: config.DestinationRule, Path: "spec.subsets[].trafficPolicy.tls.caCrl", Reason: "certificate revocation lists"},
	{Kind: config.DestinationRule, Path: "spec.subsets[].trafficPolicy.portLevelSettings[].tls.caCrl", Reason: "certificate revocation lists"},
	{Kind: config.DestinationRule, Path: "spec.trafficPolicy.tunnel", Reason: "TCP tunneling"},
	{Kind: config.DestinationRule, Path: "spec.trafficPolicy.proxyProtocol", Reason: "upstream PROXY protocol"},
	{Kind: config.DestinationRule, Path: "spec.trafficPolicy.retryBudget", Reason: "retry budgets"},
	{Kind: config.DestinationRule, Path: "spec.subsets[].trafficPolicy.tunnel", Reason: "TCP tunneling"},
	{Kind: config.DestinationRule, Path: "spec.subsets[].trafficPolicy.proxyProtocol", Reason: "upstream PROXY protocol"},
	{Kind: config.DestinationRule, Path: "spec.subsets[].trafficPolicy.retryBudget", Reason: "retry budgets"},
	{Kind: config.DestinationRule, Path: "spec.trafficPolicy.loadBalancer.zoneAwareLbSetting", Reason: "zone aware load balancing"},
	{Kind: config.DestinationRule, Path: "spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.attributes", Reason: "hash cookie attributes"},
	{Kind: config.DestinationRule, Path: "spec.trafficPolicy.connectionPool.http.http2KeepAlive", Reason: "HTTP/2 keepalive pings"},
	{Kind: config.DestinationRule, Path: "spec.trafficPolicy.outlierDetection.outlierDetectionHttpErrorCodes", Reason: "custom outlier detection error codes"},
	{Kind: config.DestinationRule, Path: "spec.trafficPolicy.outlierDetection.consecutiveErrors", Reason: "deprecated consecutiveErrors (use consecutive5xxErrors or consecutiveGatewayErrors)"},
	{Kind: config.DestinationRule, Path: "spec.trafficPolicy.portLevelSettings[].loadBalancer.zoneAwareLbSetting", Reason: "zone aware load balancing"},
	{Kind: config.DestinationRule, Path: "spec.trafficPolicy.portLevelSettings[].loadBalancer.consistentHash.httpCookie.attributes", Reason: "hash cookie attributes"},
	{Kind: config.DestinationRule, Path: "spec.trafficPolicy.portLevelSettings[].connectionPool.http.http2KeepAlive", Reason: "HTTP/2 keepalive pings"},
	{Kind: config.DestinationRule, Path: "spec.trafficPolicy.portLevelSettings[].outlierDetection.outlierDetectionHttpErrorCodes", Reason: "custom outlier detection error codes"},
	{Kind: config.DestinationRule, Path: "spec.trafficPolicy.portLevelSettings[].outlierDetection.consecutiveErrors", Reason: "deprecated consecutiveErrors (use consecutive5xxErrors or consecutiveGatewayErrors)"},
	{Kind: config.DestinationRule, Path: "spec.subsets[].trafficPolicy.loadBalancer.zoneAwareLbSetting", Reason: "zone aware load balancing"},
	{Kind: config.DestinationRule, Path: "spec.subsets[].trafficPolicy.loadBalancer.consistentHash.httpCookie.attributes", Reason: "hash cookie attributes"},
	{Kind: config.DestinationRule, Path: "spec.subsets[].trafficPolicy.connectionPool.http.http2KeepAlive", Reason: "HTTP/2 keepalive pings"},
	{Kind: config.DestinationRule, Path: "spec.subsets[].trafficPolicy.outlierDetection.outlierDetectionHttpErrorCodes", Reason: "custom outlier detection error codes"},
	{Kind: config.DestinationRule, Path: "spec.subsets[].trafficPolicy.outlierDetection.consecutiveErrors", Reason: "deprecated consecutiveErrors (use consecutive5xxErrors or consecutiveGatewayErrors)"},
	{Kind: config.DestinationRule, Path: "spec.subsets[].trafficPolicy.portLevelSettings[].loadBalancer.zoneAwareLbSetting", Reason: "zone aware load balancing"},
	{Kind: config.DestinationRule, Path: "spec.subsets[].trafficPolicy.portLevelSettings[].loadBalancer.consistentHash.httpCookie.attributes", Reason: "hash cookie attributes"},
	{Kind: config.DestinationRule, Path: "spec.subsets[].trafficPolicy.portLevelSettings[].connectionPool.http.http2KeepAlive", Reason: "HTTP/2 keepalive pings"},
	{Kind: config.DestinationRule, Path: "spec.subsets[].trafficPolicy.portLevelSettings[].outlierDetection.outlierDetectionHttpErrorCodes", Reason: "custom outlier detection error codes"},
	{Kind: config.DestinationRule, Path: "spec.subsets[].trafficPolicy.portLevelSettings[].outlierDetection.consecutiveErrors", Reason: "deprecated consecutiveErrors (use consecutive5xxErrors or consecutiveGatewayErrors)"},

	// ServiceEntry and WorkloadEntry
	{Kind: config.ServiceEntry, Path: "spec.resolution", Value: "NONE", Reason: "resolution NONE (use STATIC with endpoints or a workloadSelector)"},
	{Kind: config.ServiceEntry, Path: "spec.resolution", Value: "DNS", Reason: "resolution DNS"},
	{Kind: config.ServiceEntry, Path: "spec.resolution", Value: "DNS_ROUND_ROBIN", Reason: "resolution DNS_ROUND_ROBIN"},
	{Kind: config.ServiceEntry, Path: "spec.resolution", Value: "DYNAMIC_DNS", Reason: "resolution DYNAMIC_DNS"},
	{Kind: config.ServiceEntry, Path: "spec.endpoints[].network", Reason: "multi-network meshes"},
	{Kind: config.WorkloadEntry, Path: "spec.network", Reason: "multi-network meshes"},

	// Gateway
	{Kind: config.Gateway, Path: "spec.servers[].tls", Reason: "TLS on gateways"},
	{Kind: config.Gateway, Path: "spec.servers[].defaultEndpoint", Reason: "gateway default endpoints"},
	{Kind: config.Gateway, Path: "spec.servers[].port.protocol", Value: "HTTPS", Reason: "HTTPS gateway servers"},
	{Kind: config.Gateway, Path: "spec.servers[].port.protocol", Value: "TLS", Reason: "TLS gateway servers"},
	{Kind: config.Gateway, Path: "spec.servers[].port.protocol", Value: "TCP", Reason: "TCP gateway servers"},
	{Kind: config.Gateway, Path: "spec.servers[].port.protocol", Value: "MONGO", Reason: "MONGO gateway servers"},
	{Kind: config.Gateway, Path: "spec.servers[].port.protocol", Value: "GRPC-WEB", Reason: "GRPC-WEB gateway servers"},

	// Sidecar
	{Kind: config.Sidecar, Path: "spec.egress[].port", Reason: "egress listener ports"},
	{Kind: config.Sidecar, Path: "spec.egress[].bind", Reason: "egress listener binds"},
	{Kind: config.Sidecar, Path: "spec.egress[].captureMode", Reason: "egress capture modes"},
	{Kind: config.Sidecar, Path: "spec.ingress[].tls", Reason: "TLS on sidecar ingress"},
	{Kind: config.Sidecar, Path: "spec.ingress[].connectionPool", Reason: "ingress connection pools"},
	{Kind: config.Sidecar, Path: "spec.ingress[].captureMode", Value: "IPTABLES", Reason: "iptables capture"},
	{Kind: config.Sidecar, Path: "spec.inboundConnectionPool", Reason: "inbound connection pools"},
	{Kind: config.Sidecar, Path: "spec.outboundTrafficPolicy.egressProxy", Reason: "egress proxies"},

	// Telemetry: metrics are implemented (overrides of the standard
	// metrics, for the prometheus provider).
	// Access logging and tracing are implemented, except what the proxy
	// cannot do without reading its environment, and sampling that ignores
	// the request id.
	{Kind: config.Telemetry, Path: "spec.tracing[].customTags[].environment", Reason: "environment variable tags"},
	{Kind: config.Telemetry, Path: "spec.tracing[].useRequestIdForTraceSampling", Value: "false", Reason: "random sampling independent of the request id"},
	{Kind: config.Telemetry, Path: "spec.targetRef", Reason: "Telemetry policy attachment (targetRef)"},
	{Kind: config.Telemetry, Path: "spec.targetRefs", Reason: "Telemetry policy attachment (targetRefs)"},
	{Kind: config.Telemetry, Path: "spec.metrics[].overrides[].match.customMetric", Reason: "custom metrics"},
	{Kind: config.Telemetry, Path: "spec.metrics[].overrides[].match.metric", Value: "GRPC_REQUEST_MESSAGES", Reason: "gRPC message counts"},
	{Kind: config.Telemetry, Path: "spec.metrics[].overrides[].match.metric", Value: "GRPC_RESPONSE_MESSAGES", Reason: "gRPC message counts"},

	// MeshConfig
	// Extension providers: prometheus (metrics) is implemented.
	{Kind: config.MeshConfigMap, Path: "data.mesh.extensionProviders[].envoyExtAuthzHttp", Reason: "external authorization providers"},
	{Kind: config.MeshConfigMap, Path: "data.mesh.extensionProviders[].envoyExtAuthzGrpc", Reason: "external authorization providers"},
	{Kind: config.MeshConfigMap, Path: "data.mesh.extensionProviders[].zipkin.headers[].envName", Reason: "header values from pilot's environment"},
	{Kind: config.MeshConfigMap, Path: "data.mesh.extensionProviders[].lightstep", Reason: "tracing providers"},
	{Kind: config.MeshConfigMap, Path: "data.mesh.extensionProviders[].datadog", Reason: "tracing providers"},
	{Kind: config.MeshConfigMap, Path: "data.mesh.extensionProviders[].stackdriver", Reason: "Stackdriver telemetry"},
	{Kind: config.MeshConfigMap, Path: "data.mesh.extensionProviders[].opencensus", Reason: "tracing providers"},
	{Kind: config.MeshConfigMap, Path: "data.mesh.extensionProviders[].skywalking", Reason: "tracing providers"},
	{Kind: config.MeshConfigMap, Path: "data.mesh.extensionProviders[].opentelemetry.resourceDetectors", Reason: "OpenTelemetry resource detectors"},
	{Kind: config.MeshConfigMap, Path: "data.mesh.extensionProviders[].opentelemetry.dynatraceSampler", Reason: "OpenTelemetry samplers"},
	{Kind: config.MeshConfigMap, Path: "data.mesh.extensionProviders[].opentelemetry.serviceAttributeEnrichment", Reason: "OpenTelemetry service attribute enrichment"},
	{Kind: config.MeshConfigMap, Path: "data.mesh.extensionProviders[].opentelemetry.http.headers[].envName", Reason: "header values from pilot's environment"},
	{Kind: config.MeshConfigMap, Path: "data.mesh.extensionProviders[].opentelemetry.grpc.initialMetadata[].envName", Reason: "header values from pilot's environment"},
	{Kind: config.MeshConfigMap, Path: "data.mesh.extensionProviders[].envoyHttpAls", Reason: "access log providers"},
	{Kind: config.MeshConfigMap, Path: "data.mesh.extensionProviders[].envoyTcpAls", Reason: "access log providers"},
	{Kind: config.MeshConfigMap, Path: "data.mesh.extensionProviders[].envoyOtelAls", Reason: "access log providers"},
	{Kind: config.MeshConfigMap, Path: "data.mesh.extensionProviders[].sds", Reason: "SDS providers"},
	{Kind: config.MeshConfigMap, Path: "data.mesh.defaultConfig.tracing.lightstep", Reason: "Lightstep tracing"},
	{Kind: config.MeshConfigMap, Path: "data.mesh.defaultConfig.tracing.datadog", Reason: "Datadog tracing"},
	{Kind: config.MeshConfigMap, Path: "data.mesh.defaultConfig.tracing.stackdriver", Reason: "Stackdriver tracing"},
	{Kind: config.MeshConfigMap, Path: "data.mesh.defaultConfig.tracing.openCensusAgent", Reason: "OpenCensus tracing"},
	{Kind: config.MeshConfigMap, Path: "data.mesh.defaultConfig.tracing.tlsSettings", Reason: "TLS to the tracing collector"},
	{Kind: config.MeshConfigMap, Path: "data.mesh.defaultConfig.tracing.customTags[].environment", Reason: "environment variable tags"},
	{Kind: config.MeshConfigMap, Path: "data.mesh.meshMTLS", Reason: "mutual TLS settings"},
	{Kind: config.MeshConfigMap, Path: "data.mesh.tlsDefaults", Reason: "TLS defaults"},
	{Kind: config.MeshConfigMap, Path: "data.mesh.caCertificates", Reason: "extra CA certificates"},
	{Kind: config.MeshConfigMap, Path: "data.mesh.trustDomainAliases", Reason: "trust domain aliases"},
	{Kind: config.MeshConfigMap, Path: "data.mesh.serviceSettings", Reason: "service settings"},
	{Kind: config.MeshConfigMap, Path: "data.mesh.outboundClusterStatName", Reason: "custom cluster stat names"},
	{Kind: config.MeshConfigMap, Path: "data.mesh.inboundClusterStatName", Reason: "custom cluster stat names"},
}

// UnsupportedError reports one use of an unsupported field.
type UnsupportedError struct {
	Path   string
	Reason string
}

func (e *UnsupportedError) Error() string {
	return e.Path + ": " + e.Reason + ": " + config.ErrNotSupported.Error()
}

// Unwrap makes errors.Is(err, config.ErrNotSupported) hold.
func (e *UnsupportedError) Unwrap() error { return config.ErrNotSupported }

// unsupportedKinds are kinds Lateen reads but does not enforce at all yet;
// any object of such a kind is rejected.
var unsupportedKinds = map[config.Kind]string{
	config.AuthorizationPolicy:   "AuthorizationPolicy",
	config.RequestAuthentication: "RequestAuthentication (JWT)",
	config.WorkloadGroup:         "WorkloadGroup (VM auto-registration)",
}

// checkUnsupported reports every field of o that matches an entry of table,
// or the whole object when its kind is not enforced yet.
func checkUnsupported(o *config.Object, table []Unsupported) []*UnsupportedError {
	if o == nil || o.Spec == nil {
		return nil
	}
	if reason, ok := unsupportedKinds[o.Kind]; ok {
		return []*UnsupportedError{{Path: "kind", Reason: reason}}
	}
	return gate(o.Kind, specRoot(o.Kind), o.Spec, table)
}

// gate matches the entries of table for kind against msg, which sits at
// root in the object.
func gate(kind config.Kind, root path, msg proto.Message, table []Unsupported) []*UnsupportedError {
	m := msg.ProtoReflect()
	if !m.IsValid() {
		return nil
	}
	var out []*UnsupportedError
	for _, u := range table {
		if u.Kind != kind {
			continue
		}
		segs, ok := patternSegments(kind, u.Path)
		if !ok {
			continue
		}
		for _, p := range matchFields(m, root, segs, u.Value) {
			out = append(out, &UnsupportedError{Path: string(p), Reason: u.Reason})
		}
	}
	return out
}

// segment is one step of a pattern: a field name, and whether it is
// followed by "[]".
type segment struct {
	name string
	each bool
}

// patternSegments splits a pattern after its root ("spec." or "data.mesh.").
func patternSegments(kind config.Kind, pattern string) ([]segment, bool) {
	rest, ok := strings.CutPrefix(pattern, string(specRoot(kind))+".")
	if !ok || rest == "" {
		return nil, false
	}
	var segs []segment
	for _, s := range strings.Split(rest, ".") {
		name, each := strings.CutSuffix(s, "[]")
		if name == "" || strings.ContainsAny(name, "[]") {
			return nil, false
		}
		segs = append(segs, segment{name: name, each: each})
	}
	return segs, true
}

func fieldByName(md protoreflect.MessageDescriptor, name string) protoreflect.FieldDescriptor {
	fields := md.Fields()
	if fd := fields.ByJSONName(name); fd != nil {
		return fd
	}
	return fields.ByTextName(name)
}

// matchFields returns the concrete paths in m (at p) that segs selects and
// that are set (or have value, when value is given).
func matchFields(m protoreflect.Message, p path, segs []segment, value string) []path {
	seg := segs[0]
	fd := fieldByName(m.Descriptor(), seg.name)
	if fd == nil {
		return nil
	}
	fp := p.field(fd.JSONName())
	last := len(segs) == 1
	switch {
	case fd.IsList():
		return matchList(m.Get(fd).List(), fd, fp, seg, segs[1:], value)
	case fd.IsMap():
		return matchMap(m.Get(fd).Map(), fd, fp, seg, segs[1:], value)
	case seg.each:
		return nil
	case last:
		if fieldMatches(m, fd, value) {
			return []path{fp}
		}
		return nil
	case fd.Message() != nil && m.Has(fd):
		return matchFields(m.Get(fd).Message(), fp, segs[1:], value)
	}
	return nil
}

func matchList(l protoreflect.List, fd protoreflect.FieldDescriptor, p path, seg segment, rest []segment, value string) []path {
	if !seg.each {
		if len(rest) == 0 && l.Len() > 0 && (value == "" || anyEqual(l, fd, value)) {
			return []path{p}
		}
		return nil
	}
	var out []path
	for i := 0; i < l.Len(); i++ {
		out = append(out, matchElem(l.Get(i), fd, p.index(i), rest, value)...)
	}
	return out
}

func anyEqual(l protoreflect.List, fd protoreflect.FieldDescriptor, value string) bool {
	for i := 0; i < l.Len(); i++ {
		if valueString(fd, l.Get(i)) == value {
			return true
		}
	}
	return false
}

func matchMap(mp protoreflect.Map, fd protoreflect.FieldDescriptor, p path, seg segment, rest []segment, value string) []path {
	if !seg.each {
		if len(rest) == 0 && mp.Len() > 0 && value == "" {
			return []path{p}
		}
		return nil
	}
	vals := map[string]protoreflect.Value{}
	mp.Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
		vals[k.String()] = v
		return true
	})
	var out []path
	for _, k := range sortedKeys(vals) {
		out = append(out, matchElem(vals[k], fd.MapValue(), p.key(k), rest, value)...)
	}
	return out
}

// matchElem matches one list element or map value (described by fd).
func matchElem(v protoreflect.Value, fd protoreflect.FieldDescriptor, p path, rest []segment, value string) []path {
	if len(rest) == 0 {
		if value == "" || valueString(fd, v) == value {
			return []path{p}
		}
		return nil
	}
	if fd.Message() == nil {
		return nil
	}
	return matchFields(v.Message(), p, rest, value)
}

// fieldMatches reports whether a singular field is set, or has value.
func fieldMatches(m protoreflect.Message, fd protoreflect.FieldDescriptor, value string) bool {
	if value == "" {
		return m.Has(fd)
	}
	if od := fd.ContainingOneof(); od != nil && !m.Has(fd) {
		return false
	}
	if fd.Message() != nil {
		if !m.Has(fd) {
			return false
		}
		inner := fd.Message().Fields().ByName("value")
		return inner != nil && valueString(inner, m.Get(fd).Message().Get(inner)) == value
	}
	return valueString(fd, m.Get(fd)) == value
}

// valueString renders a scalar for comparison with Unsupported.Value.
func valueString(fd protoreflect.FieldDescriptor, v protoreflect.Value) string {
	if fd.Kind() == protoreflect.EnumKind {
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return string(ev.Name())
		}
	}
	if fd.Message() != nil {
		return ""
	}
	return v.String()
}
