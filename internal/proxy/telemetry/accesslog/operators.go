package accesslog

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// simpleOperators are the command operators that take no argument, keyed
// by their Envoy name.
var simpleOperators = map[string]func(*Entry) value{
	"START_TIME":     func(e *Entry) value { return strValue(strftime(defaultTimeFormat, e.Request.Time)) },
	"RESPONSE_CODE":  func(e *Entry) value { return numValue(int64(e.Response.Code)) },
	"RESPONSE_FLAGS": func(e *Entry) value { return strValue(flagsOrDash(e.Response.FlagString)) },
	"RESPONSE_FLAGS_LONG": func(e *Entry) value {
		return strValue(longFlags(e.Response.FlagString))
	},
	"RESPONSE_CODE_DETAILS":              func(e *Entry) value { return strValue(e.Response.CodeDetails) },
	"CONNECTION_TERMINATION_DETAILS":     func(e *Entry) value { return strValue(e.Connection.TerminationDetails) },
	"UPSTREAM_TRANSPORT_FAILURE_REASON":  func(e *Entry) value { return strValue(e.Upstream.TransportFailureReason) },
	"UPSTREAM_TRANSPORT_FAILURE_DETAILS": func(e *Entry) value { return strValue(e.Upstream.TransportFailureReason) },
	"BYTES_RECEIVED":                     func(e *Entry) value { return numValue(e.bytesReceived()) },
	"BYTES_SENT":                         func(e *Entry) value { return numValue(e.bytesSent()) },
	"DURATION":                           func(e *Entry) value { return numValue(e.Request.Duration.Milliseconds()) },
	"PROTOCOL":                           func(e *Entry) value { return strValue(e.Request.Protocol) },
	"UPSTREAM_PROTOCOL":                  func(*Entry) value { return value{} },
	"ROUTE_NAME":                         func(e *Entry) value { return strValue(e.XDS.RouteName) },
	"VIRTUAL_CLUSTER_NAME":               func(*Entry) value { return value{} },
	"UPSTREAM_HOST":                      func(e *Entry) value { return strValue(e.Upstream.Address) },
	"UPSTREAM_REMOTE_ADDRESS":            func(e *Entry) value { return strValue(e.Upstream.Address) },
	"UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT": func(e *Entry) value {
		return strValue(hostOf(e.Upstream.Address))
	},
	"UPSTREAM_REMOTE_PORT":   func(e *Entry) value { return portOf(e.Upstream.Address) },
	"UPSTREAM_CLUSTER":       func(e *Entry) value { return strValue(e.Upstream.Cluster) },
	"UPSTREAM_CLUSTER_RAW":   func(e *Entry) value { return strValue(e.Upstream.Cluster) },
	"UPSTREAM_LOCAL_ADDRESS": func(e *Entry) value { return strValue(e.Upstream.LocalAddress) },
	"UPSTREAM_REQUEST_ATTEMPT_COUNT": func(e *Entry) value {
		return numValue(int64(e.Upstream.RequestAttemptCount))
	},
	"DOWNSTREAM_LOCAL_ADDRESS":              func(e *Entry) value { return strValue(e.Destination.Address) },
	"DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT": func(e *Entry) value { return strValue(e.Destination.IP) },
	"DOWNSTREAM_LOCAL_PORT":                 func(e *Entry) value { return portValue(e.Destination.Port) },
	"DOWNSTREAM_REMOTE_ADDRESS":             func(e *Entry) value { return strValue(e.Source.Address) },
	"DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT": func(e *Entry) value {
		return strValue(e.Source.IP)
	},
	"DOWNSTREAM_REMOTE_PORT":           func(e *Entry) value { return portValue(e.Source.Port) },
	"DOWNSTREAM_DIRECT_REMOTE_ADDRESS": func(e *Entry) value { return strValue(e.Source.Address) },
	"DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT": func(e *Entry) value {
		return strValue(e.Source.IP)
	},
	"REQUESTED_SERVER_NAME":           func(e *Entry) value { return strValue(e.Connection.RequestedServerName) },
	"DOWNSTREAM_PEER_URI_SAN":         func(e *Entry) value { return strValue(strings.Join(e.Connection.URISanPeer, ",")) },
	"DOWNSTREAM_LOCAL_URI_SAN":        func(e *Entry) value { return strValue(strings.Join(e.Connection.URISanLocal, ",")) },
	"DOWNSTREAM_PEER_SUBJECT":         func(e *Entry) value { return strValue(e.Connection.SubjectPeer) },
	"DOWNSTREAM_LOCAL_SUBJECT":        func(e *Entry) value { return strValue(e.Connection.SubjectLocal) },
	"DOWNSTREAM_TLS_VERSION":          func(e *Entry) value { return strValue(e.Connection.TLSVersion) },
	"DOWNSTREAM_PEER_FINGERPRINT_256": func(e *Entry) value { return tlsValue(e, peerFingerprint) },
	"DOWNSTREAM_PEER_SERIAL":          func(e *Entry) value { return tlsValue(e, peerSerial) },
	"DOWNSTREAM_TLS_CIPHER":           func(e *Entry) value { return tlsValue(e, tlsCipher) },
	"GRPC_STATUS":                     func(e *Entry) value { return grpcStatusName(e) },
	"GRPC_STATUS_NUMBER":              func(e *Entry) value { return grpcStatusNumber(e) },
	"REQUEST_DURATION":                func(*Entry) value { return value{} },
	"RESPONSE_DURATION":               func(*Entry) value { return value{} },
	"RESPONSE_TX_DURATION":            func(*Entry) value { return value{} },
	"REQUEST_HEADERS_BYTES":           func(e *Entry) value { return numValue(headerBytes(e)) },
	"CONNECTION_ID":                   func(e *Entry) value { return numValue(int64(e.Connection.ID)) },
}

