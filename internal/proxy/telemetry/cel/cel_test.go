package cel

import (
	nethttp "net/http"
	"testing"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/telemetry/attrs"
	"github.com/lateenmesh/lateen/internal/proxy/telemetry/peer"
)

func testBag() *attrs.Bag {
	return &attrs.Bag{
		Request: attrs.Request{ID: "abc", Method: "GET", Scheme: "http", Host: "reviews:9080",
			Path: "/reviews/1?x=y", Protocol: "HTTP/1.1", Time: time.Unix(1700000000, 0),
			Headers: nethttp.Header{"User-Agent": {"curl"}, "X-Foo": {"a", "b"}}, Duration: 1500 * time.Millisecond, Size: 10},
		Response: attrs.Response{Code: 503, Flags: 1 << 7, FlagString: "UO",
			Headers: nethttp.Header{"Content-Type": {"text/plain"}, "Trailer:Grpc-Status": {"14"}}, Size: 81},
		Source:      attrs.NewAddress("10.0.0.1:51000"),
		Destination: attrs.NewAddress("10.0.0.2:9080"),
		Connection:  attrs.Connection{MTLS: true, URISanPeer: []string{"spiffe://cluster.local/ns/default/sa/productpage"}},
		Upstream:    attrs.Upstream{Address: "10.0.0.3:9080", Cluster: "outbound|9080||reviews.default.svc.cluster.local"},
		XDS:         attrs.XDS{Direction: "OUTBOUND", RouteName: "default"},
		UpstreamPeer: peer.New(peer.Workload{Workload: "reviews-v2", Namespace: "default",
			Labels: map[string]string{"app": "reviews", "version": "v2"}}),
	}
}

func TestText(t *testing.T) {
	for _, tc := range []struct {
		expr, want string
		ok         bool
	}{
		{`request.host`, "reviews:9080", true},
		{`string(destination.port)`, "9080", true},
		{`request.url_path`, "/reviews/1", true},
		{`request.query`, "x=y", true},
		{`request.headers['x-foo']`, "a,b", true},
		{`request.headers['X-FOO']`, "a,b", true},
		{`request.useragent`, "curl", true},
		{`response.code`, "503", true},
		{`response.grpc_status`, "14", true},
		{`response.trailers['grpc-status']`, "14", true},
		{`response.flags`, "128", true},
		{`connection.mtls`, "true", true},
		{`connection.uri_san_peer_certificate`, "spiffe://cluster.local/ns/default/sa/productpage", true},
		{`upstream_peer.labels['version']`, "v2", true},
		{`upstream_peer.app`, "reviews", true},
		{`upstream_peer.service`, "reviews", true},
		{`xds.listener_direction`, "2", true},
		{`has(request.headers.missing) ? request.headers.missing : "unknown"`, "unknown", true},
		{`request.headers['missing']`, "", false},
		{`downstream_peer.app`, "", false},
		{`request.duration`, "1.5s", true},
		{`request.size + response.size`, "91", true},
	} {
		e, err := Compile(tc.expr)
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		got, ok := e.Text(testBag())
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s = %q, %v; want %q, %v", tc.expr, got, ok, tc.want, tc.ok)
		}
	}
}

func TestBool(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want bool
	}{
		{`response.code >= 400`, true},
		{`response.code >= 400 && request.method == "POST"`, false},
		{`request.headers['missing'] == "x"`, false}, // an error is false
		{`"x"`, false},
	} {
		e, err := Compile(tc.expr)
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		if got := e.Bool(testBag()); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.expr, got, tc.want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	for _, src := range []string{`requst.host`, `request.host ==`, `1 +`} {
		if _, err := Compile(src); err == nil {
			t.Errorf("%s: no error", src)
		}
	}
}

func BenchmarkTextHeader(b *testing.B) {
	e, err := Compile(`request.headers['x-foo']`)
	if err != nil {
		b.Fatal(err)
	}
	bag := testBag()
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := e.Text(bag); !ok {
			b.Fatal("no value")
		}
	}
}
