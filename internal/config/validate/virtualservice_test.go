package validate

import "testing"

// route is a minimal valid HTTP route action for the cases below.
const route = "route: [{destination: {host: a}}]"

func TestVirtualServiceHosts(t *testing.T) {
	runCases(t, "VirtualService", []vcase{
		{name: "short and qualified names", spec: "hosts: [reviews, reviews.ns1.svc.cluster.local, '*.example.com']\nhttp: [{" + route + "}]"},
		{name: "delegate without hosts", spec: "http: [{" + route + "}]"},
		{name: "delegate with gateways and tcp", spec: `
gateways: [gw]
http: [{` + route + `}]
tcp: [{route: [{destination: {host: a}}]}]
`, want: []string{"spec.gateways", "spec.tcp"}},
		{name: "bad wildcard", spec: "hosts: ['*.', 'foo.*.com']\nhttp: [{" + route + "}]",
			want: []string{"spec.hosts[0]", "spec.hosts[1]"}, msg: `invalid host "*.": wildcard must be the leftmost label followed by a dot`},
		{name: "host with port", spec: "hosts: ['a.com:80']\nhttp: [{" + route + "}]", want: []string{"spec.hosts[0]"}},
		{name: "numeric top-level domain", spec: "hosts: ['a.123']\nhttp: [{" + route + "}]", want: []string{"spec.hosts[0]"}},
		{name: "star on mesh", spec: "hosts: ['*']\nhttp: [{" + route + "}]", want: []string{"spec.hosts[0]"}},
		{name: "star on gateway", spec: "hosts: ['*']\ngateways: [gw]\nhttp: [{" + route + "}]"},
		{name: "ip on gateway", spec: "hosts: [10.0.0.1]\ngateways: [ns2/gw]\nhttp: [{" + route + "}]"},
		{name: "ip on mesh", spec: "hosts: [10.0.0.1]\ngateways: [mesh, gw]\nhttp: [{" + route + "}]", want: []string{"spec.hosts[0]"}},
		{name: "overlapping hosts", spec: "hosts: ['*.example.com', a.example.com, b, b]\nhttp: [{" + route + "}]",
			want: []string{"spec.hosts[1]", "spec.hosts[3]"}},
		{name: "no routes", spec: "hosts: [a]", want: []string{"spec"}},
		{name: "gateway names", spec: "hosts: [a]\ngateways: [mesh, gw, ns/gw, gw.ns, 'ns/', 'NS/gw', 'a b']\nhttp: [{" + route + "}]",
			want: []string{"spec.gateways[4]", "spec.gateways[5]", "spec.gateways[6]"}},
		{name: "exportTo", spec: "hosts: [a]\nexportTo: ['.', ns2]\nhttp: [{" + route + "}]"},
		{name: "exportTo duplicates and none", spec: "hosts: [a]\nexportTo: ['.', ns1, '~']\nhttp: [{" + route + "}]",
			want: []string{"spec.exportTo[1]", "spec.exportTo[2]", "spec.exportTo"}},
		{name: "exportTo star with others", spec: "hosts: [a]\nexportTo: ['*', ns2, 'Bad']\nhttp: [{" + route + "}]",
			want: []string{"spec.exportTo[2]", "spec.exportTo"}},
	})
}

func TestVirtualServiceRouteActions(t *testing.T) {
	runCases(t, "VirtualService", []vcase{
		{name: "no action", spec: "hosts: [a]\nhttp: [{name: r}]", want: []string{"spec.http[0]"}},
		{name: "route and redirect", spec: "hosts: [a]\nhttp: [{" + route + ", redirect: {uri: /x}}]",
			want: []string{"spec.http[0].redirect"}},
		{name: "direct response", spec: "hosts: [a]\nhttp: [{directResponse: {status: 503, body: {string: down}}}]"},
		{name: "direct response and fault", spec: "hosts: [a]\nhttp: [{directResponse: {status: 200}, fault: {abort: {httpStatus: 500}}}]",
			want: []string{"spec.http[0].fault"}},
		{name: "direct response status", spec: "hosts: [a]\nhttp: [{directResponse: {status: 99}}]",
			want: []string{"spec.http[0].directResponse.status"}},
		{name: "delegate", spec: "hosts: [a]\nhttp: [{delegate: {name: reviews, namespace: ns2}}]"},
		{name: "delegate with route", spec: "hosts: [a]\nhttp: [{delegate: {name: r}, " + route + "}]",
			want: []string{"spec.http[0].delegate"}},
		{name: "delegate name", spec: "hosts: [a]\nhttp: [{delegate: {namespace: NS}}]",
			want: []string{"spec.http[0].delegate.name", "spec.http[0].delegate.namespace"}},
		{name: "delegate in delegate", spec: "http: [{delegate: {name: r}}]", want: []string{"spec.http[0].delegate"}},
		{name: "redirect and rewrite", spec: "hosts: [a]\nhttp: [{redirect: {authority: b}, rewrite: {uri: /}}]",
			want: []string{"spec.http[0].rewrite"}},
	})
}

