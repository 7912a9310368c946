package dataplane

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/lateenmesh/lateen/bench/launch"
	"github.com/lateenmesh/lateen/bench/load"
	"github.com/lateenmesh/lateen/bench/peers"
	"github.com/lateenmesh/lateen/bench/upstream"
)

// Topology is one way for requests to go from the load client to the
// upstream. Every topology but "direct" is a pair of proxies, as a
// client-side and a server-side sidecar are.
type Topology struct {
	Name        string
	Description string
	// Pending, when set, lists the topology in the results as not run,
	// with this reason; remove it when the topology can run.
	Pending string
	// Needs names programs that must be installed (bench/install-peers.sh).
	Needs []string
	start func(ctx context.Context, env *env, name, block string) (*running, error)
}

// Topologies is the list every run compares, in the order of the result
// page. Adding a topology is one entry here.
func Topologies() []Topology {
	return []Topology{
		{Name: "direct", Description: "client → upstream, no proxy (the baseline)", start: startDirect},
		lateenPair("lateen", "client → lateen-proxy → lateen-proxy → upstream, plaintext between the proxies", lateenOptions{}),
		lateenPair("lateen-notelemetry", "as lateen, with every standard metric turned off (Telemetry API) and no access log",
			lateenOptions{noMetrics: true}),
		lateenPair("lateen-accesslog", "as lateen (standard metrics on, Istio's default), with Istio's TEXT access log on both proxies",
			lateenOptions{accessLog: true}),
		lateenPair("lateen-mtls", "as lateen, with Istio mutual TLS (PeerAuthentication STRICT) between the proxies",
			lateenOptions{mtls: true}),
		{Name: "nginx", Description: "client → nginx → nginx → upstream, mutual TLS between the proxies",
			Needs: []string{"nginx"}, start: peerPair(peers.StartNginx)},
		{Name: "haproxy", Description: "client → HAProxy → HAProxy → upstream, mutual TLS between the proxies",
			Needs: []string{"haproxy"}, start: peerPair(peers.StartHAProxy)},
		{Name: "go-reverseproxy", Description: "client → httputil.ReverseProxy → httputil.ReverseProxy → upstream, mutual TLS between",
			start: startGoPair},
	}
}

// env is what every topology shares.
type env struct {
	bin       launch.Binaries
	dir       string
	certs     peers.Certs
	proxyArgs []string // Options.ProxyArgs
}

// running is a started topology.
type running struct {
	http    load.HTTPTarget
	grpc    load.GRPCTarget
	proxies []proxyProc
	group   launch.Group
}

// proxyProc is one proxy process (with its children) to measure.
type proxyProc struct {
	Role string
	PID  int
}

func (r *running) stop() { r.group.Stop() }

// serviceHost is the name clients use for the upstream.
const serviceHost = "server.bench.svc.cluster.local"

func hostPort(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }

// startUpstream runs the upstream on the topology's server address.
func startUpstream(env *env, r *running, ip, dir string) error {
	p, err := peers.StartUpstream(env.bin.Self, ip, dir)
	if err != nil {
		return err
	}
	r.group.Add(p)
	return nil
}

func startDirect(ctx context.Context, env *env, name, block string) (*running, error) {
	ip := block + "3"
	dir, err := topologyDir(env, name)
	if err != nil {
		return nil, err
	}
	r := &running{
		http: load.HTTPTarget{Addr: hostPort(ip, peers.AppHTTPPort), URL: "/", Host: hostPort(serviceHost, 8080), BodySize: upstream.PayloadSize},
		grpc: load.GRPCTarget{Addr: hostPort(ip, peers.AppGRPCPort), Authority: hostPort(serviceHost, 9090), BodySize: upstream.PayloadSize},
	}
	if err := startUpstream(env, r, ip, dir); err != nil {
		return nil, err
	}
	return r, r.ready(ctx)
}

// peerPair starts a pair of one peer program (nginx, HAProxy) on the
// block's .2 (client side) and .3 (server side) addresses.
func peerPair(start func(peers.Pair, peers.Side) (*launch.Process, error)) func(context.Context, *env, string, string) (*running, error) {
	return func(ctx context.Context, env *env, name, block string) (*running, error) {
		return startPair(ctx, env, name, block, func(p peers.Pair, side peers.Side) (*launch.Process, error) { return start(p, side) })
	}
}

func startGoPair(ctx context.Context, env *env, name, block string) (*running, error) {
	return startPair(ctx, env, name, block, func(p peers.Pair, side peers.Side) (*launch.Process, error) {
		return peers.StartGoProxy(env.bin.Self, p, side)
	})
}

func startPair(ctx context.Context, env *env, name, block string, start func(peers.Pair, peers.Side) (*launch.Process, error)) (*running, error) {
	pair := peers.Pair{ClientIP: block + "2", ServerIP: block + "3", Certs: env.certs}
	var err error
	if pair.Dir, err = topologyDir(env, name); err != nil {
		return nil, err
	}
	r := &running{
		http: load.HTTPTarget{Addr: hostPort(pair.ClientIP, peers.HTTPPort), URL: "/", Host: hostPort(serviceHost, 8080), BodySize: upstream.PayloadSize},
		grpc: load.GRPCTarget{Addr: hostPort(pair.ClientIP, peers.GRPCPort), Authority: hostPort(serviceHost, 9090), BodySize: upstream.PayloadSize},
	}
	if err := startUpstream(env, r, pair.ServerIP, pair.Dir); err != nil {
		return nil, err
	}
	for _, side := range peers.Sides {
		p, err := start(pair, side)
		if err != nil {
			r.stop()
			return nil, err
		}
		r.group.Add(p)
		r.proxies = append(r.proxies, proxyProc{Role: string(side), PID: p.PID()})
	}
	return r, r.ready(ctx)
}

// ready waits until one HTTP request and one gRPC call go through.
func (r *running) ready(ctx context.Context) error {
	err := r.group.WaitFor(ctx, 60*time.Second, "the topology to answer", func() error {
		if err := r.http.Once(ctx); err != nil {
			return fmt.Errorf("http: %w", err)
		}
		c, err := load.NewGRPCClient(r.grpc)
		if err != nil {
			return err
		}
		defer c.Close()
		if err := c.Once(ctx); err != nil {
			return fmt.Errorf("grpc: %w", err)
		}
		return nil
	})
	if err != nil {
		r.stop()
	}
	return err
}

func topologyDir(env *env, name string) (string, error) {
	dir := filepath.Join(env.dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("dataplane: %w", err)
	}
	return dir, nil
}
