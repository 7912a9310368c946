package peers

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/lateenmesh/lateen/bench/goproxy"
	"github.com/lateenmesh/lateen/bench/launch"
)

// GoProxyOptions returns one side's bench/goproxy configuration.
func GoProxyOptions(p Pair, side Side) goproxy.Options {
	at := func(ip string, port int) string { return net.JoinHostPort(ip, strconv.Itoa(port)) }
	o := goproxy.Options{
		CA: p.Certs.CA, ServerName: ServerName,
		ServerCert: p.Certs.ServerCert, ServerKey: p.Certs.ServerKey,
		ClientCert: p.Certs.ClientCert, ClientKey: p.Certs.ClientKey,
	}
	if side == ClientSide {
		o.Routes = []goproxy.Route{
			{Listen: at(p.ClientIP, HTTPPort), Upstream: "https://" + at(p.ServerIP, HTTPTLSPort)},
			{Listen: at(p.ClientIP, GRPCPort), Upstream: "https://" + at(p.ServerIP, GRPCTLSPort), HTTP2: true},
		}
		return o
	}
	o.Routes = []goproxy.Route{
		{Listen: at(p.ServerIP, HTTPTLSPort), TLS: true, Upstream: "http://" + at(p.ServerIP, AppHTTPPort)},
		{Listen: at(p.ServerIP, GRPCTLSPort), TLS: true, Upstream: "http://" + at(p.ServerIP, AppGRPCPort), HTTP2: true},
	}
	return o
}

// StartGoProxy starts one side of the Go ReverseProxy pair: the benchmark's
// own binary (self) running "goproxy --config <file>".
func StartGoProxy(self launch.Command, p Pair, side Side) (*launch.Process, error) {
	data, err := json.MarshalIndent(GoProxyOptions(p, side), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("peers: %w", err)
	}
	conf := filepath.Join(p.Dir, "goproxy-"+string(side)+".json")
	if err := os.WriteFile(conf, data, 0o644); err != nil {
		return nil, fmt.Errorf("peers: %w", err)
	}
	return launch.Start(self, "goproxy-"+string(side), p.Dir, "goproxy", "--config", conf)
}

// StartUpstream starts the upstream on the pair's server address: the
// benchmark's own binary running "upstream".
func StartUpstream(self launch.Command, ip, dir string) (*launch.Process, error) {
	return launch.Start(self, "upstream-"+ip, dir, "upstream",
		"--http", net.JoinHostPort(ip, strconv.Itoa(AppHTTPPort)),
		"--grpc", net.JoinHostPort(ip, strconv.Itoa(AppGRPCPort)))
}