func TestVirtualServiceMatches(t *testing.T) {
	runCases(t, "VirtualService", []vcase{
		{name: "valid matches", spec: `
hosts: [a]
http:
- match:
  - uri: {regex: "/api/v[0-9]+/.*"}
    method: {exact: GET}
    headers: {x-user: {prefix: j}, x-any: {}}
    withoutHeaders: {x-debug: {exact: "1"}}
    queryParams: {q: {exact: v}}
    port: 8080
    sourceLabels: {app: web}
    gateways: [mesh]
    sourceNamespace: ns2
  ` + route},
		{name: "bad regex", spec: "hosts: [a]\nhttp: [{match: [{uri: {regex: 'a(b'}}], " + route + "}]",
			want: []string{"spec.http[0].match[0].uri.regex"}},
		{name: "empty regex", spec: "hosts: [a]\nhttp: [{match: [{queryParams: {q: {regex: ''}}}], " + route + "}]",
			want: []string{"spec.http[0].match[0].queryParams[q].regex"}},
		{name: "header names", spec: "hosts: [a]\nhttp: [{match: [{headers: {X-User: {exact: a}}, withoutHeaders: {'a b': {}}}], " + route + "}]",
			want: []string{"spec.http[0].match[0].withoutHeaders[a b]"}},
		{name: "port, labels, namespace", spec: "hosts: [a]\nhttp: [{match: [{port: 70000, sourceLabels: {'-a': b}, sourceNamespace: Bad}], " + route + "}]",
			want: []string{"spec.http[0].match[0].port", "spec.http[0].match[0].sourceLabels[-a]", "spec.http[0].match[0].sourceNamespace"}},
		{name: "jwt claims on gateway", spec: `
hosts: [a.example.com]
gateways: [gw]
http: [{match: [{headers: {"@request.auth.claims.groups": {exact: admin}, "@request.auth.claims[a][b]": {exact: x}}}], ` + route + `}]`},
		{name: "jwt claims on mesh", spec: `
hosts: [a]
http: [{match: [{headers: {"@request.auth.claims.groups": {exact: admin}}}], ` + route + `}]`,
			want: []string{"spec.http[0].match[0].headers[@request.auth.claims.groups]"}},
		{name: "regex in delegating route", spec: "hosts: [a]\nhttp: [{match: [{uri: {regex: '/a.*'}}], delegate: {name: r}}]",
			want: []string{"spec.http[0].match[0].uri.regex"}},
		{name: "regex in delegate", spec: "http: [{match: [{headers: {x: {regex: 'a.*'}}}], " + route + "}]",
			want: []string{"spec.http[0].match[0].headers[x].regex"}},
	})
}

func TestVirtualServiceDestinations(t *testing.T) {
	runCases(t, "VirtualService", []vcase{
		{name: "weights", spec: "hosts: [a]\nhttp: [{route: [{destination: {host: a, subset: v1, port: {number: 80}}, weight: 30}, {destination: {host: a}, weight: 70}]}]"},
		{name: "zero total", spec: "hosts: [a]\nhttp: [{route: [{destination: {host: a}}, {destination: {host: b}}]}]",
			want: []string{"spec.http[0].route"}},
		{name: "single destination without weight", spec: "hosts: [a]\nhttp: [{route: [{destination: {host: a}, weight: 0}]}]"},
		{name: "negative weight", spec: "hosts: [a]\nhttp: [{route: [{destination: {host: a}, weight: -1}, {destination: {host: b}, weight: 10}]}]",
			want: []string{"spec.http[0].route[0].weight"}},
		{name: "bad destination", spec: "hosts: [a]\nhttp: [{route: [{destination: {host: '*', subset: V1, port: {number: 0}}}, {weight: 1}]}]",
			want: []string{"spec.http[0].route[0].destination.host", "spec.http[0].route[0].destination.subset",
				"spec.http[0].route[0].destination.port.number", "spec.http[0].route[1].destination"}},
		{name: "missing host", spec: "hosts: [a]\nhttp: [{route: [{destination: {subset: v1}}]}]",
			want: []string{"spec.http[0].route[0].destination.host"}},
	})
}

