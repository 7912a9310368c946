package validate

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
)

// validateMeshConfig checks the fields a MeshConfig sets; unset fields take
// Istio's defaults.
func validateMeshConfig(c *checker, p path, mc *meshv1alpha1.MeshConfig) {
	for _, f := range []struct {
		name string
		v    int32
	}{{"proxyListenPort", mc.GetProxyListenPort()}, {"proxyInboundListenPort", mc.GetProxyInboundListenPort()}, {"proxyHttpPort", mc.GetProxyHttpPort()}} {
		if f.v != 0 {
			checkPort(c, p.field(f.name), int64(f.v))
		}
	}
	checkConnectTimeout(c, p.field("connectTimeout"), mc.GetConnectTimeout())
	checkDuration(c, p.field("hboneIdleTimeout"), mc.GetHboneIdleTimeout())
	checkDuration(c, p.field("dnsRefreshRate"), mc.GetDnsRefreshRate())
	if d := mc.GetProtocolDetectionTimeout(); d != nil && d.AsDuration() != 0 {
		checkDuration(c, p.field("protocolDetectionTimeout"), d)
	}
	checkTCPKeepalive(c, p.field("tcpKeepalive"), mc.GetTcpKeepalive())
	if mc.GetDefaultConfig() != nil {
		checkProxyConfig(c, p.field("defaultConfig"), mc.GetDefaultConfig())
	}
	checkMeshNames(c, p, mc)
	checkMeshTraffic(c, p, mc)
	checkExtensionProviders(c, p.field("extensionProviders"), mc.GetExtensionProviders())
	if dp := mc.GetDefaultProviders(); dp != nil {
		dpp := p.field("defaultProviders")
		checkNonEmptyStrings(c, dpp.field("tracing"), "provider name", dp.GetTracing())
		checkNonEmptyStrings(c, dpp.field("metrics"), "provider name", dp.GetMetrics())
		checkNonEmptyStrings(c, dpp.field("accessLogging"), "provider name", dp.GetAccessLogging())
	}
	for i, s := range mc.GetDiscoverySelectors() {
		checkLabelSelector(c, p.field("discoverySelectors").index(i), s)
	}
	checkAccessLog(c, p, mc)
	if len(mc.GetMeshMTLS().GetEcdhCurves()) > 0 {
		c.errorf(p.field("meshMTLS").field("ecdhCurves"), "ecdhCurves cannot be set for mesh mTLS; use tlsDefaults.ecdhCurves")
	}
}

// connectTimeoutMax bounds connectTimeout, as Istio does.
const connectTimeoutMax = time.Hour

func checkConnectTimeout(c *checker, p path, d *durationpb.Duration) {
	checkDuration(c, p, d)
	if d != nil && d.AsDuration() > connectTimeoutMax {
		c.errorf(p, "connectTimeout must be at most 1h, got %s", d.AsDuration())
	}
}

// checkMeshNames checks the namespace, trust domain and exportTo settings.
func checkMeshNames(c *checker, p path, mc *meshv1alpha1.MeshConfig) {
	if ns := mc.GetRootNamespace(); ns != "" && !isDNSLabel(ns) {
		c.errorf(p.field("rootNamespace"), "invalid namespace %q: must be a lowercase RFC 1123 label", ns)
	}
	if td := mc.GetTrustDomain(); td != "" && !isTrustDomain(td) {
		c.errorf(p.field("trustDomain"), "invalid trust domain %q: must be a DNS name such as cluster.local", td)
	}
	for i, td := range mc.GetTrustDomainAliases() {
		if !isTrustDomain(td) {
			c.errorf(p.field("trustDomainAliases").index(i), "invalid trust domain %q: must be a DNS name such as cluster.local", td)
		}
	}
	checkExportTo(c, p.field("defaultServiceExportTo"), "", mc.GetDefaultServiceExportTo(), true)
	checkExportTo(c, p.field("defaultVirtualServiceExportTo"), "", mc.GetDefaultVirtualServiceExportTo(), false)
	checkExportTo(c, p.field("defaultDestinationRuleExportTo"), "", mc.GetDefaultDestinationRuleExportTo(), false)
	for i, s := range mc.GetServiceSettings() {
		for j, h := range s.GetHosts() {
			checkHost(c, p.field("serviceSettings").index(i).field("hosts").index(j), h, wildcardHost|starHost)
		}
	}
}

