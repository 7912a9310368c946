package metrics

import (
	"bufio"
	"io"
	"sort"
	"strings"

	"github.com/lateenmesh/lateen/internal/proxy/stats"
)

// DefaultInclusionPrefixes are the Envoy-style stats exported on
// /stats/prometheus besides Istio's metrics, as Istio's default
// proxyStatsMatcher: the proxy's own health (server, control plane, xDS
// updates, managers). Per-cluster and per-listener stats stay on the
// admin /stats unless included.
var DefaultInclusionPrefixes = []string{"server.", "control_plane.", "cluster_manager.", "listener_manager."}

// scopes name the stats whose second segment is an object name, and the
// leaves that may follow it (object names may contain dots).
var scopes = []struct {
	prefix, label string
	leaves        []string
}{
	{"cluster.", "cluster_name", []string{"upstream_", "circuit_breakers.", "outlier_detection.", "lb_",
		"membership_", "update_", "ssl.", "original_dst_", "assignment_", "bind_errors", "version"}},
	{"http.", "http_conn_manager_prefix", []string{"downstream_", "fault.", "cors.", "rbac.", "no_route",
		"no_cluster", "rq_", "tracing.", "jwt_authn.", "ext_authz.", "access_log."}},
	{"listener.", "listener_address", []string{"downstream_", "ssl.", "http.", "server_ssl_socket_factory.",
		"no_filter_chain_match", "connections_accepted_per_socket_event"}},
	{"tcp.", "tcp_prefix", []string{"downstream_", "upstream_", "idle_timeout", "max_downstream_connection_duration",
		"on_demand_cluster_"}},
}

// promName converts an Envoy stat name to its Prometheus name and labels
// the way Envoy's tag extraction does with Istio's stats tags: the object
// name of cluster.*, http.*, listener.* and tcp.* stats becomes a label,
// response codes (…_rq_200) and classes (…_rq_2xx) too.
func promName(name string) (string, []Label) {
	var labels []Label
	for _, sc := range scopes {
		rest, ok := strings.CutPrefix(name, sc.prefix)
		if !ok {
			continue
		}
		if obj, leaf, ok := splitObject(rest, sc.leaves); ok {
			labels = append(labels, Label{sc.label, obj})
			name = sc.prefix + leaf
		}
		break
	}
	if i := strings.LastIndex(name, "_rq_"); i >= 0 && len(name)-i == 7 {
		code := name[i+4:]
		switch {
		case isDigits(code):
			labels = append(labels, Label{"response_code", code})
			name = name[:i+3]
		case code[0] >= '1' && code[0] <= '5' && code[1:] == "xx":
			labels = append(labels, Label{"response_code_class", code})
			name = name[:i+3]
		}
	}
	return "envoy_" + sanitize(name), labels
}

// splitObject finds where an object name ends: at the first '.' followed
// by a known leaf.
func splitObject(rest string, leaves []string) (string, string, bool) {
	for i := 0; i < len(rest); i++ {
		if rest[i] != '.' {
			continue
		}
		for _, l := range leaves {
			// Leaves ending in '.' or '_' are prefixes; others whole names.
			leaf := rest[i+1:]
			if end := l[len(l)-1]; strings.HasPrefix(leaf, l) && (end == '.' || end == '_' || leaf == l) {
				return rest[:i], leaf, true
			}
		}
	}
	return "", "", false
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == ':') {
			b[i] = '_'
		}
	}
	return string(b)
}

// WriteEnvoyStats writes the stats whose names start with one of the
// prefixes (all when prefixes is nil) in the Prometheus text format, one
// family per converted name.
func WriteEnvoyStats(w io.Writer, snap []stats.Stat, prefixes []string) error {
	type sample struct {
		labels []Label
		value  float64
	}
	families := map[string][]sample{}
	gauge := map[string]bool{}
	for _, st := range snap {
		if prefixes != nil && !hasAnyPrefix(st.Name, prefixes) {
			continue
		}
		name, labels := promName(st.Name)
		families[name] = append(families[name], sample{labels, st.Value})
		gauge[name] = st.Gauge
	}
	names := make([]string, 0, len(families))
	for n := range families {
		names = append(names, n)
	}
	sort.Strings(names)
	bw := bufio.NewWriter(w)
	for _, n := range names {
		kind := Counter
		if gauge[n] {
			kind = Gauge
		}
		bw.WriteString("# TYPE " + n + " " + kind.String() + "\n")
		for _, s := range families[n] {
			writeSample(bw, n, s.labels, "", FormatFloat(s.value))
		}
	}
	return bw.Flush()
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
