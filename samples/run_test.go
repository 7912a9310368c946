package samples

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lateenmesh/lateen/samples/internal/apptest"
)

func TestApps(t *testing.T) {
	want := []string{"productpage", "details", "reviews", "ratings", "httpbin", "sleep", "tcp-echo"}
	if got := Apps(); !slices.Equal(got, want) {
		t.Errorf("Apps() = %v, want %v", got, want)
	}
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		app     string
		args    []string
		wantErr string
	}{
		{"nginx", nil, "productpage, details, reviews, ratings, httpbin, sleep, tcp-echo"},
		{"reviews", []string{"--version", "v7"}, "unknown version"},
		{"details", []string{"--bogus"}, "flag provided but not defined"},
		{"httpbin", []string{"--addr", "127.0.0.1:0", "extra"}, "unexpected arguments"},
		{"productpage", []string{"--addr", "256.1.1.1:1"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.app, func(t *testing.T) {
			var out strings.Builder
			err := Run(context.Background(), tt.app, tt.args, &out)
			if err == nil {
				t.Fatal("Run succeeded, want error")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q lacks %q", err, tt.wantErr)
			}
		})
	}
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// runApp starts an app through Run and stops it at cleanup.
func runApp(t *testing.T, app string, args []string) *apptest.LogBuffer {
	t.Helper()
	out := new(apptest.LogBuffer)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Run(ctx, app, args, out) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("Run(%s) = %v", app, err)
			}
		case <-time.After(apptest.WaitTimeout):
			t.Errorf("Run(%s) did not stop", app)
		}
	})
	return out
}

// dialRetry connects to addr, retrying until the server is up.
func dialRetry(t *testing.T, addr string) net.Conn {
	t.Helper()
	var c net.Conn
	apptest.Eventually(t, "dial "+addr, func() bool {
		var err error
		c, err = net.DialTimeout("tcp", addr, time.Second)
		return err == nil
	})
	return c
}

func TestRunTCPEcho(t *testing.T) {
	addr := freeAddr(t)
	runApp(t, "tcp-echo", []string{"--addr", addr, "--prefix", "two"})
	c := dialRetry(t, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintln(c, "hi")
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "two hi\n" {
		t.Errorf("got %q, %v", line, err)
	}
}

func TestRunHTTPApps(t *testing.T) {
	tests := []struct {
		app  string
		args []string
		path string
		want string
	}{
		{"httpbin", []string{"--version", "v1"}, "/ip", `"origin": "127.0.0.1"`},
		{"details", []string{"--pod-name", "details-v1-x"}, "/details/0", `"ISBN-13":"123-1234567890"`},
		{"ratings", nil, "/ratings/1", `{"id":1,"ratings":{"Reviewer1":5,"Reviewer2":4}}`},
		{"reviews", []string{"--version", "v1", "--pod-name", "reviews-v1-abcde"}, "/reviews/0", `"podname":"reviews-v1-abcde"`},
		{"productpage", []string{"--details-url", "http://127.0.0.1:1", "--reviews-url", "http://127.0.0.1:1"}, "/productpage", "Sorry, product reviews are currently unavailable for this book."},
	}
	for _, tt := range tests {
		t.Run(tt.app, func(t *testing.T) {
			addr := freeAddr(t)
			out := runApp(t, tt.app, append([]string{"--addr", addr}, tt.args...))
			dialRetry(t, addr).Close()
			resp, err := http.Get("http://" + addr + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(body), tt.want) {
				t.Errorf("body %s lacks %s", body, tt.want)
			}
			if !strings.Contains(out.String(), "GET "+tt.path+" Host: "+addr) {
				t.Errorf("stdout %q lacks the access log", out.String())
			}
		})
	}
}

func TestRunSleep(t *testing.T) {
	out := runApp(t, "sleep", []string{"--addr", ":1234"})
	apptest.Eventually(t, "sleep start message", func() bool {
		return strings.Contains(out.String(), "sleeping")
	})
}