func TestVirtualServiceRedirectRewrite(t *testing.T) {
	runCases(t, "VirtualService", []vcase{
		{name: "redirect", spec: "hosts: [a]\nhttp: [{redirect: {uri: /new, authority: b, port: 8443, scheme: https, redirectCode: 308}}]"},
		{name: "redirect derivePort", spec: "hosts: [a]\nhttp: [{redirect: {derivePort: FROM_REQUEST_PORT}}]"},
		{name: "empty redirect", spec: "hosts: [a]\nhttp: [{redirect: {redirectCode: 302}}]", want: []string{"spec.http[0].redirect"}},
		{name: "bad redirect", spec: "hosts: [a]\nhttp: [{redirect: {uri: /a, prefixRewrite: /b, redirectCode: 300, scheme: ftp, port: 0}}]",
			want: []string{"spec.http[0].redirect.prefixRewrite", "spec.http[0].redirect.redirectCode",
				"spec.http[0].redirect.scheme", "spec.http[0].redirect.port"}},
		{name: "rewrite", spec: "hosts: [a]\nhttp: [{rewrite: {uriRegexRewrite: {match: '^/a/(.*)', rewrite: '/\\1'}}, " + route + "}]"},
		{name: "rewrite uri and regex", spec: "hosts: [a]\nhttp: [{rewrite: {uri: /, uriRegexRewrite: {match: '(', rewrite: ''}}, " + route + "}]",
			want: []string{"spec.http[0].rewrite.uriRegexRewrite", "spec.http[0].rewrite.uriRegexRewrite.match",
				"spec.http[0].rewrite.uriRegexRewrite.rewrite"}},
		{name: "empty rewrite", spec: "hosts: [a]\nhttp: [{rewrite: {}, " + route + "}]", want: []string{"spec.http[0].rewrite"}},
		{name: "authority twice", spec: "hosts: [a]\nhttp: [{rewrite: {authority: b}, headers: {request: {set: {host: c}}}, " + route + "}]",
			want: []string{"spec.http[0].headers.request.set[host]"}},
	})
}

func TestVirtualServiceTimeoutsRetriesFaults(t *testing.T) {
	runCases(t, "VirtualService", []vcase{
		{name: "timeouts and retries", spec: "hosts: [a]\nhttp: [{timeout: 10s, retries: {attempts: 3, perTryTimeout: 2s, retryOn: '5xx,reset,503,unavailable'}, " + route + "}]"},
		{name: "bad durations", spec: "hosts: [a]\nhttp: [{timeout: 0.0001s, retries: {attempts: 1, perTryTimeout: 1.0005s}, " + route + "}]",
			want: []string{"spec.http[0].timeout", "spec.http[0].retries.perTryTimeout"}},
		{name: "bad retries", spec: "hosts: [a]\nhttp: [{retries: {attempts: -1, retryOn: '5xx, reset,999,bogus'}, " + route + "}]",
			want: []string{"spec.http[0].retries.attempts", "spec.http[0].retries.retryOn", "spec.http[0].retries.retryOn", "spec.http[0].retries.retryOn"}},
		{name: "retry settings without attempts", spec: "hosts: [a]\nhttp: [{retries: {retryOn: 5xx}, " + route + "}]",
			want: []string{"spec.http[0].retries.attempts"}},
		{name: "faults", spec: "hosts: [a]\nhttp: [{fault: {delay: {percentage: {value: 0.5}, fixedDelay: 5s}, abort: {percentage: {value: 10}, grpcStatus: UNAVAILABLE}}, " + route + "}]"},
		{name: "empty fault", spec: "hosts: [a]\nhttp: [{fault: {}, " + route + "}]", want: []string{"spec.http[0].fault"}},
		{name: "bad delay", spec: "hosts: [a]\nhttp: [{fault: {delay: {percentage: {value: 101}}}, " + route + "}]",
			want: []string{"spec.http[0].fault.delay.percentage.value", "spec.http[0].fault.delay.fixedDelay"}},
		{name: "bad aborts", spec: "hosts: [a]\nhttp: [{fault: {abort: {httpStatus: 600}}, " + route + "}, {fault: {abort: {grpcStatus: NOPE}}, " + route + "}, {fault: {abort: {percentage: {value: 50}}}, " + route + "}]",
			want: []string{"spec.http[0].fault.abort.httpStatus", "spec.http[1].fault.abort.grpcStatus", "spec.http[2].fault.abort"}},
	})
}