func flagsOrDash(f string) string {
	if f == "" {
		return "-"
	}
	return f
}

func portValue(p int) value {
	if p == 0 {
		return value{}
	}
	return numValue(int64(p))
}

// lookupOperator compiles one command operator.
func lookupOperator(name, arg string, hasArg bool, env Env) (func(*Entry) value, error) {
	switch name {
	case "REQ", "RESP", "TRAILER", "REQ_WITHOUT_QUERY":
		if !hasArg || arg == "" {
			return nil, fmt.Errorf("%%%s needs a header name: %%%s(X?Y)%%", name, name)
		}
		return headerOperator(name, arg), nil
	case "START_TIME":
		if hasArg && arg != "" {
			return func(e *Entry) value { return strValue(strftime(arg, e.Request.Time)) }, nil
		}
	case "HOSTNAME":
		return func(*Entry) value { return strValue(env.Hostname) }, nil
	}
	if f, ok := simpleOperators[name]; ok {
		if hasArg && name != "START_TIME" {
			return nil, fmt.Errorf("%%%s takes no argument", name)
		}
		return f, nil
	}
	return nil, fmt.Errorf("command operator %%%s%% not supported by lateen-proxy", name)
}

// headerOperator is %REQ(X?Y)%, %RESP(X?Y)%, %TRAILER(X?Y)% or
// %REQ_WITHOUT_QUERY(X?Y)%: header X, else Y.
func headerOperator(kind, arg string) func(*Entry) value {
	main, alt, _ := strings.Cut(strings.ToLower(arg), "?")
	get := (*Entry).requestHeader
	switch kind {
	case "RESP":
		get = (*Entry).responseHeader
	case "TRAILER":
		get = (*Entry).trailer
	}
	stripQuery := kind == "REQ_WITHOUT_QUERY"
	return func(e *Entry) value {
		v, ok := get(e, main)
		if !ok && alt != "" {
			v, ok = get(e, alt)
		}
		if !ok {
			return value{}
		}
		if stripQuery {
			v, _, _ = strings.Cut(v, "?")
		}
		return value{kind: str, s: v}
	}
}

func hostOf(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

func portOf(addr string) value {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return value{}
	}
	n, err := strconv.ParseInt(port, 10, 64)
	if err != nil {
		return value{}
	}
	return numValue(n)
}

func tlsValue(e *Entry, f func(*tls.ConnectionState) string) value {
	if e.TLS == nil {
		return value{}
	}
	return strValue(f(e.TLS))
}

func peerFingerprint(s *tls.ConnectionState) string {
	if len(s.PeerCertificates) == 0 {
		return ""
	}
	sum := sha256.Sum256(s.PeerCertificates[0].Raw)
	return hex.EncodeToString(sum[:])
}

func peerSerial(s *tls.ConnectionState) string {
	if len(s.PeerCertificates) == 0 {
		return ""
	}
	return s.PeerCertificates[0].SerialNumber.Text(16)
}

func tlsCipher(s *tls.ConnectionState) string { return tls.CipherSuiteName(s.CipherSuite) }

// grpcStatusNames are gRPC's status code names, by number.
var grpcStatusNames = []string{"OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound",
	"AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange",
	"Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated"}

func grpcStatusName(e *Entry) value {
	n, ok := e.Response.GRPCStatus()
	if !ok || n < 0 || n >= len(grpcStatusNames) {
		return value{}
	}
	return strValue(grpcStatusNames[n])
}

func grpcStatusNumber(e *Entry) value {
	n, ok := e.Response.GRPCStatus()
	if !ok {
		return value{}
	}
	return numValue(int64(n))
}

