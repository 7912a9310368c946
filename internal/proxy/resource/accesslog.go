package resource

// AccessLog is a decoded envoy.config.accesslog.v3.AccessLog of an HTTP
// connection manager or a TCP proxy: a file access log
// (envoy.access_loggers.file) with an optional CEL filter.
type AccessLog struct {
	Name string
	Path string // file path; /dev/stdout and /dev/stderr are the proxy's own
	// Exactly one of Text (an Envoy substitution format string) and JSON
	// (an object whose string leaves are format strings) is set.
	Text            string
	JSON            map[string]any
	OmitEmptyValues bool
	// Filter is a CEL expression over Envoy's attributes
	// (envoy.access_loggers.extension_filters.cel); "" logs everything.
	Filter string
}

// EnvoyDefaultLogFormat is Envoy's file access log format when the
// configuration sets none.
const EnvoyDefaultLogFormat = "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\" " +
	"%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% " +
	"%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" " +
	"\"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\"\n"
