package xdsclient

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// allowed lists, per proto message, the fields docs/xds.md lets the control
// plane set. Any other populated field fails the walk, so nothing outside the
// contract is silently ignored. Messages in leafMessages are accepted whole;
// google.protobuf.Any is never descended into here: the decoder registered for
// its type URL unpacks and walks it.
var allowed = map[protoreflect.FullName][]string{
	// Listener.
	"envoy.config.listener.v3.Listener": {"name", "address", "traffic_direction", "filter_chains", "default_filter_chain",
		"listener_filters", "listener_filters_timeout", "continue_on_listener_filters_timeout", "use_original_dst",
		"bind_to_port"},
	"envoy.config.listener.v3.ListenerFilter":                         {"name", "typed_config"},
	"envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector": {},
	"envoy.extensions.filters.listener.original_dst.v3.OriginalDst":   {},
	"envoy.config.core.v3.Address":                                    {"socket_address"},
	"envoy.config.core.v3.SocketAddress":                              {"address", "port_value"},
	"envoy.config.listener.v3.FilterChain":                            {"name", "filter_chain_match", "filters", "transport_socket"},
	"envoy.config.listener.v3.FilterChainMatch":                       {"destination_port", "transport_protocol", "application_protocols", "server_names"},
	"envoy.config.listener.v3.Filter":                                 {"name", "typed_config"},
	hcmPkg + "HttpConnectionManager": {"stat_prefix", "rds", "route_config", "http_filters", "codec_type",
		"generate_request_id", "use_remote_address", "stream_idle_timeout", "request_timeout", "server_name",
		"normalize_path", "merge_slashes", "forward_client_cert_details", "set_current_client_cert_details", "upgrade_configs",
		"access_log", "tracing"},
	hcmPkg + "Rds":        {"config_source", "route_config_name"},
	hcmPkg + "HttpFilter": {"name", "typed_config"},
	hcmPkg + "HttpConnectionManager.SetCurrentClientCertDetails": {"subject", "cert", "chain", "dns", "uri"},
	hcmPkg + "HttpConnectionManager.UpgradeConfig":               {"upgrade_type", "enabled"},
	"envoy.config.core.v3.ConfigSource":                          {"ads", "api_config_source", "resource_api_version", "initial_fetch_timeout"},
	"envoy.config.core.v3.AggregatedConfigSource":                {},
	tcpPkg + "TcpProxy":                                          {"stat_prefix", "cluster", "weighted_clusters", "idle_timeout", "access_log"},
	tcpPkg + "TcpProxy.WeightedCluster":                          {"clusters"},
	tcpPkg + "TcpProxy.WeightedCluster.ClusterWeight":            {"name", "weight"},
	"envoy.extensions.filters.http.router.v3.Router":             {},
	"envoy.extensions.filters.http.fault.v3.HTTPFault":           {"delay", "abort"},
	"envoy.extensions.filters.common.fault.v3.FaultDelay":        {"fixed_delay", "percentage"},
	"envoy.extensions.filters.http.fault.v3.FaultAbort":          {"http_status", "grpc_status", "percentage"},
	"envoy.extensions.filters.http.cors.v3.Cors":                 {},
	"envoy.extensions.filters.http.cors.v3.CorsPolicy": {"allow_origin_string_match", "allow_methods", "allow_headers",
		"expose_headers", "max_age", "allow_credentials", "filter_enabled", "shadow_enabled",
		"allow_private_network_access", "forward_not_matching_preflights"},

	// RouteConfiguration.
	"envoy.config.route.v3.RouteConfiguration": {"name", "virtual_hosts", "validate_clusters"},
	"envoy.config.route.v3.VirtualHost": {"name", "domains", "routes", "request_headers_to_add", "request_headers_to_remove",
		"response_headers_to_add", "response_headers_to_remove", "retry_policy", "include_request_attempt_count"},
	"envoy.config.route.v3.Route": {"name", "match", "route", "redirect", "direct_response", "request_headers_to_add",
		"request_headers_to_remove", "response_headers_to_add", "response_headers_to_remove", "typed_per_filter_config", "decorator"},
	"envoy.config.route.v3.Decorator":               {"operation"},
	"envoy.config.route.v3.RouteMatch":              {"prefix", "path", "safe_regex", "path_separated_prefix", "case_sensitive", "headers", "query_parameters"},
	"envoy.config.route.v3.HeaderMatcher":           {"name", "string_match", "present_match", "invert_match", "treat_missing_header_as_empty"},
	"envoy.config.route.v3.QueryParameterMatcher":   {"name", "string_match", "present_match"},
	"envoy.type.matcher.v3.StringMatcher":           {"exact", "prefix", "suffix", "contains", "safe_regex", "ignore_case"},
	"envoy.type.matcher.v3.RegexMatcher":            {"regex", "google_re2"},
	"envoy.type.matcher.v3.RegexMatcher.GoogleRE2":  {},
	"envoy.type.matcher.v3.RegexMatchAndSubstitute": {"pattern", "substitution"},
	"envoy.config.core.v3.HeaderValueOption":        {"header", "append", "append_action", "keep_empty_value"},
	"envoy.config.core.v3.HeaderValue":              {"key", "value"},
	"envoy.config.route.v3.RouteAction": {"cluster", "weighted_clusters", "timeout", "retry_policy", "prefix_rewrite",
		"regex_rewrite", "host_rewrite_literal", "request_mirror_policies", "hash_policy", "max_stream_duration", "upgrade_configs",
		"max_grpc_timeout"},
	"envoy.config.route.v3.WeightedCluster": {"clusters"},
	"envoy.config.route.v3.WeightedCluster.ClusterWeight": {"name", "weight", "request_headers_to_add",
		"request_headers_to_remove", "response_headers_to_add", "response_headers_to_remove", "host_rewrite_literal"},
	"envoy.config.route.v3.RetryPolicy": {"retry_on", "num_retries", "per_try_timeout", "retriable_status_codes",
		"host_selection_retry_max_attempts", "retry_host_predicate", "retry_priority", "retry_back_off"},
	"envoy.config.route.v3.RetryPolicy.RetryPriority":                                 {"name", "typed_config"},
	"envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig": {"update_frequency"},
	"envoy.config.route.v3.RetryPolicy.RetryBackOff":                                  {"base_interval", "max_interval"},
	"envoy.config.route.v3.RetryPolicy.RetryHostPredicate":                            {"name", "typed_config"},
	"envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate":            {},
	"envoy.config.route.v3.RouteAction.RequestMirrorPolicy": {"cluster", "runtime_fraction", "trace_sampled",
		"disable_shadow_host_suffix_append"},
	"envoy.config.core.v3.RuntimeFractionalPercent":                     {"default_value"},
	"envoy.type.v3.FractionalPercent":                                   {"numerator", "denominator"},
	"envoy.config.route.v3.RouteAction.HashPolicy":                      {"header", "cookie", "connection_properties", "query_parameter", "terminal"},
	"envoy.config.route.v3.RouteAction.HashPolicy.Header":               {"header_name"},
	"envoy.config.route.v3.RouteAction.HashPolicy.Cookie":               {"name", "ttl", "path"},
	"envoy.config.route.v3.RouteAction.HashPolicy.ConnectionProperties": {"source_ip"},
	"envoy.config.route.v3.RouteAction.HashPolicy.QueryParameter":       {"name"},
	"envoy.config.route.v3.RouteAction.MaxStreamDuration":               {"max_stream_duration", "grpc_timeout_header_max"},
	"envoy.config.route.v3.RouteAction.UpgradeConfig":                   {"upgrade_type", "enabled"},
	"envoy.config.route.v3.RedirectAction": {"scheme_redirect", "https_redirect", "host_redirect", "port_redirect",
		"path_redirect", "prefix_rewrite", "response_code", "strip_query"},
	"envoy.config.route.v3.DirectResponseAction": {"status", "body"},
	"envoy.config.core.v3.DataSource":            {"inline_string", "inline_bytes"},

	// Cluster.
	"envoy.config.cluster.v3.Cluster": {"name", "type", "eds_cluster_config", "load_assignment", "connect_timeout",
		"lb_policy", "circuit_breakers", "common_lb_config", "typed_extension_protocol_options",
		"metadata", "original_dst_lb_config", "outlier_detection", "round_robin_lb_config",
		"least_request_lb_config", "ring_hash_lb_config", "maglev_lb_config", "upstream_connection_options",
		"transport_socket", "transport_socket_matches", "upstream_bind_config"},
	"envoy.config.core.v3.BindConfig":                                         {"source_address"},
	"envoy.config.cluster.v3.Cluster.TransportSocketMatch":                    {"name", "match", "transport_socket"},
	"envoy.config.cluster.v3.Cluster.EdsClusterConfig":                        {"eds_config", "service_name"},
	"envoy.config.cluster.v3.Cluster.CommonLbConfig":                          {"healthy_panic_threshold", "locality_weighted_lb_config"},
	"envoy.config.cluster.v3.Cluster.CommonLbConfig.LocalityWeightedLbConfig": {},
	"envoy.config.cluster.v3.Cluster.OriginalDstLbConfig":                     {"use_http_header"},
	"envoy.config.cluster.v3.Cluster.RoundRobinLbConfig":                      {"slow_start_config"},
	"envoy.config.cluster.v3.Cluster.LeastRequestLbConfig":                    {"choice_count", "active_request_bias", "slow_start_config"},
	"envoy.config.cluster.v3.Cluster.SlowStartConfig":                         {"slow_start_window", "aggression", "min_weight_percent"},
	"envoy.config.core.v3.RuntimeDouble":                                      {"default_value", "runtime_key"},
	"envoy.config.cluster.v3.Cluster.RingHashLbConfig":                        {"minimum_ring_size", "maximum_ring_size", "hash_function"},
	"envoy.config.cluster.v3.Cluster.MaglevLbConfig":                          {"table_size"},
	"envoy.config.cluster.v3.OutlierDetection": {"consecutive_5xx", "interval", "base_ejection_time", "max_ejection_percent",
		"enforcing_consecutive_5xx", "enforcing_success_rate", "consecutive_gateway_failure",
		"enforcing_consecutive_gateway_failure", "split_external_local_origin_errors", "consecutive_local_origin_failure",
		"enforcing_consecutive_local_origin_failure", "enforcing_local_origin_success_rate", "max_ejection_time"},
	"envoy.config.cluster.v3.UpstreamConnectionOptions": {"tcp_keepalive"},
	"envoy.config.core.v3.TcpKeepalive":                 {"keepalive_probes", "keepalive_time", "keepalive_interval"},
	"envoy.config.cluster.v3.CircuitBreakers":           {"thresholds"},
	"envoy.config.cluster.v3.CircuitBreakers.Thresholds": {"priority", "max_connections", "max_pending_requests",
		"max_requests", "max_retries", "track_remaining"},
	"envoy.type.v3.Percent":         {"value"},
	"envoy.config.core.v3.Metadata": {"filter_metadata"},
	"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {"explicit_http_config", "use_downstream_protocol_config",
		"common_http_protocol_options", "upstream_http_protocol_options"},
	"envoy.config.core.v3.UpstreamHttpProtocolOptions":                               {"auto_sni", "auto_san_validation"},
	"envoy.extensions.upstreams.http.v3.HttpProtocolOptions.ExplicitHttpConfig":      {"http_protocol_options", "http2_protocol_options"},
	"envoy.extensions.upstreams.http.v3.HttpProtocolOptions.UseDownstreamHttpConfig": {"http_protocol_options", "http2_protocol_options"},
	"envoy.config.core.v3.Http1ProtocolOptions":                                      {},
	"envoy.config.core.v3.Http2ProtocolOptions":                                      {"max_concurrent_streams"},
	"envoy.config.core.v3.HttpProtocolOptions":                                       {"idle_timeout", "max_requests_per_connection", "max_connection_duration"},

	// ClusterLoadAssignment.
	"envoy.config.endpoint.v3.ClusterLoadAssignment": {"cluster_name", "endpoints"},
	"envoy.config.endpoint.v3.LocalityLbEndpoints":   {"locality", "priority", "load_balancing_weight", "lb_endpoints"},
	"envoy.config.core.v3.Locality":                  {"region", "zone", "sub_zone"},
	"envoy.config.endpoint.v3.LbEndpoint":            {"endpoint", "load_balancing_weight", "health_status", "metadata"},
	"envoy.config.endpoint.v3.Endpoint":              {"address"},

	// Transport sockets and SDS secrets.
	"envoy.config.core.v3.TransportSocket":                       {"name", "typed_config"},
	"envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer": {},
	tlsPkg + "UpstreamTlsContext":                                {"common_tls_context", "sni"},
	tlsPkg + "DownstreamTlsContext":                              {"common_tls_context", "require_client_certificate"},
	tlsPkg + "CommonTlsContext": {"tls_params", "alpn_protocols", "tls_certificate_sds_secret_configs",
		"validation_context", "validation_context_sds_secret_config", "combined_validation_context"},
	tlsPkg + "CommonTlsContext.CombinedCertificateValidationContext": {"default_validation_context", "validation_context_sds_secret_config"},
	tlsPkg + "TlsParameters":                     {"tls_minimum_protocol_version", "tls_maximum_protocol_version", "cipher_suites"},
	tlsPkg + "SdsSecretConfig":                   {"name", "sds_config"},
	tlsPkg + "CertificateValidationContext":      {"match_subject_alt_names", "trusted_ca"},
	tlsPkg + "Secret":                            {"name", "tls_certificate", "validation_context"},
	tlsPkg + "TlsCertificate":                    {"certificate_chain", "private_key"},
	"envoy.config.core.v3.ApiConfigSource":       {"api_type", "transport_api_version", "grpc_services", "set_node_on_first_message_only"},
	"envoy.config.core.v3.GrpcService":           {"envoy_grpc", "timeout", "initial_metadata"},
	"envoy.config.core.v3.GrpcService.EnvoyGrpc": {"cluster_name", "authority"},

	// Access logs and tracing (HCM access_log and tracing, TcpProxy access_log).
	"envoy.config.accesslog.v3.AccessLog":                   {"name", "filter", "typed_config"},
	"envoy.config.accesslog.v3.AccessLogFilter":             {"extension_filter"},
	"envoy.config.accesslog.v3.ExtensionFilter":             {"name", "typed_config"},
	"envoy.extensions.access_loggers.file.v3.FileAccessLog": {"path", "log_format"},
	"envoy.config.core.v3.SubstitutionFormatString": {"text_format_source", "json_format", "omit_empty_values",
		"formatters", "json_format_options"},
	"envoy.config.core.v3.JsonFormatOptions":                          {"sort_properties"},
	"envoy.config.core.v3.TypedExtensionConfig":                       {"name", "typed_config"},
	"envoy.extensions.formatter.req_without_query.v3.ReqWithoutQuery": {},
	"envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter": {"expression"},
	hcmPkg + "HttpConnectionManager.Tracing": {"client_sampling", "random_sampling", "overall_sampling",
		"max_path_tag_length", "custom_tags", "provider", "spawn_upstream_span", "no_context_propagation"},
	"envoy.type.tracing.v3.CustomTag":         {"tag", "literal", "request_header", "value"},
	"envoy.type.tracing.v3.CustomTag.Literal": {"value"},
	"envoy.type.tracing.v3.CustomTag.Header":  {"name", "default_value"},
	"envoy.config.trace.v3.Tracing.Http":      {"name", "typed_config"},
	"envoy.config.trace.v3.ZipkinConfig": {"collector_cluster", "collector_endpoint", "trace_id_128bit",
		"shared_span_context", "collector_endpoint_version", "collector_hostname", "trace_context_option", "collector_service"},
	"envoy.config.trace.v3.OpenTelemetryConfig": {"grpc_service", "http_service", "service_name"},
	"envoy.config.core.v3.HttpService":          {"http_uri", "request_headers_to_add"},
	"envoy.config.core.v3.HttpUri":              {"uri", "cluster", "timeout"},
}

