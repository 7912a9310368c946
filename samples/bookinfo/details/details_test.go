package details

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

func TestHandler(t *testing.T) {
	tests := []struct {
		path       string
		wantStatus int
		wantBody   string
	}{
		{"/details/0", 200, `{"id":0,"author":"William Shakespeare","year":1595,"type":"paperback","pages":200,"publisher":"PublisherA","language":"English","ISBN-10":"1234567890","ISBN-13":"123-1234567890"}`},
		{"/details/42", 200, `{"id":42,"author":"William Shakespeare","year":1595,"type":"paperback","pages":200,"publisher":"PublisherA","language":"English","ISBN-10":"1234567890","ISBN-13":"123-1234567890"}`},
		{"/details/abc", 400, `{"error":"please provide numeric product ID"}`},
		{"/health", 200, `{"status":"Details is healthy"}`},
	}
	h := Handler(Options{})
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil))
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			if got := strings.TrimSpace(rec.Body.String()); got != tt.wantBody {
				t.Errorf("body = %s\nwant   %s", got, tt.wantBody)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type = %q", ct)
			}
		})
	}
}

func TestRun(t *testing.T) {
	log, buf := apptest.Logger()
	addr := apptest.Start(t, func(ctx context.Context, on func(net.Addr)) error {
		return Run(ctx, Options{Addr: "127.0.0.1:0", PodName: "details-v1-abc", Logger: log, OnListen: on})
	})
	resp, err := http.Get("http://" + addr + "/details/0")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"author":"William Shakespeare"`) {
		t.Errorf("got %d %s", resp.StatusCode, body)
	}
	if !strings.Contains(buf.String(), "path=/details/0") {
		t.Errorf("no access log line in %q", buf.String())
	}
}
