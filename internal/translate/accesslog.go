package translate

import (
	"encoding/json"
	"strings"

	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/config/accesslog/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	filev3 "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/file/v3"
	celv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/filters/cel/v3"
	tcpproxyv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	reqwithoutqueryv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/formatter/req_without_query/v3"
	"google.golang.org/protobuf/types/known/structpb"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"

	"github.com/lateenmesh/lateen/internal/mesh"
)

// Access log extension names.
const (
	fileAccessLogName   = "envoy.access_loggers.file"
	celLogFilterName    = "envoy.access_loggers.extension_filters.cel"
	reqWithoutQueryName = "envoy.formatter.req_without_query"
)

// istioTextLogFormat is Istio's default TEXT access log format.
const istioTextLogFormat = "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\" " +
	"%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% " +
	"\"%UPSTREAM_TRANSPORT_FAILURE_REASON%\" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% " +
	"%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" " +
	"\"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\" %UPSTREAM_CLUSTER_RAW% " +
	"%UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n"

// istioJSONLogFormat is Istio's default JSON access log format.
var istioJSONLogFormat = map[string]any{
	"start_time": "%START_TIME%", "route_name": "%ROUTE_NAME%", "method": "%REQ(:METHOD)%",
	"path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%", "protocol": "%PROTOCOL%", "response_code": "%RESPONSE_CODE%",
	"response_flags": "%RESPONSE_FLAGS%", "response_code_details": "%RESPONSE_CODE_DETAILS%",
	"connection_termination_details": "%CONNECTION_TERMINATION_DETAILS%", "bytes_received": "%BYTES_RECEIVED%",
	"bytes_sent": "%BYTES_SENT%", "duration": "%DURATION%", "upstream_service_time": "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%",
	"x_forwarded_for": "%REQ(X-FORWARDED-FOR)%", "user_agent": "%REQ(USER-AGENT)%", "request_id": "%REQ(X-REQUEST-ID)%",
	"authority": "%REQ(:AUTHORITY)%", "upstream_host": "%UPSTREAM_HOST%", "upstream_cluster": "%UPSTREAM_CLUSTER_RAW%",
	"upstream_local_address": "%UPSTREAM_LOCAL_ADDRESS%", "downstream_local_address": "%DOWNSTREAM_LOCAL_ADDRESS%",
	"downstream_remote_address": "%DOWNSTREAM_REMOTE_ADDRESS%", "requested_server_name": "%REQUESTED_SERVER_NAME%",
	"upstream_transport_failure_reason": "%UPSTREAM_TRANSPORT_FAILURE_REASON%",
}

// telemetryMode is the Telemetry API mode of a listener class.
func telemetryMode(class listenerClass) mesh.TelemetryMode {
	if class == classInbound {
		return mesh.ServerMode
	}
	return mesh.ClientMode
}

// accessLogs returns the access logs of a connection manager (Telemetry
// API accessLogging, or MeshConfig accessLogFile).
func (b *builder) accessLogs(statPrefix string) []*accesslogv3.AccessLog {
	return b.accessLogsFor(telemetryMode(b.classOf(statPrefix)))
}

func (b *builder) accessLogsFor(mode mesh.TelemetryMode) []*accesslogv3.AccessLog {
	var out []*accesslogv3.AccessLog
	for _, p := range b.view.AccessLogs(mode) {
		out = append(out, b.fileAccessLog(p))
	}
	return out
}

// fileAccessLog builds an envoy.access_loggers.file access log as istiod
// does: the provider's format, or the mesh's (accessLogFormat in
// accessLogEncoding), or Istio's default text format.
func (b *builder) fileAccessLog(p mesh.AccessLogProvider) *accesslogv3.AccessLog {
	path := p.File.GetPath()
	if path == "" {
		path = "/dev/stdout"
	}
	var f *corev3.SubstitutionFormatString
	if p.MeshFormat {
		f = meshLogFormat(b.view.Mesh)
	} else {
		f = providerLogFormat(p.File)
	}
	if strings.Contains(formatText(f), "%REQ_WITHOUT_QUERY") {
		f.Formatters = []*corev3.TypedExtensionConfig{{Name: reqWithoutQueryName,
			TypedConfig: mustAny(&reqwithoutqueryv3.ReqWithoutQuery{})}}
	}
	al := &accesslogv3.AccessLog{Name: fileAccessLogName, ConfigType: &accesslogv3.AccessLog_TypedConfig{
		TypedConfig: mustAny(&filev3.FileAccessLog{Path: path, AccessLogFormat: &filev3.FileAccessLog_LogFormat{LogFormat: f}})}}
	if p.Filter != "" {
		al.Filter = &accesslogv3.AccessLogFilter{FilterSpecifier: &accesslogv3.AccessLogFilter_ExtensionFilter{
			ExtensionFilter: &accesslogv3.ExtensionFilter{Name: celLogFilterName, ConfigType: &accesslogv3.ExtensionFilter_TypedConfig{
				TypedConfig: mustAny(&celv3.ExpressionFilter{Expression: p.Filter})}}}}
	}
	return al
}

