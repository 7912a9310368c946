package xdsclient

import (
	"fmt"

	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/config/accesslog/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	filev3 "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/file/v3"
	celfilterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/filters/cel/v3"
	reqwithoutqueryv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/formatter/req_without_query/v3"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/telemetry/accesslog"
	"github.com/lateenmesh/lateen/internal/proxy/telemetry/cel"
)

// Access log type URLs (docs/xds.md).
const (
	fileAccessLogTypeURL   = "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog"
	celFilterTypeURL       = "type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter"
	reqWithoutQueryTypeURL = "type.googleapis.com/envoy.extensions.formatter.req_without_query.v3.ReqWithoutQuery"
)

// decodeAccessLogs decodes access_log entries of an HCM or TCP proxy.
func decodeAccessLogs(pbs []*accesslogv3.AccessLog) ([]resource.AccessLog, error) {
	out := make([]resource.AccessLog, 0, len(pbs))
	for i, pb := range pbs {
		al, err := decodeAccessLog(pb)
		if err != nil {
			return nil, under(fmt.Sprintf("access_log[%d]", i), err)
		}
		out = append(out, al)
	}
	return out, nil
}

func decodeAccessLog(pb *accesslogv3.AccessLog) (resource.AccessLog, error) {
	al := resource.AccessLog{Name: pb.GetName()}
	tc := pb.GetTypedConfig()
	if tc == nil {
		return al, fieldErr("typed_config", "required")
	}
	if tc.GetTypeUrl() != fileAccessLogTypeURL {
		return al, fieldErr("typed_config", "access logger type %q not supported by lateen-proxy", tc.GetTypeUrl())
	}
	var fl filev3.FileAccessLog
	if err := unpack(tc, &fl); err != nil {
		return al, under("typed_config", err)
	}
	if fl.GetPath() == "" {
		return al, fieldErr("typed_config.path", "required")
	}
	al.Path = fl.GetPath()
	if err := decodeLogFormat(fl.GetLogFormat(), &al); err != nil {
		return al, under("typed_config.log_format", err)
	}
	if err := accesslog.CheckFormat(al); err != nil {
		return al, fieldErr("typed_config.log_format", "%v", err)
	}
	if f := pb.GetFilter(); f != nil {
		expr, err := decodeLogFilter(f)
		if err != nil {
			return al, under("filter", err)
		}
		al.Filter = expr
	}
	return al, nil
}

// decodeLogFormat reads a SubstitutionFormatString (text or JSON); none
// means Envoy's default format.
func decodeLogFormat(f *corev3.SubstitutionFormatString, al *resource.AccessLog) error {
	if f == nil {
		al.Text = resource.EnvoyDefaultLogFormat
		return nil
	}
	al.OmitEmptyValues = f.GetOmitEmptyValues()
	for i, fm := range f.GetFormatters() {
		if err := checkFormatter(fm); err != nil {
			return under(fmt.Sprintf("formatters[%d]", i), err)
		}
	}
	switch {
	case f.GetJsonFormat() != nil:
		al.JSON = f.GetJsonFormat().AsMap()
	case f.GetTextFormatSource() != nil:
		src := f.GetTextFormatSource()
		if src.GetInlineString() == "" && len(src.GetInlineBytes()) == 0 {
			return fieldErr("text_format_source", "inline_string or inline_bytes is required")
		}
		al.Text = src.GetInlineString() + string(src.GetInlineBytes())
	default:
		return fieldErr("format", "text_format_source or json_format is required")
	}
	return nil
}

// checkFormatter accepts the formatter extensions whose operators the
// proxy implements natively (%REQ_WITHOUT_QUERY%).
func checkFormatter(fm *corev3.TypedExtensionConfig) error {
	if fm.GetTypedConfig().GetTypeUrl() != reqWithoutQueryTypeURL {
		return fieldErr("typed_config", "formatter type %q not supported by lateen-proxy", fm.GetTypedConfig().GetTypeUrl())
	}
	return unpack(fm.GetTypedConfig(), &reqwithoutqueryv3.ReqWithoutQuery{})
}

// decodeLogFilter reads an AccessLogFilter: only the CEL extension filter.
func decodeLogFilter(f *accesslogv3.AccessLogFilter) (string, error) {
	ext := f.GetExtensionFilter()
	if ext == nil {
		return "", fieldErr("", "only extension_filter (CEL) is supported by lateen-proxy")
	}
	if ext.GetTypedConfig().GetTypeUrl() != celFilterTypeURL {
		return "", fieldErr("extension_filter.typed_config", "filter type %q not supported by lateen-proxy",
			ext.GetTypedConfig().GetTypeUrl())
	}
	var pb celfilterv3.ExpressionFilter
	if err := unpack(ext.GetTypedConfig(), &pb); err != nil {
		return "", under("extension_filter.typed_config", err)
	}
	if pb.GetExpression() == "" {
		return "", fieldErr("extension_filter.typed_config.expression", "required")
	}
	if err := cel.Check(pb.GetExpression()); err != nil {
		return "", fieldErr("extension_filter.typed_config.expression", "%v", err)
	}
	return pb.GetExpression(), nil
}
