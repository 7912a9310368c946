package peers

import (
	"fmt"
	"os"
	"path/filepath"
	"text/template"

	"github.com/lateenmesh/lateen/bench/launch"
)

// nginxConf configures one side of the nginx pair: keep-alive everywhere
// (no per-connection request limit, as the other proxies have none), no
// access log, one worker per core, mutual TLS between the two sides.
var nginxConf = template.Must(template.New("nginx").Parse(`# lateen-bench: nginx {{.Side}}
daemon off;
master_process on;
worker_processes auto;
pid {{.Prefix}}/nginx.pid;
error_log {{.Prefix}}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  client_body_temp_path {{.Prefix}}/client_body;
  proxy_temp_path {{.Prefix}}/proxy;
  fastcgi_temp_path {{.Prefix}}/fastcgi;
  uwsgi_temp_path {{.Prefix}}/uwsgi;
  scgi_temp_path {{.Prefix}}/scgi;
{{- if eq .Side "client-side"}}
  upstream peer_http { server {{.ServerIP}}:{{.HTTPTLSPort}}; keepalive 64; keepalive_requests 100000000; }
  upstream peer_grpc { server {{.ServerIP}}:{{.GRPCTLSPort}}; keepalive 64; keepalive_requests 100000000; }
  server {
    listen {{.ClientIP}}:{{.HTTPPort}};
    location / {
      proxy_pass https://peer_http;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_ssl_certificate {{.Certs.ClientCert}};
      proxy_ssl_certificate_key {{.Certs.ClientKey}};
      proxy_ssl_trusted_certificate {{.Certs.CA}};
      proxy_ssl_verify on;
      proxy_ssl_name {{.ServerName}};
      proxy_ssl_server_name on;
      proxy_ssl_session_reuse on;
    }
  }
  server {
    listen {{.ClientIP}}:{{.GRPCPort}} http2;
    location / {
      grpc_pass grpcs://peer_grpc;
      grpc_ssl_certificate {{.Certs.ClientCert}};
      grpc_ssl_certificate_key {{.Certs.ClientKey}};
      grpc_ssl_trusted_certificate {{.Certs.CA}};
      grpc_ssl_verify on;
      grpc_ssl_name {{.ServerName}};
      grpc_ssl_server_name on;
    }
  }
{{- else}}
  upstream app_http { server {{.ServerIP}}:{{.AppHTTPPort}}; keepalive 64; keepalive_requests 100000000; }
  upstream app_grpc { server {{.ServerIP}}:{{.AppGRPCPort}}; keepalive 64; keepalive_requests 100000000; }
  ssl_certificate {{.Certs.ServerCert}};
  ssl_certificate_key {{.Certs.ServerKey}};
  ssl_client_certificate {{.Certs.CA}};
  ssl_verify_client on;
  ssl_session_cache shared:SSL:1m;
  server {
    listen {{.ServerIP}}:{{.HTTPTLSPort}} ssl;
    location / {
      proxy_pass http://app_http;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
  server {
    listen {{.ServerIP}}:{{.GRPCTLSPort}} ssl http2;
    location / { grpc_pass grpc://app_grpc; }
  }
{{- end}}
}
`))

// StartNginx starts one side of the nginx pair (a master and one worker
// per core).
func StartNginx(p Pair, side Side) (*launch.Process, error) {
	prefix := filepath.Join(p.Dir, "nginx-"+string(side))
	conf, err := render(nginxConf, p.data(side, prefix), prefix, "nginx.conf")
	if err != nil {
		return nil, err
	}
	// Workers run unprivileged when nginx starts as root: let them in.
	if err := os.Chmod(prefix, 0o755); err != nil {
		return nil, fmt.Errorf("peers: %w", err)
	}
	return start("nginx", "nginx-"+string(side), p.Dir,
		"-p", prefix, "-c", conf, "-e", filepath.Join(prefix, "error.log"))
}
