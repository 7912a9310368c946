package ratings

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lateenmesh/lateen/samples/internal/apptest"
)

func serve(h http.Handler, method, path, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
	return rec
}

func TestHandler(t *testing.T) {
	tests := []struct {
		path       string
		wantStatus int
		wantBody   string
	}{
		{"/ratings/0", 200, `{"id":0,"ratings":{"Reviewer1":5,"Reviewer2":4}}`},
		{"/ratings/17", 200, `{"id":17,"ratings":{"Reviewer1":5,"Reviewer2":4}}`},
		{"/ratings/x", 400, `{"error":"please provide numeric product ID"}`},
		{"/health", 200, `{"status":"Ratings is healthy"}`},
	}
	h := Handler(Options{})
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec := serve(h, "GET", tt.path, "")
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			if got := strings.TrimSpace(rec.Body.String()); got != tt.wantBody {
				t.Errorf("body = %s, want %s", got, tt.wantBody)
			}
		})
	}
}

func TestPostRatings(t *testing.T) {
	h := Handler(Options{})
	if rec := serve(h, "POST", "/ratings/3", `{"Reviewer1":1,"Reviewer2":2}`); rec.Code != 200 {
		t.Fatalf("POST status = %d: %s", rec.Code, rec.Body)
	}
	rec := serve(h, "GET", "/ratings/3", "")
	if got, want := strings.TrimSpace(rec.Body.String()), `{"id":3,"ratings":{"Reviewer1":1,"Reviewer2":2}}`; got != want {
		t.Errorf("after POST body = %s, want %s", got, want)
	}
	if rec := serve(h, "POST", "/ratings/3", `not json`); rec.Code != 400 {
		t.Errorf("bad POST status = %d, want 400", rec.Code)
	}
	rec = serve(h, "GET", "/ratings/0", "")
	if !strings.Contains(rec.Body.String(), `"Reviewer1":5`) {
		t.Errorf("other product changed: %s", rec.Body)
	}
}

func TestRun(t *testing.T) {
	addr := apptest.Start(t, func(ctx context.Context, on func(net.Addr)) error {
		return Run(ctx, Options{Addr: "127.0.0.1:0", OnListen: on})
	})
	resp, err := http.Get("http://" + addr + "/ratings/0")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"Reviewer2":4`) {
		t.Errorf("got %d %s", resp.StatusCode, body)
	}
}
