package translate

import (
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/lateenmesh/lateen/internal/sortedmap"
)

// headerOperations are an Istio Headers block in Envoy's terms. Setting
// (or adding) the request's host or :authority is a host rewrite, as in
// Istio, not a header operation.
type headerOperations struct {
	requestAdd, responseAdd       []*corev3.HeaderValueOption
	requestRemove, responseRemove []string
	authority                     string
}

// translateHeaders converts Istio header operations: set overwrites, add
// appends (each sorted by name), remove deletes; pseudo-headers and host
// are left out of the operations.
func translateHeaders(h *networking.Headers) headerOperations {
	var ops headerOperations
	req, resp := h.GetRequest(), h.GetResponse()
	var setAuth, addAuth string
	ops.requestAdd, setAuth = headerValues(req.GetSet(), corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD)
	add, addAuth := headerValues(req.GetAdd(), corev3.HeaderValueOption_APPEND_IF_EXISTS_OR_ADD)
	ops.requestAdd = append(ops.requestAdd, add...)
	ops.authority = addAuth
	if setAuth != "" {
		ops.authority = setAuth
	}
	ops.responseAdd, _ = headerValues(resp.GetSet(), corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD)
	add, _ = headerValues(resp.GetAdd(), corev3.HeaderValueOption_APPEND_IF_EXISTS_OR_ADD)
	ops.responseAdd = append(ops.responseAdd, add...)
	ops.requestRemove, ops.responseRemove = dropInternal(req.GetRemove()), dropInternal(resp.GetRemove())
	return ops
}

// headerValues converts one map of headers (sorted by name), returning the
// authority it sets, if any.
func headerValues(m map[string]string, action corev3.HeaderValueOption_HeaderAppendAction) ([]*corev3.HeaderValueOption, string) {
	var out []*corev3.HeaderValueOption
	var authority string
	for _, k := range sortedmap.Keys(m) {
		if isAuthorityHeader(k) {
			authority = m[k]
		}
		if isInternalHeader(k) {
			continue
		}
		out = append(out, &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: k, Value: m[k]}, AppendAction: action})
	}
	return out, authority
}

func isAuthorityHeader(name string) bool {
	return strings.EqualFold(name, "host") || strings.EqualFold(name, ":authority")
}

// isInternalHeader: pseudo-headers and host cannot be changed by header
// operations.
func isInternalHeader(name string) bool {
	return strings.HasPrefix(name, ":") || strings.EqualFold(name, "host")
}

func dropInternal(names []string) []string {
	var out []string
	for _, n := range names {
		if !isInternalHeader(n) {
			out = append(out, n)
		}
	}
	return out
}