const (
	hcmPkg = "envoy.extensions.filters.network.http_connection_manager.v3."
	tcpPkg = "envoy.extensions.filters.network.tcp_proxy.v3."
	tlsPkg = "envoy.extensions.transport_sockets.tls.v3."
)

// notYet lists fields docs/xds.md names that this proxy cannot enforce yet:
// setting them is NACKed with "not supported yet" rather than ignored.
var notYet = map[protoreflect.FullName][]string{}

// leafMessages are accepted whole (well-known value types).
var leafMessages = map[protoreflect.FullName]bool{
	"google.protobuf.Duration":    true,
	"google.protobuf.BoolValue":   true,
	"google.protobuf.UInt32Value": true,
	"google.protobuf.UInt64Value": true,
	"google.protobuf.DoubleValue": true,
	"google.protobuf.Struct":      true,
	"google.protobuf.Any":         true, // checked by the decoder of its type URL
}

// allowSet is the compiled form of allowed.
var allowSet, notYetSet = compile(allowed), compile(notYet)

func compile(lists map[protoreflect.FullName][]string) map[protoreflect.FullName]map[protoreflect.Name]bool {
	out := make(map[protoreflect.FullName]map[protoreflect.Name]bool, len(lists))
	for msg, fields := range lists {
		set := make(map[protoreflect.Name]bool, len(fields))
		for _, f := range fields {
			set[protoreflect.Name(f)] = true
		}
		out[msg] = set
	}
	return out
}

