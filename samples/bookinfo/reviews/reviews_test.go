package reviews

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lateenmesh/lateen/samples/internal/apptest"
)

// fakeRatings serves /ratings/{id} like the ratings service and records
// the headers of the last request.
func fakeRatings(t *testing.T, status int) (*httptest.Server, chan http.Header) {
	seen := make(chan http.Header, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		if status != 200 {
			w.WriteHeader(status)
			return
		}
		w.Write([]byte(`{"id":0,"ratings":{"Reviewer1":5,"Reviewer2":4}}`))
	}))
	t.Cleanup(srv.Close)
	return srv, seen
}

func get(t *testing.T, h http.Handler, path string, hdr http.Header) (int, string) {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, strings.TrimSpace(rec.Body.String())
}

func TestVersions(t *testing.T) {
	ok, _ := fakeRatings(t, 200)
	broken, _ := fakeRatings(t, 500)
	const r1, r2 = `{"reviewer":"Reviewer1","text":"A wildly entertaining Shakespeare play. Its slapstick humour still feels fresh!"`,
		`{"reviewer":"Reviewer2","text":"Great fun from start to finish, though thinner in theme than Shakespeare's other plays."`
	const head = `{"id":"0","podname":"reviews-test","clustername":"null","reviews":[`
	const failed = `,"rating":{"error":"Ratings service is currently unavailable"}}`
	tests := []struct {
		name    string
		version string
		ratings string
		want    string
	}{
		{"v1", "v1", ok.URL, head + r1 + "}," + r2 + "}]}"},
		{"v1 ignores broken ratings", "v1", broken.URL, head + r1 + "}," + r2 + "}]}"},
		{"v2", "v2", ok.URL, head + r1 + `,"rating":{"stars":5,"color":"black"}},` + r2 + `,"rating":{"stars":4,"color":"black"}}]}`},
		{"v3", "v3", ok.URL, head + r1 + `,"rating":{"stars":5,"color":"red"}},` + r2 + `,"rating":{"stars":4,"color":"red"}}]}`},
		{"v2 ratings 500", "v2", broken.URL, head + r1 + failed + "," + r2 + failed + "]}"},
		{"v3 ratings 500", "v3", broken.URL, head + r1 + failed + "," + r2 + failed + "]}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := Handler(Options{Version: tt.version, PodName: "reviews-test", RatingsURL: tt.ratings})
			code, body := get(t, h, "/reviews/0", nil)
			if code != 200 {
				t.Fatalf("status = %d", code)
			}
			if body != tt.want {
				t.Errorf("body\n got %s\nwant %s", body, tt.want)
			}
		})
	}
}

func TestRatingsUnreachableAndSlow(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer hung.Close()
	for name, url := range map[string]string{"unreachable": closed.URL, "timeout": hung.URL} {
		t.Run(name, func(t *testing.T) {
			h := Handler(Options{Version: "v3", RatingsURL: url, RatingsTimeout: 50 * time.Millisecond})
			_, body := get(t, h, "/reviews/0", nil)
			var doc Response
			if err := json.Unmarshal([]byte(body), &doc); err != nil {
				t.Fatal(err)
			}
			for _, r := range doc.Reviews {
				if r.Rating == nil || r.Rating.Error != unavailable || r.Rating.Stars != nil {
					t.Errorf("review %s rating = %+v, want error", r.Reviewer, r.Rating)
				}
			}
		})
	}
}

func TestPropagatesHeadersToRatings(t *testing.T) {
	srv, seen := fakeRatings(t, 200)
	h := Handler(Options{Version: "v2", RatingsURL: srv.URL})
	in := http.Header{
		"X-Request-Id": {"req-1"},
		"Traceparent":  {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
		"End-User":     {"jason"},
		"Cookie":       {"session=jason"},
	}
	get(t, h, "/reviews/0", in)
	got := <-seen
	for _, k := range []string{"X-Request-Id", "Traceparent", "End-User"} {
		if got.Get(k) != in.Get(k) {
			t.Errorf("%s = %q, want %q", k, got.Get(k), in.Get(k))
		}
	}
	if got.Get("Cookie") != "" {
		t.Error("cookie was propagated")
	}
}

func TestOtherEndpoints(t *testing.T) {
	h := Handler(Options{Version: "v1"})
	tests := []struct {
		path       string
		wantStatus int
		wantBody   string
	}{
		{"/health", 200, `{"status":"Reviews is healthy"}`},
		{"/reviews/abc", 400, `{"error":"please provide numeric product ID"}`},
	}
	for _, tt := range tests {
		code, body := get(t, h, tt.path, nil)
		if code != tt.wantStatus || body != tt.wantBody {
			t.Errorf("%s: got %d %s, want %d %s", tt.path, code, body, tt.wantStatus, tt.wantBody)
		}
	}
}

func TestDefaultPodName(t *testing.T) {
	for _, v := range []string{"v1", "v2", "v3"} {
		s := newServer(Options{Version: v})
		if !regexp.MustCompile(`^reviews-` + v + `-[a-z0-9]{5}$`).MatchString(s.podName) {
			t.Errorf("pod name %q", s.podName)
		}
	}
	if s := newServer(Options{}); !strings.HasPrefix(s.podName, "reviews-v1-") {
		t.Errorf("empty version pod name %q", s.podName)
	}
}

func TestValidate(t *testing.T) {
	for v, ok := range map[string]bool{"": true, "v1": true, "v2": true, "v3": true, "v4": false, "V1": false} {
		if err := (Options{Version: v}).Validate(); (err == nil) != ok {
			t.Errorf("Validate(%q) = %v", v, err)
		}
	}
	if err := Run(context.Background(), Options{Version: "v9"}); err == nil {
		t.Error("Run accepted version v9")
	}
}

func TestRun(t *testing.T) {
	srv, _ := fakeRatings(t, 200)
	addr := apptest.Start(t, func(ctx context.Context, on func(net.Addr)) error {
		return Run(ctx, Options{Addr: "127.0.0.1:0", Version: "v2", RatingsURL: srv.URL, OnListen: on})
	})
	resp, err := http.Get("http://" + addr + "/reviews/0")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"stars":5,"color":"black"`) || !strings.Contains(string(body), `"podname":"reviews-v2-`) {
		t.Errorf("body %s", body)
	}
}
