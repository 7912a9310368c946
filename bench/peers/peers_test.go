package peers

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/lateenmesh/lateen/bench/goproxy"
	"github.com/lateenmesh/lateen/bench/load"
	"github.com/lateenmesh/lateen/bench/upstream"
	"github.com/lateenmesh/lateen/internal/wait"
)

func TestCertsVerify(t *testing.T) {
	c, err := WriteCerts(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	caPEM, _ := os.ReadFile(c.CA)
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("no CA")
	}
	server, err := tls.LoadX509KeyPair(c.ServerCert, c.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(server.Certificate[0])
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: ServerName}); err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(mustRead(t, c.ClientBundle), mustRead(t, c.ClientBundle)); err != nil {
		t.Fatalf("client bundle: %v", err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The rendered configurations pass the programs' own checks (when they are
// installed: bench/install-peers.sh).
func TestPeerConfigsCheck(t *testing.T) {
	c, err := WriteCerts(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p := Pair{ClientIP: "127.0.0.2", ServerIP: "127.0.0.3", Dir: t.TempDir(), Certs: c}
	for _, side := range Sides {
		t.Run("nginx "+string(side), func(t *testing.T) {
			path, err := lookPath("nginx")
			if err != nil {
				t.Skip(err)
			}
			prefix := filepath.Join(p.Dir, "nginx-"+string(side))
			conf, err := render(nginxConf, p.data(side, prefix), prefix, "nginx.conf")
			if err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(path, "-t", "-q", "-p", prefix, "-c", conf, "-e", filepath.Join(prefix, "error.log")).CombinedOutput(); err != nil {
				t.Fatalf("nginx -t: %v\n%s", err, out)
			}
		})
		t.Run("haproxy "+string(side), func(t *testing.T) {
			path, err := lookPath("haproxy")
			if err != nil {
				t.Skip(err)
			}
			dir := filepath.Join(p.Dir, "haproxy-"+string(side))
			conf, err := render(haproxyConf, p.data(side, dir), dir, "haproxy.cfg")
			if err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(path, "-c", "-q", "-f", conf).CombinedOutput(); err != nil {
				t.Fatalf("haproxy -c: %v\n%s", err, out)
			}
		})
	}
}

// The Go pair carries HTTP/1.1 and gRPC over mutual TLS, in process.
func TestGoPair(t *testing.T) {
	c, err := WriteCerts(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	app, err := upstream.New(upstream.Options{HTTPAddress: "127.0.0.1:0", GRPCAddress: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = app.Run(ctx) }()
	wait.For(t, 20*time.Second, "upstream listening", func() error {
		if app.Addr("http") == "" || app.Addr("grpc") == "" {
			return errors.New("not yet")
		}
		return nil
	})

	o := GoProxyOptions(Pair{ClientIP: "127.0.0.1", ServerIP: "127.0.0.1", Certs: c}, ServerSide)
	o.Routes[0].Listen, o.Routes[0].Upstream = "127.0.0.1:"+strconv.Itoa(port[0]), "http://"+app.Addr("http")
	o.Routes[1].Listen, o.Routes[1].Upstream = "127.0.0.1:"+strconv.Itoa(port[1]), "http://"+app.Addr("grpc")
	client := GoProxyOptions(Pair{ClientIP: "127.0.0.1", ServerIP: "127.0.0.1", Certs: c}, ClientSide)
	client.Routes[0].Listen, client.Routes[0].Upstream = "127.0.0.1:"+strconv.Itoa(port[2]), "https://"+o.Routes[0].Listen
	client.Routes[1].Listen, client.Routes[1].Upstream = "127.0.0.1:"+strconv.Itoa(port[3]), "https://"+o.Routes[1].Listen
	for _, opts := range []goproxy.Options{o, client} {
		p, err := goproxy.New(opts)
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = p.Run(ctx) }()
	}
	target := load.HTTPTarget{Addr: client.Routes[0].Listen, URL: "/", Host: "server", BodySize: upstream.PayloadSize}
	wait.For(t, 20*time.Second, "HTTP through the Go pair", func() error { return target.Once(ctx) })
	g, err := load.NewGRPCClient(load.GRPCTarget{Addr: client.Routes[1].Listen, Authority: "server:9090", BodySize: upstream.PayloadSize})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := g.Once(ctx); err != nil {
		t.Fatalf("grpc through the Go pair: %v", err)
	}
}

func freePort(t *testing.T) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	for range 4 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}
