package proxy_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/config/accesslog/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	filev3 "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/file/v3"
	celv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/filters/cel/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tcpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/lateenmesh/lateen/internal/proxy/proxytest"
	"github.com/lateenmesh/lateen/internal/wait"
)

// istioTextFormat is Istio's default TEXT access log format.
const istioTextFormat = "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\" " +
	"%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% " +
	"\"%UPSTREAM_TRANSPORT_FAILURE_REASON%\" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% " +
	"%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" " +
	"\"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\" %UPSTREAM_CLUSTER_RAW% " +
	"%UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n"

// fileLog is an envoy.access_loggers.file access log with a text or JSON
// format and an optional CEL filter.
func fileLog(path, text string, json map[string]any, filter string) *accesslogv3.AccessLog {
	f := &corev3.SubstitutionFormatString{}
	if json != nil {
		s, err := structpb.NewStruct(json)
		if err != nil {
			panic(err)
		}
		f.Format = &corev3.SubstitutionFormatString_JsonFormat{JsonFormat: s}
	} else {
		f.Format = &corev3.SubstitutionFormatString_TextFormatSource{TextFormatSource: &corev3.DataSource{
			Specifier: &corev3.DataSource_InlineString{InlineString: text}}}
	}
	al := &accesslogv3.AccessLog{Name: "envoy.access_loggers.file", ConfigType: &accesslogv3.AccessLog_TypedConfig{
		TypedConfig: proxytest.Any(&filev3.FileAccessLog{Path: path,
			AccessLogFormat: &filev3.FileAccessLog_LogFormat{LogFormat: f}})}}
	if filter != "" {
		al.Filter = &accesslogv3.AccessLogFilter{FilterSpecifier: &accesslogv3.AccessLogFilter_ExtensionFilter{
			ExtensionFilter: &accesslogv3.ExtensionFilter{Name: "envoy.access_loggers.extension_filters.cel",
				ConfigType: &accesslogv3.ExtensionFilter_TypedConfig{TypedConfig: proxytest.Any(&celv3.ExpressionFilter{
					Expression: filter})}}}}
	}
	return al
}

// loggedHTTP publishes one HTTP listener whose connection manager has
// the given access logs (and tracing, when set), routing everything to a
// backend; it returns the listener's address.
func loggedHTTP(t *testing.T, e *env, version, direction string, logs []*accesslogv3.AccessLog,
	tracing *hcmv3.HttpConnectionManager_Tracing, backend string, extra ...types.Resource) string {
	t.Helper()
	port := proxytest.FreePort(t)
	hcm := proxytest.HCM("l", "r")
	hcm.AccessLog, hcm.Tracing = logs, tracing
	l := proxytest.Listener("l", "0.0.0.0", port, hcm)
	if direction != "" {
		l.TrafficDirection = corev3.TrafficDirection(corev3.TrafficDirection_value[direction])
	}
	res := proxytest.Resources{
		Listeners: []types.Resource{l},
		Routes: []types.Resource{proxytest.RouteConfig("r", proxytest.VirtualHost("vh", []string{"*"},
			decorated(proxytest.PrefixRoute("/", "backend"), "backend.default.svc.cluster.local:80/*")))},
		Clusters: append([]types.Resource{proxytest.StaticCluster("backend", backend)}, extra...),
	}
	e.apply(t, version, res)
	return fmt.Sprintf("127.0.0.1:%d", port)
}

// readLines waits until path holds n lines and returns them.
func readLines(t *testing.T, path string, n int) []string {
	t.Helper()
	var lines []string
	wait.For(t, 10*time.Second, fmt.Sprintf("%d access log lines in %s", n, path), func() error {
		b, _ := os.ReadFile(path)
		lines = strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if len(b) == 0 {
			lines = nil
		}
		if len(lines) < n {
			return fmt.Errorf("%d lines: %q", len(lines), b)
		}
		return nil
	})
	return lines
}

func TestAccessLogIstioText(t *testing.T) {
	e := startProxy(t)
	backend := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Envoy-Upstream-Service-Time", "ignored")
		io.WriteString(w, "hello")
	}))
	path := filepath.Join(t.TempDir(), "access.log")
	addr := loggedHTTP(t, e, "v1", "", []*accesslogv3.AccessLog{fileLog(path, istioTextFormat, nil, "")}, nil, backend)
	r := get(t, client(), addr, "details:9080", "/details/0?x=1", "User-Agent", "test-agent", "X-Request-Id", "rid-1")
	if r.code != 200 {
		t.Fatalf("got %d", r.code)
	}
	line := readLines(t, path, 1)[0]
	re := regexp.MustCompile(`^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] "GET /details/0\?x=1 HTTP/1\.1" 200 - via_upstream - "-" 0 5 \d+ \d+ "-" "test-agent" "rid-1" "details:9080" "` +
		regexp.QuoteMeta(backend) + `" backend - 127\.0\.0\.1:\d+ 127\.0\.0\.1:\d+ - -$`)
	if !re.MatchString(line) {
		t.Errorf("access log line\n%s\ndoes not match\n%s", line, re)
	}
}

