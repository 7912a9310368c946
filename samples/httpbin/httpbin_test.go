package httpbin

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lateenmesh/lateen/samples/internal/apptest"
)

// do sends a request to a real server running Handler and decodes a JSON
// answer into a map (nil for other answers).
func do(t *testing.T, srv *httptest.Server, method, path string, body io.Reader, hdr http.Header) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s %s: bad JSON %q: %v", method, path, raw, err)
		}
	}
	return resp, doc
}

func newServer(t *testing.T) (*httptest.Server, *apptest.LogBuffer) {
	log, buf := apptest.Logger()
	srv := httptest.NewServer(Handler(Options{Logger: log}))
	t.Cleanup(srv.Close)
	return srv, buf
}

func TestGet(t *testing.T) {
	srv, _ := newServer(t)
	hdr := http.Header{"X-Request-Id": {"abc"}, "X-Multi": {"a", "b"}, "User-Agent": {"curl/8.0"}}
	resp, doc := do(t, srv, "GET", "/get?show_env=1&x=1&x=2", nil, hdr)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	headers := doc["headers"].(map[string]any)
	want := map[string]string{"X-Request-Id": "abc", "X-Multi": "a,b", "User-Agent": "curl/8.0", "Host": host}
	for k, v := range want {
		if headers[k] != v {
			t.Errorf("headers[%s] = %v, want %q", k, headers[k], v)
		}
	}
	args := doc["args"].(map[string]any)
	if args["show_env"] != "1" || len(args["x"].([]any)) != 2 {
		t.Errorf("args = %v", args)
	}
	if doc["origin"] != "127.0.0.1" {
		t.Errorf("origin = %v", doc["origin"])
	}
	if doc["url"] != srv.URL+"/get?show_env=1&x=1&x=2" {
		t.Errorf("url = %v", doc["url"])
	}
}

func TestIndentedJSON(t *testing.T) {
	rec := httptest.NewRecorder()
	Handler(Options{}).ServeHTTP(rec, httptest.NewRequest("GET", "/ip", nil))
	if got, want := rec.Body.String(), "{\n  \"origin\": \"192.0.2.1\"\n}\n"; got != want {
		t.Errorf("body %q, want %q", got, want)
	}
}

func TestSimpleEndpoints(t *testing.T) {
	srv, _ := newServer(t)
	tests := []struct {
		method, path string
		hdr          http.Header
		wantStatus   int
		wantKey      string
		wantValue    any
	}{
		{"GET", "/headers", http.Header{"X-B3-Traceid": {"t1"}}, 200, "headers", nil},
		{"GET", "/ip", nil, 200, "origin", "127.0.0.1"},
		{"GET", "/ip", http.Header{"X-Forwarded-For": {"10.1.2.3"}}, 200, "origin", "10.1.2.3"},
		{"GET", "/user-agent", http.Header{"User-Agent": {"lateen-test"}}, 200, "user-agent", "lateen-test"},
		{"POST", "/get", nil, 405, "", nil},
		{"GET", "/post", nil, 405, "", nil},
		{"GET", "/missing", nil, 404, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.path, func(t *testing.T) {
			resp, doc := do(t, srv, tt.method, tt.path, nil, tt.hdr)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantKey == "" {
				return
			}
			if _, ok := doc[tt.wantKey]; !ok {
				t.Errorf("answer lacks %q: %v", tt.wantKey, doc)
			}
			if tt.wantValue != nil && doc[tt.wantKey] != tt.wantValue {
				t.Errorf("%s = %v, want %v", tt.wantKey, doc[tt.wantKey], tt.wantValue)
			}
		})
	}
}

func TestBodyEndpoints(t *testing.T) {
	srv, _ := newServer(t)
	tests := []struct {
		method, path, ctype, body string
		wantMethod                bool
		check                     func(t *testing.T, doc map[string]any)
	}{
		{"POST", "/post", "application/json", `{"a":1}`, false, func(t *testing.T, doc map[string]any) {
			if doc["data"] != `{"a":1}` || doc["json"].(map[string]any)["a"] != 1.0 {
				t.Errorf("data %v json %v", doc["data"], doc["json"])
			}
		}},
		{"PUT", "/put", "application/x-www-form-urlencoded", "k=v&k=w&z=1", false, func(t *testing.T, doc map[string]any) {
			form := doc["form"].(map[string]any)
			if form["z"] != "1" || len(form["k"].([]any)) != 2 || doc["data"] != "" || doc["json"] != nil {
				t.Errorf("form %v data %v json %v", form, doc["data"], doc["json"])
			}
		}},
		{"PATCH", "/patch", "text/plain", "hello", false, func(t *testing.T, doc map[string]any) {
			if doc["data"] != "hello" || doc["json"] != nil {
				t.Errorf("data %v json %v", doc["data"], doc["json"])
			}
		}},
		{"DELETE", "/delete", "", "", false, nil},
		{"PUT", "/anything/deep/path?q=1", "text/plain", "x", true, func(t *testing.T, doc map[string]any) {
			if doc["method"] != "PUT" || doc["args"].(map[string]any)["q"] != "1" || !strings.HasSuffix(doc["url"].(string), "/anything/deep/path?q=1") {
				t.Errorf("doc %v", doc)
			}
		}},
		{"GET", "/anything", "", "", true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.path, func(t *testing.T) {
			hdr := http.Header{}
			if tt.ctype != "" {
				hdr.Set("Content-Type", tt.ctype)
			}
			resp, doc := do(t, srv, tt.method, tt.path, strings.NewReader(tt.body), hdr)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			for _, k := range []string{"args", "data", "files", "form", "headers", "json", "origin", "url"} {
				if _, ok := doc[k]; !ok {
					t.Errorf("answer lacks %q", k)
				}
			}
			if _, ok := doc["method"]; ok != tt.wantMethod {
				t.Errorf("method present = %v, want %v", ok, tt.wantMethod)
			}
			if tt.check != nil {
				tt.check(t, doc)
			}
		})
	}
}

func TestMultipart(t *testing.T) {
	srv, _ := newServer(t)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("name", "lateen")
	fw, _ := mw.CreateFormFile("upload", "a.txt")
	fw.Write([]byte("file body"))
	mw.Close()
	hdr := http.Header{"Content-Type": {mw.FormDataContentType()}}
	_, doc := do(t, srv, "POST", "/anything", &buf, hdr)
	if doc["form"].(map[string]any)["name"] != "lateen" || doc["files"].(map[string]any)["upload"] != "file body" {
		t.Errorf("form %v files %v", doc["form"], doc["files"])
	}
}
