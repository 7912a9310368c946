package accesslog

import (
	"encoding/json"
	"fmt"
	nethttp "net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lateenmesh/lateen/internal/proxy/telemetry/attrs"
)

// istioText is Istio's default TEXT access log format.
const istioText = "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\" " +
	"%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% " +
	"\"%UPSTREAM_TRANSPORT_FAILURE_REASON%\" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% " +
	"%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" " +
	"\"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\" %UPSTREAM_CLUSTER_RAW% " +
	"%UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n"

func sampleEntry() *Entry {
	e := &Entry{}
	e.Request = attrs.Request{ID: "abc", Method: "GET", Scheme: "http", Host: "details:9080", Path: "/details/0?x=1",
		Protocol: "HTTP/1.1", Headers: nethttp.Header{"User-Agent": {"curl/8"}, "X-Request-Id": {"abc"}},
		Time: time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC), Duration: 12 * time.Millisecond, Size: 0}
	e.Response = attrs.Response{Code: 200, FlagString: "-", CodeDetails: "via_upstream",
		Headers: nethttp.Header{"X-Envoy-Upstream-Service-Time": {"11"}}, Size: 178}
	e.Source = attrs.NewAddress("127.0.0.7:40000")
	e.Destination = attrs.NewAddress("127.0.0.9:9080")
	e.Upstream = attrs.Upstream{Address: "127.0.0.10:9080", Cluster: "outbound|9080||details.default.svc.cluster.local"}
	e.XDS.RouteName = "default"
	return e
}

func TestIstioTextFormat(t *testing.T) {
	f, err := CompileText(istioText, false, Env{})
	if err != nil {
		t.Fatal(err)
	}
	got := string(f.Append(nil, sampleEntry()))
	want := `[2024-05-06T07:08:09.123Z] "GET /details/0?x=1 HTTP/1.1" 200 - via_upstream - "-" 0 178 12 11 "-" "curl/8" ` +
		`"abc" "details:9080" "127.0.0.10:9080" outbound|9080||details.default.svc.cluster.local - 127.0.0.9:9080 ` +
		"127.0.0.7:40000 - default\n"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestJSONFormatTypes(t *testing.T) {
	obj := map[string]any{
		"code": "%RESPONSE_CODE%", "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%", "missing": "%REQ(X-NONE)%",
		"mixed": "took %DURATION%ms via %UPSTREAM_TRANSPORT_FAILURE_REASON%", "const": 7.5,
		"nested": map[string]any{"flags": "%RESPONSE_FLAGS%", "ua": "%REQ(USER-AGENT):4%"},
	}
	f, err := CompileJSON(obj, false, Env{})
	if err != nil {
		t.Fatal(err)
	}
	line := f.Append(nil, sampleEntry())
	if !strings.HasSuffix(string(line), "}\n") {
		t.Fatalf("line %q does not end with }\\n", line)
	}
	var got map[string]any
	if err := json.Unmarshal(line, &got); err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	want := map[string]any{"code": 200.0, "path": "/details/0?x=1", "missing": nil, "mixed": "took 12ms via -",
		"const": 7.5, "nested": map[string]any{"flags": "-", "ua": "curl"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("JSON line (-want +got):\n%s", d)
	}
	// Keys are sorted, so lines are stable.
	if !strings.HasPrefix(string(line), `{"code":200,"const":7.5,"missing":null,`) {
		t.Errorf("key order: %s", line)
	}
}

func TestOmitEmptyValues(t *testing.T) {
	f, err := CompileJSON(map[string]any{"a": "%REQ(X-NONE)%", "b": "%RESPONSE_CODE%"}, true, Env{})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(f.Append(nil, sampleEntry())); got != "{\"b\":200}\n" {
		t.Errorf("JSON with omit_empty_values: %q", got)
	}
	tf, err := CompileText("[%REQ(X-NONE)%]", true, Env{})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(tf.Append(nil, sampleEntry())); got != "[]" {
		t.Errorf("text with omit_empty_values: %q", got)
	}
}

func TestOperators(t *testing.T) {
	e := sampleEntry()
	for _, tc := range []struct{ format, want string }{
		{"%%%RESPONSE_CODE%%%", "%200%"},
		{"%START_TIME(%Y/%m/%d %H:%M:%S.%3f %s)%", "2024/05/06 07:08:09.123 1714979289"},
		{"%START_TIME(%E6S)%", "09.123456"},
		{"%REQ_WITHOUT_QUERY(:PATH)%", "/details/0"},
		{"%REQ(:METHOD):1%", "G"},
		{"%RESP(:STATUS)% %RESP(X-NONE?X-ENVOY-UPSTREAM-SERVICE-TIME)%", "200 11"},
		{"%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_LOCAL_PORT%", "127.0.0.7 9080"},
		{"%UPSTREAM_REMOTE_PORT% %RESPONSE_FLAGS_LONG% %HOSTNAME%", "9080 - host-1"},
		{"%GRPC_STATUS%", "-"},
	} {
		f, err := CompileText(tc.format, false, Env{Hostname: "host-1"})
		if err != nil {
			t.Errorf("%s: %v", tc.format, err)
			continue
		}
		if got := string(f.Append(nil, e)); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.format, got, tc.want)
		}
	}
}

func TestFormatErrors(t *testing.T) {
	for _, format := range []string{"%NOT_AN_OPERATOR%", "%REQ%", "%REQ()%", "%RESPONSE_CODE", "% x", "%REQ(A:0%",
		"%DURATION(x)%", "%FILTER_STATE(upstream_peer)%", "%REQ(X):abc%"} {
		if _, err := CompileText(format, false, Env{}); err == nil {
			t.Errorf("%q: no error", format)
		}
	}
}

func TestTCPEntry(t *testing.T) {
	e := &Entry{}
	e.TCP = true
	e.Request.Time = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	e.Connection.BytesReceived, e.Connection.BytesSent = 5, 7
	e.Response.FlagString = "-"
	e.Upstream.Address = "127.0.0.3:9000"
	f, err := CompileText(istioText, false, Env{})
	if err != nil {
		t.Fatal(err)
	}
	want := `[2024-05-06T07:08:09.000Z] "- - -" 0 - - - "-" 5 7 0 - "-" "-" "-" "-" "127.0.0.3:9000" - - - - - -` + "\n"
	if got := string(f.Append(nil, e)); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
