package capture

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Pod annotations that set capture options, as in Istio.
const (
	annotationPrefix          = "traffic.sidecar.istio.io/"
	annIncludeInboundPorts    = annotationPrefix + "includeInboundPorts"
	annExcludeInboundPorts    = annotationPrefix + "excludeInboundPorts"
	annIncludeOutboundRanges  = annotationPrefix + "includeOutboundIPRanges"
	annExcludeOutboundRanges  = annotationPrefix + "excludeOutboundIPRanges"
	annIncludeOutboundPorts   = annotationPrefix + "includeOutboundPorts"
	annExcludeOutboundPorts   = annotationPrefix + "excludeOutboundPorts"
	annInterceptionMode       = "sidecar.istio.io/interceptionMode"
	unsupportedAnnotationText = "not supported by lateen-proxy iptables yet"
)

// ParseAnnotations reads a pod's annotations: a JSON object of strings, or
// lines of key=value as the Kubernetes downward API writes them (values may
// be double-quoted Go strings).
func ParseAnnotations(data []byte) (map[string]string, error) {
	text := strings.TrimSpace(string(data))
	out := map[string]string{}
	if strings.HasPrefix(text, "{") {
		if err := json.Unmarshal([]byte(text), &out); err != nil {
			return nil, fmt.Errorf("annotations: %w", err)
		}
		return out, nil
	}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("annotations line %d: want key=value, got %q", i+1, line)
		}
		v = strings.TrimSpace(v)
		if strings.HasPrefix(v, `"`) {
			u, err := strconv.Unquote(v)
			if err != nil {
				return nil, fmt.Errorf("annotations line %d: bad quoted value %s", i+1, v)
			}
			v = u
		}
		out[strings.TrimSpace(k)] = v
	}
	return out, nil
}

// ApplyAnnotations sets the options the capture annotations name. Other
// traffic.sidecar.istio.io annotations and interception modes other than
// REDIRECT are errors, never silently ignored.
func (o *Options) ApplyAnnotations(ann map[string]string) error {
	keys := make([]string, 0, len(ann))
	for k := range ann {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := o.applyAnnotation(k, ann[k]); err != nil {
			return fmt.Errorf("annotation %s: %w", k, err)
		}
	}
	return nil
}

func (o *Options) applyAnnotation(k, v string) error {
	var err error
	switch k {
	case annIncludeInboundPorts:
		o.IncludeInboundPorts, err = ParsePortList(v)
	case annExcludeInboundPorts:
		o.ExcludeInboundPorts, err = ParsePortList(v)
	case annIncludeOutboundRanges:
		o.IncludeOutboundIPRanges, err = ParseRangeList(v)
	case annExcludeOutboundRanges:
		o.ExcludeOutboundIPRanges, err = ParseRangeList(v)
	case annIncludeOutboundPorts:
		o.IncludeOutboundPorts, err = ParsePortList(v)
	case annExcludeOutboundPorts:
		o.ExcludeOutboundPorts, err = ParsePortList(v)
	case annInterceptionMode:
		err = checkInterceptionMode(v)
	default:
		if strings.HasPrefix(k, annotationPrefix) {
			err = fmt.Errorf("%s", unsupportedAnnotationText)
		}
	}
	return err
}

// checkInterceptionMode accepts REDIRECT, the only mode implemented.
func checkInterceptionMode(mode string) error {
	switch mode {
	case "", "REDIRECT":
		return nil
	case "NONE":
		return fmt.Errorf("interception mode NONE captures nothing: do not run lateen-proxy iptables")
	case "TPROXY":
		return fmt.Errorf("interception mode TPROXY %s (use REDIRECT)", unsupportedAnnotationText)
	}
	return fmt.Errorf("interception mode %q: want REDIRECT", mode)
}
