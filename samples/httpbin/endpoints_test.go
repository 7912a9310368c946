package httpbin

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lateenmesh/lateen/samples/internal/apptest"
)

func TestStatus(t *testing.T) {
	srv, _ := newServer(t)
	tests := []struct {
		method, path string
		want         []int
	}{
		{"GET", "/status/200", []int{200}},
		{"GET", "/status/418", []int{418}},
		{"POST", "/status/503", []int{503}},
		{"GET", "/status/200,500", []int{200, 500}},
		{"GET", "/status/201:1,404:0", []int{201}},
		{"GET", "/status/abc", []int{400}},
		{"GET", "/status/99", []int{400}},
		{"GET", "/status/200,x", []int{400}},
		{"GET", "/status/200:-1", []int{400}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			seen := map[int]bool{}
			for range 40 {
				resp, _ := do(t, srv, tt.method, tt.path, nil, nil)
				seen[resp.StatusCode] = true
			}
			for _, c := range tt.want {
				if !seen[c] {
					t.Errorf("never saw %d (saw %v)", c, seen)
				}
			}
			if len(seen) != len(tt.want) {
				t.Errorf("saw %v, want only %v", seen, tt.want)
			}
		})
	}
}

func TestStatusRedirectLocation(t *testing.T) {
	rec := httptest.NewRecorder()
	Handler(Options{}).ServeHTTP(rec, httptest.NewRequest("GET", "/status/302", nil))
	if rec.Code != 302 || rec.Header().Get("Location") != "/redirect/1" {
		t.Errorf("got %d Location %q", rec.Code, rec.Header().Get("Location"))
	}
}

func TestDelay(t *testing.T) {
	srv, _ := newServer(t)
	start := time.Now()
	resp, doc := do(t, srv, "GET", "/delay/0.2?a=b", nil, nil)
	if resp.StatusCode != 200 || doc["args"].(map[string]any)["a"] != "b" {
		t.Errorf("got %d %v", resp.StatusCode, doc)
	}
	if el := time.Since(start); el < 200*time.Millisecond {
		t.Errorf("answered after %v, want ≥ 200ms", el)
	}
	if resp, _ := do(t, srv, "GET", "/delay/-1", nil, nil); resp.StatusCode != 400 {
		t.Errorf("negative delay status %d", resp.StatusCode)
	}
}

func TestDelayHonoursCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequest("GET", "/delay/10", nil).WithContext(ctx)
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		Handler(Options{}).ServeHTTP(rec, req)
		close(done)
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("delay ignored cancellation")
	}
	if rec.Body.Len() != 0 {
		t.Errorf("cancelled delay wrote %q", rec.Body)
	}
}

func TestResponseHeaders(t *testing.T) {
	srv, _ := newServer(t)
	resp, err := srv.Client().Get(srv.URL + "/response-headers?X-Custom=1&freeform=a&freeform=b")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("X-Custom") != "1" || len(resp.Header.Values("Freeform")) != 2 {
		t.Errorf("response headers %v", resp.Header)
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["X-Custom"] != "1" || doc["Content-Type"] != "application/json" {
		t.Errorf("doc %v", doc)
	}
	if doc["Content-Length"] != resp.Header.Get("Content-Length") || resp.ContentLength != int64(len(body)) {
		t.Errorf("Content-Length doc %v header %q body %d", doc["Content-Length"], resp.Header.Get("Content-Length"), len(body))
	}
}

func TestStream(t *testing.T) {
	srv, _ := newServer(t)
	resp, err := srv.Client().Get(srv.URL + "/stream/3")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var n int
	for sc.Scan() {
		var doc map[string]any
		if err := json.Unmarshal(sc.Bytes(), &doc); err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		if doc["id"] != float64(n) || doc["url"] == nil {
			t.Errorf("line %d = %v", n, doc)
		}
		n++
	}
	if n != 3 {
		t.Errorf("got %d lines, want 3", n)
	}
}

func TestBytes(t *testing.T) {
	srv, _ := newServer(t)
	tests := []struct {
		path       string
		wantStatus int
		wantLen    int
	}{
		{"/bytes/0", 200, 0},
		{"/bytes/64", 200, 64},
		{"/bytes/999999", 200, maxBytes},
		{"/bytes/x", 400, -1},
	}
	for _, tt := range tests {
		resp, err := srv.Client().Get(srv.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.wantStatus || (tt.wantLen >= 0 && len(b) != tt.wantLen) {
			t.Errorf("%s: %d with %d bytes", tt.path, resp.StatusCode, len(b))
		}
	}
	a, b := fetch(t, srv.URL+"/bytes/32?seed=7"), fetch(t, srv.URL+"/bytes/32?seed=7")
	if a != b {
		t.Error("same seed gave different bytes")
	}
}

func fetch(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestPagesAndRedirect(t *testing.T) {
	srv, _ := newServer(t)
	if body := fetch(t, srv.URL+"/"); !strings.Contains(body, "/status/") {
		t.Error("index lacks endpoint list")
	}
	if body := fetch(t, srv.URL+"/html"); !strings.Contains(body, "<h1>") {
		t.Error("html page lacks heading")
	}
	resp, err := http.Get(srv.URL + "/redirect/3")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/get" {
		t.Errorf("redirects ended at %s", resp.Request.URL.Path)
	}
}

func TestAccessLogHost(t *testing.T) {
	srv, logs := newServer(t)
	req, _ := http.NewRequest("GET", srv.URL+"/headers", nil)
	req.Host = "httpbin-shadow:8000"
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !strings.Contains(logs.String(), "Host: httpbin-shadow:8000") || !strings.Contains(logs.String(), "status=200") {
		t.Errorf("log %q lacks the request", logs.String())
	}
}

func TestRun(t *testing.T) {
	addr := apptest.Start(t, func(ctx context.Context, on func(net.Addr)) error {
		return Run(ctx, Options{Addr: "127.0.0.1:0", Version: "v2", OnListen: on})
	})
	if body := fetch(t, "http://"+addr+"/headers"); !strings.Contains(body, `"Host": "`+addr+`"`) {
		t.Errorf("body %s", body)
	}
}