// isTrustDomain reports whether s is a sequence of RFC 1123 labels (a
// trailing dot allowed).
func isTrustDomain(s string) bool {
	return isDNSSubdomain(strings.TrimSuffix(s, "."))
}

// checkMeshTraffic checks the mesh-wide traffic defaults.
func checkMeshTraffic(c *checker, p path, mc *meshv1alpha1.MeshConfig) {
	checkClientTLS(c, p.field("outboundTrafficPolicy").field("tls"), mc.GetOutboundTrafficPolicy().GetTls())
	checkLocalityLB(c, p.field("localityLbSetting"), mc.GetLocalityLbSetting())
	checkRetry(c, p.field("defaultHttpRetryPolicy"), mc.GetDefaultHttpRetryPolicy())
	if dtp := mc.GetDefaultTrafficPolicy(); dtp != nil {
		checkConnectionPool(c, p.field("defaultTrafficPolicy").field("connectionPool"), dtp.GetConnectionPool())
		checkOutlierDetection(c, p.field("defaultTrafficPolicy").field("outlierDetection"), dtp.GetOutlierDetection())
	}
	if ca := mc.GetCa(); ca != nil {
		if ca.GetAddress() != "" {
			checkHostPort(c, p.field("ca").field("address"), ca.GetAddress())
		}
		checkClientTLS(c, p.field("ca").field("tlsSettings"), ca.GetTlsSettings())
		checkDuration(c, p.field("ca").field("requestTimeout"), ca.GetRequestTimeout())
	}
}

func checkAccessLog(c *checker, p path, mc *meshv1alpha1.MeshConfig) {
	f := mc.GetAccessLogFormat()
	if mc.GetAccessLogEncoding() != meshv1alpha1.MeshConfig_JSON || f == "" {
		return
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(f), &obj); err != nil {
		c.errorf(p.field("accessLogFormat"), "with accessLogEncoding JSON, accessLogFormat must be a JSON object mapping keys to Envoy format strings")
	}
}

// labelOperators are the operators of a label selector requirement.
var labelOperators = []string{"In", "NotIn", "Exists", "DoesNotExist"}

func checkLabelSelector(c *checker, p path, s *meshv1alpha1.LabelSelector) {
	checkLabels(c, p.field("matchLabels"), s.GetMatchLabels())
	for i, r := range s.GetMatchExpressions() {
		rp := p.field("matchExpressions").index(i)
		if msg := labelKeyProblem(r.GetKey()); msg != "" {
			c.errorf(rp.field("key"), "%s", msg)
		}
		switch op := r.GetOperator(); op {
		case "In", "NotIn":
			if len(r.GetValues()) == 0 {
				c.errorf(rp.field("values"), "operator %s needs at least one value", op)
			}
		case "Exists", "DoesNotExist":
			if len(r.GetValues()) > 0 {
				c.errorf(rp.field("values"), "operator %s takes no values", op)
			}
		default:
			c.errorf(rp.field("operator"), "unknown operator %q (use one of %s)", op, strings.Join(labelOperators, ", "))
		}
	}
}