func TestVirtualServiceMirrorsCORSHeaders(t *testing.T) {
	runCases(t, "VirtualService", []vcase{
		{name: "mirrors", spec: "hosts: [a]\nhttp: [{mirrors: [{destination: {host: b}, percentage: {value: 50}}], " + route + "}]"},
		{name: "mirror and mirrors", spec: "hosts: [a]\nhttp: [{mirror: {host: b}, mirrorPercentage: {value: 120}, mirrors: [{percentage: {value: -1}}], " + route + "}]",
			want: []string{"spec.http[0].mirrors", "spec.http[0].mirrorPercentage.value",
				"spec.http[0].mirrors[0].destination", "spec.http[0].mirrors[0].percentage.value"}},
		{name: "cors", spec: "hosts: [a]\nhttp: [{corsPolicy: {allowOrigins: [{exact: 'https://a.com'}, {regex: '.*\\.b\\.com'}], allowMethods: [GET, POST], allowHeaders: ['*', x-a], exposeHeaders: [x-b], maxAge: 24h, allowCredentials: true}, " + route + "}]"},
		{name: "bad cors", spec: "hosts: [a]\nhttp: [{corsPolicy: {allowOrigins: [{exact: ''}, {regex: '('}], allowMethods: [get], allowHeaders: ['a b'], maxAge: 1.5s}, " + route + "}]",
			want: []string{"spec.http[0].corsPolicy.allowOrigins[0]", "spec.http[0].corsPolicy.allowOrigins[1].regex",
				"spec.http[0].corsPolicy.allowMethods[0]", "spec.http[0].corsPolicy.allowHeaders[0]", "spec.http[0].corsPolicy.maxAge"}},
		{name: "headers", spec: `
hosts: [a]
http:
- headers:
    request: {set: {x-a: "%DOWNSTREAM_REMOTE_ADDRESS%", host: b}, add: {x-b: "100%%"}, remove: [x-c]}
    response: {set: {x-d: v}, remove: [x-e]}
  route: [{destination: {host: a}, headers: {request: {add: {x-f: g}}}}]
`},
		{name: "bad headers", spec: `
hosts: [a]
http:
- headers:
    request: {set: {":path": /x, x-a: "50%"}, remove: [host, ""]}
    response: {add: {host: b, "bad name": c}}
  route: [{destination: {host: a}, headers: {response: {remove: [":status"]}}}]
`, want: []string{"spec.http[0].headers.request.set[:path]", "spec.http[0].headers.request.set[x-a]",
			"spec.http[0].headers.request.remove[0]", "spec.http[0].headers.request.remove[1]",
			"spec.http[0].headers.response.add[host]", "spec.http[0].headers.response.add[bad name]",
			"spec.http[0].route[0].headers.response.remove[0]"}},
	})
}

func TestVirtualServiceTCPAndTLSRoutes(t *testing.T) {
	runCases(t, "VirtualService", []vcase{
		{name: "tcp", spec: "hosts: [db]\ntcp: [{match: [{port: 27017, destinationSubnets: [10.0.0.0/8], sourceSubnet: 10.1.0.1}], route: [{destination: {host: db, port: {number: 27017}}}]}]"},
		{name: "bad tcp", spec: "hosts: [db]\ntcp: [{match: [{port: 0, destinationSubnets: [10.0.0.0/33], sourceSubnet: x}]}]",
			want: []string{"spec.tcp[0].match[0].destinationSubnets[0]", "spec.tcp[0].match[0].sourceSubnet", "spec.tcp[0].route"}},
		{name: "tls", spec: "hosts: ['*.example.com']\ntls: [{match: [{sniHosts: [a.example.com, '*.b.example.com'], port: 443}], route: [{destination: {host: a.example.com}}]}]"},
		{name: "sni outside hosts", spec: "hosts: [a.example.com]\ntls: [{match: [{sniHosts: [b.example.com]}, {}], route: [{destination: {host: a.example.com}}]}]",
			want: []string{"spec.tls[0].match[0].sniHosts[0]", "spec.tls[0].match[1].sniHosts"}},
		{name: "tls without match or route", spec: "hosts: [a]\ntls: [{}]", want: []string{"spec.tls[0].match", "spec.tls[0].route"}},
	})
}
