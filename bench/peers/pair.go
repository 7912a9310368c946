package peers

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/lateenmesh/lateen/bench/launch"
)

// Ports every pair uses, on its two loopback addresses.
const (
	HTTPPort    = 8080  // client side: plaintext HTTP/1.1 in
	GRPCPort    = 9090  // client side: plaintext HTTP/2 (h2c) in, for gRPC
	HTTPTLSPort = 8443  // server side: HTTP/1.1 over mutual TLS
	GRPCTLSPort = 9443  // server side: HTTP/2 over mutual TLS (ALPN h2)
	AppHTTPPort = 18080 // upstream HTTP/1.1, on the server side's address
	AppGRPCPort = 19090 // upstream gRPC (h2c), on the server side's address
)

// Pair places a proxy pair: the client-side proxy on ClientIP, the
// server-side proxy and the upstream on ServerIP.
type Pair struct {
	ClientIP string
	ServerIP string
	// Dir holds the pair's configuration files and logs.
	Dir   string
	Certs Certs
}

// Side is one proxy of a pair.
type Side string

const (
	ClientSide Side = "client-side"
	ServerSide Side = "server-side"
)

// Sides lists both sides, client first.
var Sides = []Side{ClientSide, ServerSide}

// templateData is what the configuration templates see.
type templateData struct {
	Pair
	Side                                         Side
	Prefix                                       string
	HTTPPort, GRPCPort, HTTPTLSPort, GRPCTLSPort int
	AppHTTPPort, AppGRPCPort                     int
	ServerName                                   string
}

func (p Pair) data(side Side, prefix string) templateData {
	return templateData{
		Pair: p, Side: side, Prefix: prefix,
		HTTPPort: HTTPPort, GRPCPort: GRPCPort, HTTPTLSPort: HTTPTLSPort, GRPCTLSPort: GRPCTLSPort,
		AppHTTPPort: AppHTTPPort, AppGRPCPort: AppGRPCPort, ServerName: ServerName,
	}
}

// render writes a template for one side into dir/<name> and returns its
// path.
func render(tmpl *template.Template, data templateData, dir, name string) (string, error) {
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		return "", fmt.Errorf("peers: %s: %w", name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("peers: %w", err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return "", fmt.Errorf("peers: %w", err)
	}
	return path, nil
}

// lookPath finds a program on PATH or in the sbin directories Debian
// installs daemons into.
func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s is not installed (run bench/install-peers.sh)", name)
}

// Version runs "<program> -v" and returns its first line.
func Version(program string) string {
	path, err := lookPath(program)
	if err != nil {
		return ""
	}
	out, _ := exec.Command(path, "-v").CombinedOutput()
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

// Installed reports whether program can be found.
func Installed(program string) error {
	_, err := lookPath(program)
	return err
}

func start(program, name, dir string, args ...string) (*launch.Process, error) {
	path, err := lookPath(program)
	if err != nil {
		return nil, err
	}
	return launch.Start(launch.Command{Path: path}, name, dir, args...)
}
