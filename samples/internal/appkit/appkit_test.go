package appkit

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lateenmesh/lateen/samples/internal/apptest"
)

func TestForwardHeaders(t *testing.T) {
	in := http.Header{}
	for _, h := range PropagatedHeaders {
		in.Set(h, "v-"+h)
	}
	in.Set("Cookie", "session=jason")
	in.Set("Authorization", "Bearer x")
	in.Add("X-B3-Sampled", "again")

	out := ForwardHeaders(in)
	for _, h := range PropagatedHeaders {
		if got := out.Get(h); got != "v-"+h {
			t.Errorf("header %s = %q, want %q", h, got, "v-"+h)
		}
	}
	for _, h := range []string{"Cookie", "Authorization"} {
		if out.Get(h) != "" {
			t.Errorf("header %s was forwarded", h)
		}
	}
	if got := out.Values("X-B3-Sampled"); len(got) != 2 {
		t.Errorf("repeated header values = %q, want both", got)
	}
}

func TestFetch(t *testing.T) {
	tests := []struct {
		name         string
		handler      http.HandlerFunc
		attempts     int
		wantErr      bool
		wantStatus   int
		wantAttempts int32
	}{
		{"ok", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{}`)) }, 2, false, 0, 1},
		{"status not retried", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }, 2, true, 503, 1},
		{"hang retried", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, 2, true, 0, 2},
		{"hang single attempt", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, 1, true, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				tt.handler(w, r)
			}))
			defer srv.Close()
			hdr := http.Header{"X-Request-Id": {"abc"}}
			body, err := Fetch(context.Background(), NewClient(), srv.URL, hdr, 50*time.Millisecond, tt.attempts)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			var se *StatusError
			if tt.wantStatus != 0 && (!errors.As(err, &se) || se.Status != tt.wantStatus) {
				t.Errorf("err = %v, want status %d", err, tt.wantStatus)
			}
			if !tt.wantErr && string(body) != `{}` {
				t.Errorf("body = %q", body)
			}
			if got := calls.Load(); got != tt.wantAttempts {
				t.Errorf("attempts = %d, want %d", got, tt.wantAttempts)
			}
		})
	}
}

func TestFetchSendsHeaders(t *testing.T) {
	got := make(chan http.Header, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
	}))
	defer srv.Close()
	hdr := http.Header{"X-Request-Id": {"abc"}, "End-User": {"jason"}}
	if _, err := Fetch(context.Background(), NewClient(), srv.URL, hdr, time.Second, 1); err != nil {
		t.Fatal(err)
	}
	h := <-got
	if h.Get("X-Request-Id") != "abc" || h.Get("End-User") != "jason" {
		t.Errorf("upstream saw headers %v", h)
	}
}

func TestNewClientUsesEnvironmentProxy(t *testing.T) {
	tr, ok := NewClient().Transport.(*http.Transport)
	if !ok || tr.Proxy == nil {
		t.Fatalf("transport %T has no proxy function", NewClient().Transport)
	}
}

func TestAccessLog(t *testing.T) {
	log, buf := apptest.Logger()
	h := AccessLog(log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	}))
	req := httptest.NewRequest("GET", "/headers?x=1", nil)
	req.Host = "httpbin-shadow:8000"
	h.ServeHTTP(httptest.NewRecorder(), req)
	line := buf.String()
	for _, want := range []string{"Host: httpbin-shadow:8000", "method=GET", "path=/headers", "status=418", "host=httpbin-shadow:8000"} {
		if !strings.Contains(line, want) {
			t.Errorf("log line %q lacks %q", line, want)
		}
	}
	if n := strings.Count(line, "\n"); n != 1 {
		t.Errorf("got %d log lines, want 1", n)
	}
}

func TestServeHTTPStopsOnCancel(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hi")) })
	addr := apptest.Start(t, func(ctx context.Context, on func(net.Addr)) error {
		return ServeHTTP(ctx, "127.0.0.1:0", h, nil, on)
	})
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status = %d", resp.StatusCode)
	}
}

func TestServeHTTPListenError(t *testing.T) {
	err := ServeHTTP(context.Background(), "256.0.0.1:bad", http.NotFoundHandler(), nil, nil)
	if err == nil {
		t.Fatal("want listen error")
	}
}
