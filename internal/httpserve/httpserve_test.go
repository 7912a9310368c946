package httpserve

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
)

// Two servers answer on their own addresses until the context ends; a
// failed Listen leaves nothing bound.
func TestServeUntilCanceled(t *testing.T) {
	lns, err := Listen([]string{"127.0.0.1:0", "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	answer := func(s string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, s) })
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, lns, []http.Handler{answer("a"), answer("b")}) }()
	for i, want := range []string{"a", "b"} {
		resp, err := http.Get("http://" + lns[i].Addr().String() + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != want {
			t.Errorf("server %d answered %q, want %q", i, body, want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if c, err := net.Dial("tcp", lns[0].Addr().String()); err == nil {
		c.Close()
		t.Error("still listening after the context ended")
	}

	taken := lns[1].Addr().String()
	hold, err := net.Listen("tcp", taken)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	if _, err := Listen([]string{"127.0.0.1:0", taken}); err == nil {
		t.Fatal("Listen on a taken address succeeded")
	}
}
