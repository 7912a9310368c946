package mesh

import (
	"cmp"
	"net"
	"slices"
	"strconv"
	"strings"

	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	telemetry "istio.io/api/telemetry/v1alpha1"

	"github.com/lateenmesh/lateen/internal/registry"
)

// TelemetryMode is the side of traffic a listener sees, as the Telemetry
// API's WorkloadMode: outbound and gateway listeners are CLIENT, inbound
// ones SERVER.
type TelemetryMode int

// Modes.
const (
	ClientMode TelemetryMode = iota
	ServerMode
)

func (m TelemetryMode) matches(wm telemetry.WorkloadMode) bool {
	switch wm {
	case telemetry.WorkloadMode_CLIENT:
		return m == ClientMode
	case telemetry.WorkloadMode_SERVER:
		return m == ServerMode
	}
	return true // CLIENT_AND_SERVER
}

// BuiltinAccessLogProvider is the provider Istio defines when the mesh
// config does not: a file access log to /dev/stdout in the mesh's format.
const BuiltinAccessLogProvider = "envoy"

// AccessLogProvider is one access log of a proxy's listeners.
type AccessLogProvider struct {
	// Name is the extension provider's name ("" for the MeshConfig
	// accessLogFile log).
	Name string
	// File is the provider (nil for the MeshConfig accessLogFile log);
	// MeshFormat: the log uses the MeshConfig accessLogFormat and
	// accessLogEncoding (the accessLogFile log, and the built-in envoy
	// provider without a format of its own).
	File       *meshv1alpha1.MeshConfig_ExtensionProvider_EnvoyFileAccessLogProvider
	MeshFormat bool
	// Filter is a CEL expression selecting what is logged ("": all).
	Filter string
}

