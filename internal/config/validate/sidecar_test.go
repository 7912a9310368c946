package validate

import "testing"

func TestSidecar(t *testing.T) {
	runCases(t, "Sidecar", []vcase{
		{name: "namespace default", spec: "egress: [{hosts: ['./*', 'istio-system/*']}]"},
		{name: "empty", spec: "workloadSelector: {labels: {app: a}}", want: []string{"spec"}},
		{name: "outbound policy only", spec: "outboundTrafficPolicy: {mode: REGISTRY_ONLY}"},
		{name: "egress hosts", spec: "egress: [{hosts: ['*/*', '~/*', '~prod/*', 'ns2/*.example.com', './a.example.com']}]"},
		{name: "bad egress hosts", spec: "egress: [{port: {number: 80}, hosts: [a.example.com, 'ns/short', 'Bad/a.com', 'ns/*foo.com', '/a.com']}, {}]",
			want: []string{"spec.egress[0].hosts[0]", "spec.egress[0].hosts[1]", "spec.egress[0].hosts[2]",
				"spec.egress[0].hosts[3]", "spec.egress[0].hosts[4]", "spec.egress[1].hosts"}},
		{name: "egress ports", spec: `
egress:
- {port: {number: 9080, protocol: HTTP, name: http}, bind: 127.0.0.2, captureMode: NONE, hosts: ['*/*']}
- {port: {number: 0, protocol: HTTP}, bind: 'unix:///var/run/egress.sock', hosts: ['*/*']}
- {hosts: ['*/*']}
`},
		{name: "bad egress ports", spec: `
egress:
- {hosts: ['*/*']}
- {port: {number: 0}, bind: 10.0.0.1, hosts: ['*/*']}
- {port: {number: 0}, bind: 'unix:///s', captureMode: IPTABLES, hosts: ['*/*']}
- {port: {number: 0}, bind: 'unix:///s', hosts: ['*/*']}
- {port: {number: 80, protocol: FOO, name: 'a b'}, bind: 'nope', hosts: ['*/*']}
- {port: {number: 80}, hosts: ['*/*']}
`, want: []string{"spec.egress[0].port", "spec.egress[1].port.number", "spec.egress[2].captureMode", "spec.egress[3].bind",
			"spec.egress[4].port.protocol", "spec.egress[4].port.name", "spec.egress[4].bind", "spec.egress[5].port.number"}},
		{name: "ingress", spec: `
ingress:
- {port: {number: 9080, protocol: HTTP, name: http}, defaultEndpoint: 127.0.0.1:8080, captureMode: IPTABLES}
- {port: {number: 9443, protocol: HTTPS, name: https}, defaultEndpoint: '[::1]:8443', tls: {mode: SIMPLE, serverCertificate: /c, privateKey: /k}}
- {port: {number: 9090}, defaultEndpoint: 'unix:///var/run/app.sock', connectionPool: {tcp: {maxConnections: 10}}}
`},
		{name: "bad ingress", spec: `
ingress:
- {defaultEndpoint: 127.0.0.1:80}
- {port: {number: 9080}, defaultEndpoint: 10.0.0.1:80, bind: 'unix:///s'}
- {port: {number: 9080}, defaultEndpoint: '127.0.0.1:http', tls: {mode: ISTIO_MUTUAL}}
- {port: {number: 9081, targetPort: 80}, tls: {mode: SIMPLE, credentialName: c, httpsRedirect: true, subjectAltNames: [a]}}
`, want: []string{"spec.ingress[0].port", "spec.ingress[1].defaultEndpoint", "spec.ingress[1].bind",
			"spec.ingress[2].port.number", "spec.ingress[2].defaultEndpoint", "spec.ingress[2].tls.mode",
			"spec.ingress[3].port.targetPort", "spec.ingress[3].tls.credentialName", "spec.ingress[3].tls.httpsRedirect",
			"spec.ingress[3].tls.subjectAltNames"}},
		{name: "egress proxy", spec: "outboundTrafficPolicy: {mode: ALLOW_ANY, egressProxy: {host: egress.example.com, subset: v1, port: {number: 3128}}}"},
		{name: "bad egress proxy", spec: "outboundTrafficPolicy: {mode: REGISTRY_ONLY, egressProxy: {host: a.com, port: {number: 1}}}",
			want: []string{"spec.outboundTrafficPolicy.egressProxy"}},
		{name: "egress proxy without port", spec: "outboundTrafficPolicy: {mode: ALLOW_ANY, egressProxy: {host: '*.com'}}",
			want: []string{"spec.outboundTrafficPolicy.egressProxy.host", "spec.outboundTrafficPolicy.egressProxy.port"}},
		{name: "selector and pools", spec: "workloadSelector: {labels: {'app*': a}}\ninboundConnectionPool: {http: {http1MaxPendingRequests: -1}}",
			want: []string{"spec.workloadSelector.labels[app*]", "spec.inboundConnectionPool.http.http1MaxPendingRequests"}},
	})
}