// meshLogFormat is the MeshConfig's accessLogFormat in its encoding.
func meshLogFormat(m *meshv1alpha1.MeshConfig) *corev3.SubstitutionFormatString {
	if m.GetAccessLogEncoding() == meshv1alpha1.MeshConfig_JSON {
		labels := istioJSONLogFormat
		if f := m.GetAccessLogFormat(); f != "" {
			var parsed map[string]any
			if err := json.Unmarshal([]byte(f), &parsed); err == nil { // validated: a JSON object
				labels = parsed
			}
		}
		return jsonLogFormat(labels, false)
	}
	return textLogFormat(m.GetAccessLogFormat(), false)
}

func providerLogFormat(f *meshv1alpha1.MeshConfig_ExtensionProvider_EnvoyFileAccessLogProvider) *corev3.SubstitutionFormatString {
	if labels := f.GetLogFormat().GetLabels(); labels != nil {
		if len(labels.GetFields()) == 0 {
			return jsonLogFormat(istioJSONLogFormat, f.GetOmitEmptyValues())
		}
		return jsonLogFormat(labels.AsMap(), f.GetOmitEmptyValues())
	}
	return textLogFormat(f.GetLogFormat().GetText(), f.GetOmitEmptyValues())
}

// textLogFormat is a text format; Istio adds the newline when missing and
// uses its default format when none is given.
func textLogFormat(text string, omitEmpty bool) *corev3.SubstitutionFormatString {
	switch {
	case text == "":
		text = istioTextLogFormat
	case !strings.HasSuffix(text, "\n"):
		text += "\n"
	}
	return &corev3.SubstitutionFormatString{OmitEmptyValues: omitEmpty,
		Format: &corev3.SubstitutionFormatString_TextFormatSource{TextFormatSource: &corev3.DataSource{
			Specifier: &corev3.DataSource_InlineString{InlineString: text}}}}
}

func jsonLogFormat(labels map[string]any, omitEmpty bool) *corev3.SubstitutionFormatString {
	s, err := structpb.NewStruct(labels)
	if err != nil {
		panic(err) // JSON values always convert
	}
	return &corev3.SubstitutionFormatString{OmitEmptyValues: omitEmpty,
		JsonFormatOptions: &corev3.JsonFormatOptions{SortProperties: false},
		Format:            &corev3.SubstitutionFormatString_JsonFormat{JsonFormat: s}}
}

// formatText is a format's text, or its JSON form (to look for
// operators).
func formatText(f *corev3.SubstitutionFormatString) string {
	if t := f.GetTextFormatSource(); t != nil {
		return t.GetInlineString()
	}
	b, _ := json.Marshal(f.GetJsonFormat().AsMap())
	return string(b)
}

// tcpAccessLogs gives every TCP proxy its listener's access logs (the
// inbound ones for INBOUND listeners, the outbound ones otherwise).
func (b *builder) tcpAccessLogs() {
	logs := map[mesh.TelemetryMode][]*accesslogv3.AccessLog{}
	for _, mode := range []mesh.TelemetryMode{mesh.ClientMode, mesh.ServerMode} {
		logs[mode] = b.accessLogsFor(mode)
	}
	if len(logs[mesh.ClientMode]) == 0 && len(logs[mesh.ServerMode]) == 0 {
		return
	}
	for _, l := range b.listeners {
		mode := mesh.ClientMode
		if l.TrafficDirection == corev3.TrafficDirection_INBOUND {
			mode = mesh.ServerMode
		}
		if len(logs[mode]) == 0 {
			continue
		}
		for _, fc := range append(l.FilterChains, l.DefaultFilterChain) {
			setTCPAccessLogs(fc, logs[mode])
		}
	}
}

func setTCPAccessLogs(fc *listenerv3.FilterChain, logs []*accesslogv3.AccessLog) {
	if fc == nil {
		return
	}
	for _, f := range fc.Filters {
		if f.Name != tcpProxyFilterName {
			continue
		}
		var tp tcpproxyv3.TcpProxy
		if err := f.GetTypedConfig().UnmarshalTo(&tp); err != nil {
			panic(err) // built by this package
		}
		tp.AccessLog = logs
		f.ConfigType = &listenerv3.Filter_TypedConfig{TypedConfig: mustAny(&tp)}
	}
}
