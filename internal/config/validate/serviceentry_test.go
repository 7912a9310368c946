package validate

import "testing"

func TestServiceEntry(t *testing.T) {
	runCases(t, "ServiceEntry", []vcase{
		{name: "external https", spec: `
hosts: [api.example.com]
location: MESH_EXTERNAL
ports: [{number: 443, name: https, protocol: TLS}]
resolution: DNS
exportTo: ['~']
`},
		{name: "wildcard with NONE", spec: "hosts: ['*.example.com']\nports: [{number: 443, name: tls, protocol: TLS}]"},
		{name: "hosts", spec: "hosts: ['*', 'a_b.com', '*.']\nports: [{number: 80, name: http}]",
			want: []string{"spec.hosts[0]", "spec.hosts[1]", "spec.hosts[2]"}},
		{name: "no hosts", spec: "ports: [{number: 80, name: http}]", want: []string{"spec.hosts"}},
		{name: "addresses", spec: "hosts: [db.internal]\naddresses: [10.1.0.0/16, 192.168.0.1, 'not-an-ip']\nports: [{number: 5432, name: pg, protocol: TCP}]",
			want: []string{"spec.addresses[2]"}},
		{name: "cidr with DNS", spec: "hosts: [db.internal]\naddresses: [10.1.0.0/16]\nports: [{number: 5432, name: pg}]\nresolution: DNS",
			want: []string{"spec.addresses[0]"}},
		{name: "ports", spec: "hosts: [a.com]\nports: [{number: 80, name: http, protocol: HTTP, targetPort: 8080}, {number: 80, name: http}, {number: 0, name: '', protocol: FTP, targetPort: 70000}]",
			want: []string{"spec.ports[1].number", "spec.ports[1].name", "spec.ports[2].number", "spec.ports[2].name",
				"spec.ports[2].protocol", "spec.ports[2].targetPort"}},
		{name: "static endpoints", spec: `
hosts: [mongo.internal]
ports: [{number: 27017, name: mongo, protocol: MONGO}]
resolution: STATIC
endpoints:
- {address: 10.0.0.1, ports: {mongo: 27018}, labels: {app: mongo}, locality: us-east/zone1, weight: 3, network: n1}
- {address: 2001:db8::1}
`},
		{name: "static without endpoints", spec: "hosts: [a.internal]\nports: [{number: 80, name: http}]\nresolution: STATIC",
			want: []string{"spec.endpoints"}},
		{name: "static with selector", spec: "hosts: [a.internal]\nports: [{number: 80, name: http}]\nresolution: STATIC\nworkloadSelector: {labels: {app: vm}}"},
		{name: "bad static endpoints", spec: `
hosts: [a.internal]
ports: [{number: 80, name: http}, {number: 81, name: h2}]
resolution: STATIC
endpoints:
- {address: host.example.com, ports: {grpc: 80, http: 0}}
- {address: "unix:///sock", ports: {http: 80}}
- {locality: "us//z"}
`, want: []string{"spec.endpoints[0].address", "spec.endpoints[0].ports[grpc]", "spec.endpoints[0].ports[http]",
			"spec.endpoints[1].ports", "spec.endpoints[1].address", "spec.endpoints[2].address", "spec.endpoints[2].locality"}},
		{name: "none with endpoints", spec: "hosts: [a.internal]\nports: [{number: 80, name: http}]\nendpoints: [{address: 10.0.0.1}]",
			want: []string{"spec.endpoints"}},
		{name: "dns endpoints", spec: "hosts: ['*.a.com']\nports: [{number: 80, name: http}]\nresolution: DNS\nendpoints: [{address: lb.a.com}, {address: 10.0.0.2}]"},
		{name: "dns wildcard without endpoints", spec: "hosts: ['*.a.com']\nports: [{number: 80, name: http, protocol: HTTP}]\nresolution: DNS_ROUND_ROBIN",
			want: []string{"spec.hosts[0]"}},
		{name: "dns round robin endpoints", spec: "hosts: [a.com]\nports: [{number: 80, name: http}]\nresolution: DNS_ROUND_ROBIN\nendpoints: [{address: a.com}, {address: 'unix:///s'}]",
			want: []string{"spec.endpoints", "spec.endpoints[1].address"}},
		{name: "dynamic dns", spec: "hosts: ['*.a.com']\nports: [{number: 443, name: tls, protocol: TLS}]\nresolution: DYNAMIC_DNS"},
		{name: "dynamic dns needs wildcard", spec: "hosts: [a.com]\nports: [{number: 443, name: tls, protocol: TLS}]\nresolution: DYNAMIC_DNS\nendpoints: [{address: 1.1.1.1}]",
			want: []string{"spec.hosts[0]", "spec.endpoints"}},
		{name: "selector and endpoints", spec: "hosts: [a.internal]\nports: [{number: 80, name: http}]\nresolution: STATIC\nworkloadSelector: {labels: {app: '*'}}\nendpoints: [{address: 10.0.0.1}]",
			want: []string{"spec.workloadSelector", "spec.workloadSelector.labels[app]"}},
		{name: "several hosts on tcp", spec: "hosts: [a.com, b.com]\nports: [{number: 80, name: http, protocol: HTTP}, {number: 5432, name: pg, protocol: TCP}]\nresolution: DNS",
			want: []string{"spec.ports[1].protocol"}},
		{name: "several hosts on tcp with NONE", spec: "hosts: [a.com, b.com]\nports: [{number: 5432, name: pg, protocol: TCP}]"},
		{name: "subject alt names", spec: "hosts: [a.com]\nports: [{number: 443, name: tls, protocol: TLS}]\nsubjectAltNames: ['spiffe://a', '']",
			want: []string{"spec.subjectAltNames[1]"}},
	})
}
