package appkit

import "net/http"

// PropagatedHeaders lists the request headers every Bookinfo service copies
// from an incoming request onto the calls it makes while serving it. These
// carry the request id, the various tracing contexts and the end user.
// Cookies are deliberately absent.
var PropagatedHeaders = []string{
	"x-request-id",
	"traceparent",
	"tracestate",
	"x-b3-traceid",
	"x-b3-spanid",
	"x-b3-parentspanid",
	"x-b3-sampled",
	"x-b3-flags",
	"b3",
	"x-ot-span-context",
	"x-datadog-trace-id",
	"x-datadog-parent-id",
	"x-datadog-sampling-priority",
	"x-cloud-trace-context",
	"grpc-trace-bin",
	"sw8",
	"end-user",
	"user-agent",
}

// ForwardHeaders returns a new header set holding the propagated headers
// found in in.
func ForwardHeaders(in http.Header) http.Header {
	out := make(http.Header)
	for _, name := range PropagatedHeaders {
		if vals := in.Values(name); len(vals) > 0 {
			key := http.CanonicalHeaderKey(name)
			out[key] = append([]string(nil), vals...)
		}
	}
	return out
}