func TestAccessLogJSONWithCELFilter(t *testing.T) {
	e := startProxy(t)
	backend := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/missing") {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "ok")
	}))
	dir := t.TempDir()
	all, errorsOnly := filepath.Join(dir, "all.log"), filepath.Join(dir, "errors.log")
	format := map[string]any{"code": "%RESPONSE_CODE%", "path": "%REQ(:PATH)%", "flags": "%RESPONSE_FLAGS%",
		"upstream": "%UPSTREAM_HOST%", "missing": "%REQ(X-NOT-SENT)%"}
	addr := loggedHTTP(t, e, "v1", "", []*accesslogv3.AccessLog{
		fileLog(all, "", format, ""),
		fileLog(errorsOnly, "", format, "response.code >= 400"),
	}, nil, backend)
	c := client()
	for _, p := range []string{"/a", "/missing/1", "/b", "/missing/2"} {
		get(t, c, addr, "h", p)
	}
	if got := readLines(t, all, 4); len(got) != 4 {
		t.Fatalf("all.log: %q", got)
	}
	lines := readLines(t, errorsOnly, 2)
	for i, want := range []string{"/missing/1", "/missing/2"} {
		var m map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &m); err != nil {
			t.Fatalf("line %q: %v", lines[i], err)
		}
		if m["code"] != 404.0 || m["path"] != want || m["flags"] != "-" || m["upstream"] != backend || m["missing"] != nil {
			t.Errorf("line %d: %v", i, m)
		}
	}
	// Later lines prove the filter kept nothing else.
	get(t, c, addr, "h", "/missing/3")
	if lines := readLines(t, errorsOnly, 3); len(lines) != 3 || !strings.Contains(lines[2], "/missing/3") {
		t.Errorf("errors.log: %q", lines)
	}
}

func TestAccessLogTCP(t *testing.T) {
	e := startProxy(t)
	echo := listen(t)
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	path := filepath.Join(t.TempDir(), "tcp.log")
	port := proxytest.FreePort(t)
	tp := &tcpv3.TcpProxy{StatPrefix: "echo", ClusterSpecifier: &tcpv3.TcpProxy_Cluster{Cluster: "echo"},
		AccessLog: []*accesslogv3.AccessLog{fileLog(path, "%BYTES_RECEIVED% %BYTES_SENT% %UPSTREAM_HOST% %UPSTREAM_CLUSTER% %PROTOCOL% %RESPONSE_FLAGS%\n", nil, "")}}
	e.apply(t, "v1", proxytest.Resources{
		Listeners: []types.Resource{proxytest.Listener("tcp", "0.0.0.0", port, tp)},
		Clusters:  []types.Resource{proxytest.StaticCluster("echo", echo.Addr().String())},
	})
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, "ping!")
	buf := make([]byte, 5)
	if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != "ping!" {
		t.Fatalf("echo: %q %v", buf, err)
	}
	conn.(*net.TCPConn).CloseWrite()
	io.Copy(io.Discard, conn)
	conn.Close()
	line := readLines(t, path, 1)[0]
	if want := "5 5 " + echo.Addr().String() + " echo - -"; line != want {
		t.Errorf("TCP access log %q, want %q", line, want)
	}
}

func TestAccessLogBadFormatNACKed(t *testing.T) {
	e := startProxy(t)
	backend := serve(t, http.NotFoundHandler())
	path := filepath.Join(t.TempDir(), "x.log")
	port := proxytest.FreePort(t)
	hcm := proxytest.HCM("l", "r")
	hcm.AccessLog = []*accesslogv3.AccessLog{fileLog(path, "%NOT_AN_OPERATOR%\n", nil, "")}
	e.srv.Set(t, nodeID, "bad", proxytest.Resources{
		Listeners: []types.Resource{proxytest.Listener("l", "0.0.0.0", port, hcm)},
		Routes:    []types.Resource{proxytest.RouteConfig("r", proxytest.VirtualHost("vh", []string{"*"}, proxytest.PrefixRoute("/", "b")))},
		Clusters:  []types.Resource{proxytest.StaticCluster("b", backend)},
	})
	req := e.srv.WaitRequest(t, "listener NACK", func(r *discoveryv3.DiscoveryRequest) bool {
		return r.TypeUrl == "type.googleapis.com/envoy.config.listener.v3.Listener" && r.ErrorDetail != nil
	})
	if msg := req.ErrorDetail.GetMessage(); !strings.Contains(msg, "NOT_AN_OPERATOR") {
		t.Errorf("NACK %q does not name the operator", msg)
	}
}
