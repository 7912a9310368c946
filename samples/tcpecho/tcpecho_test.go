package tcpecho

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/lateenmesh/lateen/samples/internal/apptest"
)

func start(t *testing.T, prefix string) string {
	t.Helper()
	return apptest.Start(t, func(ctx context.Context, on func(net.Addr)) error {
		return Run(ctx, Options{Addr: "127.0.0.1:0", Prefix: prefix, OnListen: on})
	})
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

func TestEcho(t *testing.T) {
	tests := []struct {
		prefix string
		send   string
		want   []string
	}{
		{"one", "hello world\n", []string{"one hello world"}},
		{"two", "a\nb\r\nc\n", []string{"two a", "two b", "two c"}},
		{"two", "\n", []string{"two "}},
		{"", "plain\n", []string{"plain"}},
		{"one", "no newline", []string{"one no newline"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%q", tt.prefix, tt.send), func(t *testing.T) {
			c := dial(t, start(t, tt.prefix))
			if _, err := io.WriteString(c, tt.send); err != nil {
				t.Fatal(err)
			}
			c.(*net.TCPConn).CloseWrite()
			r := bufio.NewReader(c)
			for _, want := range tt.want {
				line, err := r.ReadString('\n')
				if err != nil {
					t.Fatalf("reading reply: %v", err)
				}
				if line != want+"\n" {
					t.Errorf("got %q, want %q", line, want+"\n")
				}
			}
			if rest, err := r.ReadString('\n'); err != io.EOF || rest != "" {
				t.Errorf("after replies got %q, %v; want EOF", rest, err)
			}
		})
	}
}

func TestConcurrentConnections(t *testing.T) {
	addr := start(t, "one")
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			r := bufio.NewReader(c)
			for j := range 5 {
				msg := fmt.Sprintf("conn %d msg %d", i, j)
				fmt.Fprintln(c, msg)
				line, err := r.ReadString('\n')
				if err != nil || line != "one "+msg+"\n" {
					errs <- fmt.Errorf("conn %d: got %q, %v", i, line, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestCancelClosesConnections(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- Run(ctx, Options{Addr: "127.0.0.1:0", Prefix: "one", OnListen: func(a net.Addr) { addrc <- a }})
	}()
	addr := (<-addrc).String()
	c := dial(t, addr)
	fmt.Fprintln(c, "ping")
	r := bufio.NewReader(c)
	if line, err := r.ReadString('\n'); err != nil || line != "one ping\n" {
		t.Fatalf("got %q, %v", line, err)
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(apptest.WaitTimeout):
		t.Fatal("Run did not return after cancel")
	}
	if _, err := r.ReadString('\n'); err == nil {
		t.Error("connection still open after shutdown")
	}
	if c2, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c2.Close()
		t.Error("listener still accepting after shutdown")
	}
}

func TestListenError(t *testing.T) {
	err := Run(context.Background(), Options{Addr: "127.0.0.1:notaport"})
	if err == nil || errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want listen error", err)
	}
}