func checkProxyConfig(c *checker, p path, pc *meshv1alpha1.ProxyConfig) {
	if d := pc.GetDrainDuration(); d != nil {
		checkDuration(c, p.field("drainDuration"), d)
		if d.AsDuration()%time.Second != 0 {
			c.errorf(p.field("drainDuration"), "drainDuration must be a whole number of seconds, got %s", d.AsDuration())
		}
	}
	checkDuration(c, p.field("terminationDrainDuration"), pc.GetTerminationDrainDuration())
	checkDuration(c, p.field("fileFlushInterval"), pc.GetFileFlushInterval())
	if sc, ok := pc.GetClusterName().(*meshv1alpha1.ProxyConfig_ServiceCluster); ok && sc.ServiceCluster == "" {
		c.errorf(p.field("serviceCluster"), "serviceCluster must not be empty when set")
	}
	for _, a := range []namedValue{
		{"discoveryAddress", pc.GetDiscoveryAddress()}, {"statsdUdpAddress", pc.GetStatsdUdpAddress()},
		{"envoyMetricsServiceAddress", pc.GetEnvoyMetricsServiceAddress()},
	} {
		if a.value != "" {
			checkHostPort(c, p.field(a.name), a.value)
		}
	}
	for _, rs := range []struct {
		name string
		s    *meshv1alpha1.RemoteService
	}{{"envoyMetricsService", pc.GetEnvoyMetricsService()}, {"envoyAccessLogService", pc.GetEnvoyAccessLogService()}} {
		if rs.s.GetAddress() != "" {
			checkHostPort(c, p.field(rs.name).field("address"), rs.s.GetAddress())
		}
		checkClientTLS(c, p.field(rs.name).field("tlsSettings"), rs.s.GetTlsSettings())
	}
	for _, f := range []struct {
		name string
		v    int32
	}{{"proxyAdminPort", pc.GetProxyAdminPort()}, {"statusPort", pc.GetStatusPort()}} {
		if f.v != 0 {
			checkPort(c, p.field(f.name), int64(f.v))
		}
	}
	if pc.GetControlPlaneAuthPolicy() == meshv1alpha1.AuthenticationPolicy_INHERIT {
		c.errorf(p.field("controlPlaneAuthPolicy"), "controlPlaneAuthPolicy must be NONE or MUTUAL_TLS")
	}
	if n := pc.GetConcurrency(); n != nil && n.GetValue() < 0 {
		c.errorf(p.field("concurrency"), "concurrency must not be negative, got %d", n.GetValue())
	}
	checkProxyTracing(c, p.field("tracing"), pc.GetTracing())
	checkPrivateKeyProvider(c, p.field("privateKeyProvider"), pc.GetPrivateKeyProvider())
}

func checkProxyTracing(c *checker, p path, t *meshv1alpha1.Tracing) {
	if t == nil {
		return
	}
	checkPercent(c, p.field("sampling"), t.GetSampling())
	for _, a := range []struct {
		name, addr string
	}{{"zipkin", t.GetZipkin().GetAddress()}, {"lightstep", t.GetLightstep().GetAddress()}, {"datadog", t.GetDatadog().GetAddress()}} {
		if a.addr != "" {
			checkHostPort(c, p.field(a.name).field("address"), strings.Replace(a.addr, "$(HOST_IP)", "127.0.0.1", 1))
		}
	}
	if ls := t.GetLightstep(); ls != nil && ls.GetAccessToken() == "" {
		c.errorf(p.field("lightstep").field("accessToken"), "accessToken is required")
	}
	checkClientTLS(c, p.field("tlsSettings"), t.GetTlsSettings())
	for _, name := range sortedKeys(t.GetCustomTags()) {
		if t.GetCustomTags()[name].GetType() == nil {
			c.errorf(p.field("customTags").key(name), "one of literal, environment or header is required")
		}
	}
}

func checkPrivateKeyProvider(c *checker, p path, pk *meshv1alpha1.PrivateKeyProvider) {
	if pk == nil {
		return
	}
	var name string
	var delay *durationpb.Duration
	switch v := pk.GetProvider().(type) {
	case nil:
		c.errorf(p, "one of cryptomb or qat is required")
		return
	case *meshv1alpha1.PrivateKeyProvider_Cryptomb:
		name, delay = "cryptomb", v.Cryptomb.GetPollDelay()
	case *meshv1alpha1.PrivateKeyProvider_Qat:
		name, delay = "qat", v.Qat.GetPollDelay()
	}
	if delay == nil || delay.AsDuration() == 0 {
		c.errorf(p.field(name).field("pollDelay"), "pollDelay is required and must not be zero")
	}
}