// AccessLogs resolves which access logs the proxy's listeners of a mode
// write, as Istio merges the Telemetry API's accessLogging (mesh,
// namespace, then workload Telemetry; a lower level's providers replace
// its parent's, an entry without providers applies to its parent's, and
// disabled removes them) over MeshConfig defaultProviders.accessLogging.
// Without any, MeshConfig accessLogFile (when set) logs everything.
// Providers that are not file access logs, or that the mesh config does
// not define, are skipped (validation rejects the former).
func (v *ProxyView) AccessLogs(mode TelemetryMode) []AccessLogProvider {
	var levels [][]*telemetry.AccessLogging
	for _, t := range v.telemetries() {
		if l := t.GetAccessLogging(); len(l) > 0 {
			levels = append(levels, l)
		}
	}
	defaults := v.Mesh.GetDefaultProviders().GetAccessLogging()
	if len(levels) == 0 && len(defaults) == 0 {
		if f := v.Mesh.GetAccessLogFile(); f != "" {
			return []AccessLogProvider{{File: &meshv1alpha1.MeshConfig_ExtensionProvider_EnvoyFileAccessLogProvider{Path: f},
				MeshFormat: true}}
		}
		return nil
	}
	var out []AccessLogProvider
	for name, filter := range mergeAccessLogging(levels, defaults, mode) {
		if p, ok := v.fileAccessLogProvider(name); ok {
			p.Filter = filter
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b AccessLogProvider) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// mergeAccessLogging returns the enabled providers (by name) with their
// filters.
func mergeAccessLogging(levels [][]*telemetry.AccessLogging, defaults []string, mode TelemetryMode) map[string]string {
	out := map[string]string{}
	if len(levels) == 0 {
		for _, n := range defaults {
			out[n] = ""
		}
		return out
	}
	parent := defaults
	for _, level := range levels {
		var named []string
		for _, l := range level {
			if mode.matches(l.GetMatch().GetMode()) {
				named = append(named, providerNames(l.GetProviders())...)
			}
		}
		if len(named) > 0 {
			for n := range out { // a level naming providers replaces its parent's
				if !slices.Contains(named, n) {
					delete(out, n)
				}
			}
		}
		for _, l := range level {
			names := providerNames(l.GetProviders())
			if len(names) == 0 {
				names = parent
			}
			parent = names
			if !mode.matches(l.GetMatch().GetMode()) {
				continue
			}
			for _, n := range names {
				if l.GetDisabled().GetValue() {
					delete(out, n)
				} else {
					out[n] = l.GetFilter().GetExpression()
				}
			}
		}
	}
	return out
}

// fileAccessLogProvider finds a file access log provider by name (the
// built-in "envoy" one when the mesh config does not define it).
func (v *ProxyView) fileAccessLogProvider(name string) (AccessLogProvider, bool) {
	p := findProvider(v.Mesh, name)
	if p == nil {
		if strings.EqualFold(name, BuiltinAccessLogProvider) {
			return AccessLogProvider{Name: name, MeshFormat: true,
				File: &meshv1alpha1.MeshConfig_ExtensionProvider_EnvoyFileAccessLogProvider{Path: "/dev/stdout"}}, true
		}
		return AccessLogProvider{}, false
	}
	f := p.GetEnvoyFileAccessLog()
	if f == nil {
		return AccessLogProvider{}, false
	}
	builtin := strings.EqualFold(p.GetName(), BuiltinAccessLogProvider) && f.GetLogFormat() == nil && !f.GetOmitEmptyValues()
	return AccessLogProvider{Name: p.GetName(), File: f, MeshFormat: builtin}, true
}

// TracingSpec is the tracing of a proxy's listeners of one mode.
type TracingSpec struct {
	// Provider is a Zipkin or OpenTelemetry extension provider (the
	// ProxyConfig's legacy Zipkin tracer becomes a Zipkin provider).
	Provider *meshv1alpha1.MeshConfig_ExtensionProvider
	// Collector is the provider's service as the proxy reaches it.
	Collector Collector
	// Sampling is the random sampling percentage.
	Sampling float64
	// CustomTags are the Telemetry API's tags (nil: the ProxyConfig's).
	CustomTags                map[string]*telemetry.Tracing_CustomTag
	EnableIstioTags           bool
	DisableContextPropagation bool
	UseRequestIDForSampling   bool
	// Legacy: configured by MeshConfig enableTracing and ProxyConfig
	// tracing rather than the Telemetry API.
	Legacy bool
}

// Collector is a telemetry provider's service resolved in the registry.
type Collector struct {
	Host    string // the service's host name
	Cluster string // outbound|<port>||<host>
}

// Tracing resolves the tracing of the proxy's listeners of a mode, as
// Istio merges the Telemetry API's tracing (mesh, namespace, then
// workload Telemetry; each set field overrides) over MeshConfig
// defaultProviders.tracing. Without either, MeshConfig enableTracing with
// the ProxyConfig's Zipkin address applies. nil: no tracing (disabled, or
// no provider whose service the registry has).
func (v *ProxyView) Tracing(mode TelemetryMode) *TracingSpec {
	var entries []*telemetry.Tracing
	for _, t := range v.telemetries() {
		entries = append(entries, t.GetTracing()...)
	}
	defaults := v.Mesh.GetDefaultProviders().GetTracing()
	if len(entries) == 0 && len(defaults) == 0 {
		return v.legacyTracing()
	}
	spec := &TracingSpec{EnableIstioTags: true, UseRequestIDForSampling: true, Sampling: v.proxySampling()}
	if len(defaults) > 0 {
		spec.Provider = findProvider(v.Mesh, defaults[0])
	}
	disabled := false
	for _, e := range entries {
		if !mode.matches(e.GetMatch().GetMode()) {
			continue
		}
		if names := providerNames(e.GetProviders()); len(names) > 0 {
			spec.Provider = findProvider(v.Mesh, names[0])
		}
		if d := e.GetDisableSpanReporting(); d != nil {
			disabled = d.GetValue()
		}
		applyTracingOverrides(spec, e)
	}
	if disabled || spec.Provider == nil {
		return nil
	}
	return v.withCollector(spec)
}

func applyTracingOverrides(spec *TracingSpec, e *telemetry.Tracing) {
	if e.GetCustomTags() != nil {
		spec.CustomTags = e.GetCustomTags()
	}
	if p := e.GetRandomSamplingPercentage(); p != nil {
		spec.Sampling = p.GetValue()
	}
	if u := e.GetUseRequestIdForTraceSampling(); u != nil {
		spec.UseRequestIDForSampling = u.GetValue()
	}
	if t := e.GetEnableIstioTags(); t != nil {
		spec.EnableIstioTags = t.GetValue()
	}
	if d := e.GetDisableContextPropagation(); d != nil {
		spec.DisableContextPropagation = d.GetValue()
	}
}

// DefaultZipkinAddress is Istio's ProxyConfig tracing default.
const DefaultZipkinAddress = "zipkin.istio-system:9411"

// legacyTracing is MeshConfig enableTracing with the ProxyConfig's tracer
// (Zipkin only), sampling and tags.
func (v *ProxyView) legacyTracing() *TracingSpec {
	if !v.Mesh.GetEnableTracing() {
		return nil
	}
	t := v.Mesh.GetDefaultConfig().GetTracing()
	addr := t.GetZipkin().GetAddress()
	if t.GetTracer() == nil {
		addr = DefaultZipkinAddress
	}
	host, port, err := net.SplitHostPort(addr)
	n, perr := strconv.ParseUint(port, 10, 32)
	if err != nil || perr != nil {
		return nil
	}
	svc := v.serviceByShortHost(host)
	if svc == nil {
		return nil
	}
	provider := &meshv1alpha1.MeshConfig_ExtensionProvider{Name: "zipkin", Provider: &meshv1alpha1.MeshConfig_ExtensionProvider_Zipkin{
		Zipkin: &meshv1alpha1.MeshConfig_ExtensionProvider_ZipkinTracingProvider{Service: svc.Hostname, Port: uint32(n)}}}
	enableIstioTags := t.GetEnableIstioTags() == nil || t.GetEnableIstioTags().GetValue()
	return v.withCollector(&TracingSpec{Provider: provider, Sampling: v.proxySampling(), EnableIstioTags: enableIstioTags,
		UseRequestIDForSampling: true, Legacy: true})
}

// proxySampling is the ProxyConfig's tracing.sampling (Istio's default 1%).
func (v *ProxyView) proxySampling() float64 {
	s := v.Mesh.GetDefaultConfig().GetTracing().GetSampling()
	if s == 0 {
		return 1
	}
	return s
}

// withCollector resolves the provider's service, or returns nil when the
// registry does not have it.
func (v *ProxyView) withCollector(spec *TracingSpec) *TracingSpec {
	var service string
	var port uint32
	switch p := spec.Provider.GetProvider().(type) {
	case *meshv1alpha1.MeshConfig_ExtensionProvider_Zipkin:
		service, port = p.Zipkin.GetService(), p.Zipkin.GetPort()
	case *meshv1alpha1.MeshConfig_ExtensionProvider_Opentelemetry:
		service, port = p.Opentelemetry.GetService(), p.Opentelemetry.GetPort()
	default:
		return nil // not a tracing provider Lateen implements (validation rejects them)
	}
	c, ok := v.LookupCollector(service, port)
	if !ok {
		return nil
	}
	spec.Collector = c
	return spec
}

// LookupCollector resolves an extension provider's service ("host" or
// "namespace/host", as Istio's) to its host and outbound cluster: the
// host must be unique among namespaces unless the namespace is given.
func (v *ProxyView) LookupCollector(service string, port uint32) (Collector, bool) {
	v.record(Dep{Kind: DepCollector, Name: service, Port: port})
	return v.snapshot().lookupCollector(service, port)
}

func (s *Snapshot) lookupCollector(service string, port uint32) (Collector, bool) {
	ns, host, qualified := strings.Cut(service, "/")
	if !qualified {
		host, ns = ns, ""
	}
	var found *registry.Service
	for _, svc := range s.Registry.ServicesFor(host) {
		if qualified && svc.Namespace != ns {
			continue
		}
		if found != nil && found.Namespace != svc.Namespace {
			return Collector{}, false // ambiguous
		}
		found = svc
	}
	if found == nil {
		return Collector{}, false
	}
	return Collector{Host: found.Hostname, Cluster: "outbound|" + strconv.Itoa(int(port)) + "||" + found.Hostname}, true
}

// serviceByShortHost finds a service by its host name, or by a short
// "name.namespace" form of it.
func (v *ProxyView) serviceByShortHost(host string) *registry.Service {
	v.record(Dep{Kind: DepShortHost, Name: host})
	return v.snapshot().serviceByShortHost(host)
}

// serviceByShortHost is the first service (in the registry's order: by
// host name, then age) named host or host.svc.<suffix>; host sorts first.
func (s *Snapshot) serviceByShortHost(host string) *registry.Service {
	for _, h := range []string{host, host + ".svc." + s.DomainSuffix} {
		if svcs := s.Registry.ServicesFor(h); len(svcs) > 0 {
			return svcs[0]
		}
	}
	return nil
}