// headerBytes approximates %REQUEST_HEADERS_BYTES%: the request headers'
// uncompressed size.
func headerBytes(e *Entry) int64 {
	var n int64
	for k, vs := range e.Request.Headers {
		for _, v := range vs {
			n += int64(len(k) + len(v))
		}
	}
	return n
}

// longFlags maps short response flags to Envoy's long names
// (%RESPONSE_FLAGS_LONG%).
func longFlags(short string) string {
	if short == "" || short == "-" {
		return "-"
	}
	parts := strings.Split(short, ",")
	for i, p := range parts {
		if l, ok := longFlagNames[p]; ok {
			parts[i] = l
		}
	}
	return strings.Join(parts, ",")
}

var longFlagNames = map[string]string{
	"UH": "NoHealthyUpstream", "UT": "UpstreamRequestTimeout", "UR": "UpstreamRemoteReset",
	"UF": "UpstreamConnectionFailure", "UC": "UpstreamConnectionTermination", "UO": "UpstreamOverflow",
	"NR": "NoRouteFound", "DI": "DelayInjected", "FI": "FaultInjected", "DC": "DownstreamConnectionTermination",
	"URX": "UpstreamRetryLimitExceeded", "DPE": "DownstreamProtocolError", "DT": "DurationTimeout",
	"NC": "NoClusterFound", "RL": "RateLimited", "UAEX": "UnauthorizedExternalService",
}

// defaultTimeFormat is %START_TIME%'s format without an argument.
const defaultTimeFormat = "%Y-%m-%dT%H:%M:%E3SZ"

// strftime formats t (in UTC) with the strftime conversions Envoy's
// access logs accept, including %E<n>S and %<n>f (fractional seconds) and
// %s (Unix seconds). Unknown conversions are copied.
func strftime(format string, t time.Time) string {
	t = t.UTC()
	b := make([]byte, 0, len(format)+16)
	for i := 0; i < len(format); i++ {
		if format[i] != '%' || i+1 == len(format) {
			b = append(b, format[i])
			continue
		}
		n, consumed := appendConversion(b, format[i+1:], t)
		b = n
		i += consumed
	}
	return string(b)
}

// appendConversion appends one conversion (the text after '%') and
// returns how many bytes of it were read.
func appendConversion(b []byte, f string, t time.Time) ([]byte, int) {
	if len(f) >= 3 && f[0] == 'E' && f[1] >= '1' && f[1] <= '9' && f[2] == 'S' {
		return appendSeconds(b, t, int(f[1]-'0')), 3
	}
	if len(f) >= 2 && f[0] >= '1' && f[0] <= '9' && f[1] == 'f' {
		return appendFraction(b, t, int(f[0]-'0')), 2
	}
	if s, ok := conversion(f[0], t); ok {
		return append(b, s...), 1
	}
	return append(b, '%', f[0]), 1
}

func conversion(c byte, t time.Time) (string, bool) {
	switch c {
	case 'Y':
		return strconv.Itoa(t.Year()), true
	case 'm':
		return pad2(int(t.Month())), true
	case 'd':
		return pad2(t.Day()), true
	case 'H':
		return pad2(t.Hour()), true
	case 'M':
		return pad2(t.Minute()), true
	case 'S':
		return pad2(t.Second()), true
	case 's':
		return strconv.FormatInt(t.Unix(), 10), true
	case 'f':
		return string(appendFraction(nil, t, 9)), true
	case 'F':
		return t.Format("2006-01-02"), true
	case 'T':
		return t.Format("15:04:05"), true
	case 'y':
		return pad2(t.Year() % 100), true
	case 'j':
		return fmt.Sprintf("%03d", t.YearDay()), true
	case 'e':
		return fmt.Sprintf("%2d", t.Day()), true
	case 'a':
		return t.Format("Mon"), true
	case 'A':
		return t.Format("Monday"), true
	case 'b', 'h':
		return t.Format("Jan"), true
	case 'B':
		return t.Format("January"), true
	case 'p':
		return t.Format("PM"), true
	case 'I':
		return t.Format("03"), true
	case 'z':
		return "+0000", true
	case 'Z':
		return "UTC", true
	case 'D':
		return t.Format("01/02/06"), true
	case 'R':
		return t.Format("15:04"), true
	case 'n':
		return "\n", true
	case 't':
		return "\t", true
	case '%':
		return "%", true
	}
	return "", false
}

func pad2(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

func appendSeconds(b []byte, t time.Time, digits int) []byte {
	b = append(b, pad2(t.Second())...)
	b = append(b, '.')
	return appendFraction(b, t, digits)
}

func appendFraction(b []byte, t time.Time, digits int) []byte {
	s := fmt.Sprintf("%09d", t.Nanosecond())
	return append(b, s[:digits]...)
}