// servicedProviders are the extension provider types that send to a
// service, so need service and port.
var servicedProviders = []string{
	"envoyExtAuthzHttp", "envoyExtAuthzGrpc", "zipkin", "lightstep", "datadog", "skywalking", "opencensus",
	"opentelemetry", "envoyHttpAls", "envoyTcpAls", "envoyOtelAls",
}

func checkExtensionProviders(c *checker, p path, eps []*meshv1alpha1.MeshConfig_ExtensionProvider) {
	seen := map[string]path{}
	for i, ep := range eps {
		pp := p.index(i)
		switch name := ep.GetName(); {
		case name == "":
			c.errorf(pp.field("name"), "provider name is required")
		default:
			if prev, dup := seen[name]; dup {
				c.errorf(pp.field("name"), "duplicate extension provider name %q (also at %s)", name, prev)
			}
			seen[name] = pp
		}
		checkProviderType(c, pp, ep)
	}
}

func checkProviderType(c *checker, p path, ep *meshv1alpha1.MeshConfig_ExtensionProvider) {
	m := ep.ProtoReflect()
	fd := m.WhichOneof(m.Descriptor().Oneofs().ByName("provider"))
	if fd == nil {
		c.errorf(p, "a provider type (e.g. zipkin, opentelemetry, envoyExtAuthzHttp) is required")
		return
	}
	tp := p.field(fd.JSONName())
	if slices.Contains(servicedProviders, fd.JSONName()) {
		checkProviderService(c, tp, m.Get(fd).Message())
	}
	switch v := ep.GetProvider().(type) {
	case *meshv1alpha1.MeshConfig_ExtensionProvider_EnvoyExtAuthzHttp:
		checkStatusOnError(c, tp.field("statusOnError"), v.EnvoyExtAuthzHttp.GetStatusOnError())
		if pfx := v.EnvoyExtAuthzHttp.GetPathPrefix(); pfx != "" && !strings.HasPrefix(pfx, "/") {
			c.errorf(tp.field("pathPrefix"), "pathPrefix must start with \"/\", got %q", pfx)
		}
	case *meshv1alpha1.MeshConfig_ExtensionProvider_EnvoyExtAuthzGrpc:
		checkStatusOnError(c, tp.field("statusOnError"), v.EnvoyExtAuthzGrpc.GetStatusOnError())
	case *meshv1alpha1.MeshConfig_ExtensionProvider_Lightstep:
		if v.Lightstep.GetAccessToken() == "" {
			c.errorf(tp.field("accessToken"), "accessToken is required")
		}
	case *meshv1alpha1.MeshConfig_ExtensionProvider_Opentelemetry:
		if v.Opentelemetry.GetHttp() != nil && v.Opentelemetry.GetGrpc() != nil {
			c.errorf(tp.field("grpc"), "http and grpc cannot be used together")
		}
	}
}

// checkProviderService checks the service and port fields of a provider:
// the service is a hostname, an IP, or namespace/hostname.
func checkProviderService(c *checker, p path, m protoreflect.Message) {
	fields := m.Descriptor().Fields()
	svc := m.Get(fields.ByName("service")).String()
	switch {
	case svc == "":
		c.errorf(p.field("service"), "service is required")
	case strings.Contains(svc, "/"):
		checkNamespacedHost(c, p.field("service"), svc, false)
	default:
		checkHost(c, p.field("service"), svc, ipHost)
	}
	checkPort(c, p.field("port"), int64(m.Get(fields.ByName("port")).Uint()))
}

func checkStatusOnError(c *checker, p path, s string) {
	if s == "" {
		return
	}
	if n, err := strconv.Atoi(s); err != nil || http.StatusText(n) == "" {
		c.errorf(p, "statusOnError must be an HTTP status code such as 403, got %q", s)
	}
}