// checkFields walks m and fails on the first populated field that is not in
// the allowlist, naming its path relative to m (prefixed by base).
func checkFields(m protoreflect.Message, base string) error {
	name := m.Descriptor().FullName()
	if leafMessages[name] {
		return nil
	}
	if len(m.GetUnknown()) > 0 {
		return fieldErr(base, "unknown fields in %s", name)
	}
	set, ok := allowSet[name]
	if !ok {
		return fieldErr(base, "message %s is not supported", name)
	}
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		path := joinPath(base, string(fd.Name()))
		if notYetSet[name][fd.Name()] {
			err = fieldErr(path, "not supported yet by lateen-proxy")
			return false
		}
		if !set[fd.Name()] {
			err = fieldErr(path, "field not supported by lateen-proxy")
			return false
		}
		err = checkValue(fd, v, path)
		return err == nil
	})
	return err
}

func checkValue(fd protoreflect.FieldDescriptor, v protoreflect.Value, path string) error {
	switch {
	case fd.IsList() && fd.Message() != nil:
		l := v.List()
		for i := 0; i < l.Len(); i++ {
			if err := checkFields(l.Get(i).Message(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case fd.IsMap() && fd.MapValue().Message() != nil:
		var err error
		v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
			err = checkFields(mv.Message(), fmt.Sprintf("%s[%s]", path, k.String()))
			return err == nil
		})
		return err
	case fd.Message() != nil && !fd.IsList() && !fd.IsMap():
		return checkFields(v.Message(), path)
	}
	return nil
}

func joinPath(base, field string) string {
	if base == "" {
		return field
	}
	return base + "." + field
}

// FieldError is a decode failure at a field path inside one resource.
type FieldError struct {
	Path   string
	Reason string
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Reason
	}
	return e.Path + ": " + e.Reason
}

func fieldErr(path, format string, args ...any) error {
	return &FieldError{Path: path, Reason: fmt.Sprintf(format, args...)}
}

// under prefixes the path of a FieldError (or wraps another error) with base.
func under(base string, err error) error {
	if err == nil {
		return nil
	}
	if fe, ok := err.(*FieldError); ok {
		p := base
		if fe.Path != "" {
			p = joinPath(base, fe.Path)
		}
		return &FieldError{Path: p, Reason: fe.Reason}
	}
	return &FieldError{Path: base, Reason: err.Error()}
}

// shortType returns the message name of a type URL, e.g. "Cluster".
func shortType(typeURL string) string {
	if i := strings.LastIndexByte(typeURL, '.'); i >= 0 {
		return typeURL[i+1:]
	}
	return typeURL
}
