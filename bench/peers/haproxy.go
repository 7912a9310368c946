package peers

import (
	"path/filepath"
	"text/template"

	"github.com/lateenmesh/lateen/bench/launch"
)

// haproxyConf configures one side of the HAProxy pair: HTTP mode with
// keep-alive and connection reuse, one thread per core (HAProxy's
// default), no logs, mutual TLS between the two sides. http-no-delay
// stops HAProxy from asking the kernel to hold small writes for more data
// (MSG_MORE), which its documentation recommends for interactive traffic
// such as gRPC: without it, gRPC calls wait tens of milliseconds.
var haproxyConf = template.Must(template.New("haproxy").Parse(`# lateen-bench: haproxy {{.Side}}
global
  maxconn 4096
  ssl-server-verify required
defaults
  mode http
  option http-keep-alive
  option http-no-delay
  timeout connect 5s
  timeout client 300s
  timeout server 300s
  timeout http-keep-alive 300s
{{- if eq .Side "client-side"}}
frontend http_in
  bind {{.ClientIP}}:{{.HTTPPort}}
  default_backend peer_http
backend peer_http
  http-reuse always
  server peer {{.ServerIP}}:{{.HTTPTLSPort}} ssl verify required ca-file {{.Certs.CA}} crt {{.Certs.ClientBundle}} sni str({{.ServerName}}) verifyhost {{.ServerName}} alpn http/1.1
frontend grpc_in
  bind {{.ClientIP}}:{{.GRPCPort}} proto h2
  default_backend peer_grpc
backend peer_grpc
  http-reuse always
  server peer {{.ServerIP}}:{{.GRPCTLSPort}} ssl verify required ca-file {{.Certs.CA}} crt {{.Certs.ClientBundle}} sni str({{.ServerName}}) verifyhost {{.ServerName}} alpn h2
{{- else}}
frontend http_tls
  bind {{.ServerIP}}:{{.HTTPTLSPort}} ssl crt {{.Certs.ServerBundle}} ca-file {{.Certs.CA}} verify required alpn http/1.1
  default_backend app_http
backend app_http
  http-reuse always
  server app {{.ServerIP}}:{{.AppHTTPPort}}
frontend grpc_tls
  bind {{.ServerIP}}:{{.GRPCTLSPort}} ssl crt {{.Certs.ServerBundle}} ca-file {{.Certs.CA}} verify required alpn h2
  default_backend app_grpc
backend app_grpc
  http-reuse always
  server app {{.ServerIP}}:{{.AppGRPCPort}} proto h2
{{- end}}
`))

// StartHAProxy starts one side of the HAProxy pair in the foreground.
func StartHAProxy(p Pair, side Side) (*launch.Process, error) {
	dir := filepath.Join(p.Dir, "haproxy-"+string(side))
	conf, err := render(haproxyConf, p.data(side, dir), dir, "haproxy.cfg")
	if err != nil {
		return nil, err
	}
	return start("haproxy", "haproxy-"+string(side), p.Dir, "-f", conf, "-db")
}
