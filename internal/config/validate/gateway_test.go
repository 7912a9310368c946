package validate

import "testing"

// httpServer is a valid plain HTTP server for the cases below.
const httpServer = "{port: {number: 80, name: http, protocol: HTTP}, hosts: ['*']}"

func TestGatewayServers(t *testing.T) {
	runCases(t, "Gateway", []vcase{
		{name: "http", spec: "selector: {istio: ingressgateway}\nservers: [" + httpServer + "]"},
		{name: "no servers", spec: "selector: {istio: ingressgateway}", want: []string{"spec.servers"}},
		{name: "hosts", spec: "servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: [a.example.com, 'ns2/*.example.com', './b.example.com', '*/c.example.com', 10.0.0.1]}]"},
		{name: "bad hosts", spec: "servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: [short, 'ns2/', 'NS/a.com', '~/a.com', 'a*.example.com']}, {port: {number: 81, name: h2, protocol: HTTP}}]",
			want: []string{"spec.servers[0].hosts[0]", "spec.servers[0].hosts[1]", "spec.servers[0].hosts[2]",
				"spec.servers[0].hosts[3]", "spec.servers[0].hosts[4]", "spec.servers[1].hosts"}},
		{name: "bad ports", spec: "servers: [{hosts: ['*']}, {port: {number: 0, protocol: FTP}, hosts: ['*']}, {port: {number: 81, name: http, protocol: HTTP, targetPort: 8080}, hosts: ['*']}]",
			want: []string{"spec.servers[0].port", "spec.servers[1].port.number", "spec.servers[1].port.protocol",
				"spec.servers[1].port.name", "spec.servers[2].port.targetPort"}},
		{name: "duplicate port names", spec: "servers: [" + httpServer + ", {port: {number: 81, name: http, protocol: HTTP}, hosts: ['*']}]",
			want: []string{"spec.servers[1].port.name"}},
		{name: "lowercase protocol", spec: "servers: [{port: {number: 80, name: http, protocol: http}, hosts: ['*']}]"},
		{name: "bind", spec: "servers: [{port: {number: 80, name: a, protocol: HTTP}, hosts: ['*'], bind: 10.0.0.1}, {port: {number: 0, name: b, protocol: HTTP}, hosts: ['*'], bind: 'unix:///var/run/gw.sock'}]"},
		{name: "bad bind", spec: "servers: [{port: {number: 80, name: a, protocol: HTTP}, hosts: ['*'], bind: localhost}, {port: {number: 80, name: b, protocol: HTTP}, hosts: ['*'], bind: 'unix://rel/path'}]",
			want: []string{"spec.servers[0].bind", "spec.servers[1].bind", "spec.servers[1].port.number"}},
		{name: "selector labels", spec: "selector: {'bad key!': x}\nservers: [" + httpServer + "]", want: []string{"spec.selector[bad key!]"}},
	})
}

func TestGatewayTLS(t *testing.T) {
	const server = "servers: [{port: {number: 443, name: https, protocol: %s}, hosts: ['*'], tls: %s}]"
	tls := func(protocol, tls string) string { return sprintf(server, protocol, tls) }
	runCases(t, "Gateway", []vcase{
		{name: "https redirect", spec: "servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ['*'], tls: {httpsRedirect: true}}]"},
		{name: "simple with credential", spec: tls("HTTPS", "{mode: SIMPLE, credentialName: cert, minProtocolVersion: TLSV1_2, cipherSuites: [ECDHE-RSA-AES128-GCM-SHA256, '[AES128-SHA|AES256-SHA]']}")},
		{name: "simple with files", spec: tls("HTTPS", "{mode: SIMPLE, serverCertificate: /c, privateKey: /k}")},
		{name: "simple without certificate", spec: tls("HTTPS", "{mode: SIMPLE, caCrl: /crl}"),
			want: []string{"spec.servers[0].tls.serverCertificate", "spec.servers[0].tls.privateKey", "spec.servers[0].tls.caCrl"}},
		{name: "mutual", spec: tls("HTTPS", "{mode: MUTUAL, serverCertificate: /c, privateKey: /k, caCertificates: /ca}")},
		{name: "mutual without ca", spec: tls("HTTPS", "{mode: OPTIONAL_MUTUAL, tlsCertificates: [{serverCertificate: /c, privateKey: /k}]}"),
			want: []string{"spec.servers[0].tls.caCertificates"}},
		{name: "mutual with credentials", spec: tls("HTTPS", "{mode: MUTUAL, credentialNames: [rsa, ecdsa]}")},
		{name: "credential conflicts", spec: tls("HTTPS", "{mode: SIMPLE, credentialName: a, credentialNames: [b, c, '']}"),
			want: []string{"spec.servers[0].tls.credentialNames", "spec.servers[0].tls.credentialNames", "spec.servers[0].tls.credentialNames[2]"}},
		{name: "istio mutual", spec: tls("TLS", "{mode: ISTIO_MUTUAL}")},
		{name: "istio mutual with files", spec: tls("TLS", "{mode: ISTIO_MUTUAL, serverCertificate: /c, credentialName: x}"),
			want: []string{"spec.servers[0].tls.serverCertificate", "spec.servers[0].tls.credentialName"}},
		{name: "passthrough", spec: tls("TLS", "{mode: PASSTHROUGH}")},
		{name: "https without tls", spec: "servers: [{port: {number: 443, name: https, protocol: HTTPS}, hosts: ['*']}]",
			want: []string{"spec.servers[0].tls"}},
		{name: "tls on tcp and http", spec: "servers: [{port: {number: 80, name: a, protocol: TCP}, hosts: ['*'], tls: {httpsRedirect: true}}, {port: {number: 81, name: b, protocol: HTTP}, hosts: ['*'], tls: {mode: SIMPLE, credentialName: x}}]",
			want: []string{"spec.servers[0].tls", "spec.servers[0].tls.httpsRedirect", "spec.servers[1].tls"}},
		{name: "versions and ciphers", spec: tls("HTTPS", "{mode: SIMPLE, credentialName: x, minProtocolVersion: TLSV1_3, maxProtocolVersion: TLSV1_2, cipherSuites: [NOPE, AES128-SHA, AES128-SHA]}"),
			want: []string{"spec.servers[0].tls.maxProtocolVersion", "spec.servers[0].tls.cipherSuites[0]", "spec.servers[0].tls.cipherSuites[2]"}},
	})
}
