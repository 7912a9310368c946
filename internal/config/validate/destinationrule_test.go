package validate

import "testing"

func TestDestinationRuleBasics(t *testing.T) {
	runCases(t, "DestinationRule", []vcase{
		{name: "host and subsets", spec: "host: reviews.ns1.svc.cluster.local\nsubsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {app.kubernetes.io/version: v2}}]"},
		{name: "wildcard host", spec: "host: '*.example.com'"},
		{name: "missing host", spec: "subsets: [{name: v1}]", want: []string{"spec.host"}},
		{name: "bad host", spec: "host: 'a..b'", want: []string{"spec.host"}},
		{name: "bad subsets", spec: "host: a\nsubsets: [{labels: {v: '1'}}, {name: V1}, {name: v1}, {name: v1, labels: {'a/b/c': x, k: 'bad value'}}]",
			want: []string{"spec.subsets[0].name", "spec.subsets[1].name", "spec.subsets[3].name",
				"spec.subsets[3].labels[a/b/c]", "spec.subsets[3].labels[k]"},
			msg: `duplicate subset name "v1" (also at spec.subsets[2])`},
		{name: "subset traffic policy", spec: "host: a\nsubsets: [{name: v1, trafficPolicy: {tls: {mode: MUTUAL}}}]",
			want: []string{"spec.subsets[0].trafficPolicy.tls.clientCertificate", "spec.subsets[0].trafficPolicy.tls.privateKey"}},
		{name: "exportTo", spec: "host: a\nexportTo: ['*']"},
		{name: "selector", spec: "host: a\nworkloadSelector: {matchLabels: {app: a}}\nexportTo: ['.']"},
		{name: "selector exported elsewhere", spec: "host: a\nworkloadSelector: {matchLabels: {app: '*'}}\nexportTo: [ns2]",
			want: []string{"spec.workloadSelector.matchLabels[app]", "spec.exportTo"}},
		{name: "empty traffic policy", spec: "host: a\ntrafficPolicy: {}", want: []string{"spec.trafficPolicy"}},
	})
}

func TestDestinationRuleLoadBalancer(t *testing.T) {
	runCases(t, "DestinationRule", []vcase{
		{name: "simple", spec: "host: a\ntrafficPolicy: {loadBalancer: {simple: LEAST_REQUEST, warmupDurationSecs: 30s}}"},
		{name: "consistent hash", spec: "host: a\ntrafficPolicy: {loadBalancer: {consistentHash: {httpCookie: {name: user, ttl: 0s}, ringHash: {minimumRingSize: 1024}}}}"},
		{name: "maglev", spec: "host: a\ntrafficPolicy: {loadBalancer: {consistentHash: {useSourceIp: true, maglev: {tableSize: 65537}}}}"},
		{name: "hash key required", spec: "host: a\ntrafficPolicy: {loadBalancer: {consistentHash: {ringHash: {minimumRingSize: 1024}}}}",
			want: []string{"spec.trafficPolicy.loadBalancer.consistentHash"}},
		{name: "cookie name", spec: "host: a\ntrafficPolicy: {loadBalancer: {consistentHash: {httpCookie: {ttl: 10s}}}}",
			want: []string{"spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.name"}},
		{name: "deprecated ring size with algorithm", spec: "host: a\ntrafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: x-user, minimumRingSize: 10, maglev: {tableSize: 65536}}}}",
			want: []string{"spec.trafficPolicy.loadBalancer.consistentHash.minimumRingSize", "spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize"}},
		{name: "warmup", spec: "host: a\ntrafficPolicy: {loadBalancer: {warmup: {duration: 60s, minimumPercent: 10, aggression: 2}}}"},
		{name: "bad warmup", spec: "host: a\ntrafficPolicy: {loadBalancer: {warmupDurationSecs: 10s, warmup: {minimumPercent: 110, aggression: 0.5}}}",
			want: []string{"spec.trafficPolicy.loadBalancer.warmup", "spec.trafficPolicy.loadBalancer.warmup.duration",
				"spec.trafficPolicy.loadBalancer.warmup.minimumPercent", "spec.trafficPolicy.loadBalancer.warmup.aggression"}},
	})
}

func TestDestinationRuleLocality(t *testing.T) {
	const lb = "host: a\ntrafficPolicy: {outlierDetection: {consecutive5xxErrors: 5}, loadBalancer: {localityLbSetting: %s}}"
	runCases(t, "DestinationRule", []vcase{
		{name: "distribute", spec: sprintf(lb, "{distribute: [{from: us-west/zone1/*, to: {us-west/zone1/*: 80, us-west/zone2/*: 20}}, {from: us-east/*, to: {us-east/*: 100}}]}")},
		{name: "failover", spec: sprintf(lb, "{enabled: true, failover: [{from: us-east, to: eu-west}], failoverPriority: [topology.istio.io/network]}")},
		{name: "distribute and failover", spec: sprintf(lb, "{distribute: [{from: a, to: {b: 100}}], failover: [{from: a, to: b}]}"),
			want: []string{"spec.trafficPolicy.loadBalancer.localityLbSetting.failover"}},
		{name: "bad weights", spec: sprintf(lb, "{distribute: [{from: a/*, to: {b: 60, c: 0}}]}"),
			want: []string{"spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to[c]",
				"spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to"}},
		{name: "bad localities", spec: sprintf(lb, "{distribute: [{from: 'a/*/c', to: {'a//b': 100}}, {from: us, to: {x: 100}}, {from: us/z1, to: {x: 100}}]}"),
			want: []string{"spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].from",
				"spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to[a//b]",
				"spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[2].from"}},
		{name: "bad failover", spec: sprintf(lb, "{failover: [{from: us, to: us}, {from: us/z1, to: '*'}], failoverPriority: [topology.kubernetes.io/region]}"),
			want: []string{"spec.trafficPolicy.loadBalancer.localityLbSetting.failover[0].to",
				"spec.trafficPolicy.loadBalancer.localityLbSetting.failover[1].from",
				"spec.trafficPolicy.loadBalancer.localityLbSetting.failover[1].to",
				"spec.trafficPolicy.loadBalancer.localityLbSetting.failoverPriority[0]"}},
	})
}

func TestDestinationRuleConnectionPoolAndOutliers(t *testing.T) {
	runCases(t, "DestinationRule", []vcase{
		{name: "connection pool", spec: `
host: a
trafficPolicy:
  connectionPool:
    tcp: {maxConnections: 100, connectTimeout: 30ms, tcpKeepalive: {time: 7200s, interval: 75s, probes: 9}, idleTimeout: 1h}
    http: {http1MaxPendingRequests: 10, http2MaxRequests: 1000, maxRetries: 3, idleTimeout: 15s, h2UpgradePolicy: UPGRADE}
`},
		{name: "bad connection pool", spec: `
host: a
trafficPolicy:
  connectionPool:
    tcp: {maxConnections: -1, connectTimeout: 0s, tcpKeepalive: {interval: 0.5ms}}
    http: {http1MaxPendingRequests: -1, maxConcurrentStreams: -2, h2UpgradePolicy: UPGRADE, useClientProtocol: true}
`, want: []string{"spec.trafficPolicy.connectionPool.tcp.maxConnections", "spec.trafficPolicy.connectionPool.tcp.connectTimeout",
			"spec.trafficPolicy.connectionPool.tcp.tcpKeepalive.interval", "spec.trafficPolicy.connectionPool.http.http1MaxPendingRequests",
			"spec.trafficPolicy.connectionPool.http.maxConcurrentStreams", "spec.trafficPolicy.connectionPool.http.useClientProtocol"}},
		{name: "empty connection pool", spec: "host: a\ntrafficPolicy: {connectionPool: {}}", want: []string{"spec.trafficPolicy.connectionPool"}},
		{name: "outlier detection", spec: "host: a\ntrafficPolicy: {outlierDetection: {consecutiveGatewayErrors: 5, interval: 10s, baseEjectionTime: 30s, maxEjectionPercent: 50, minHealthPercent: 10, outlierDetectionHttpErrorCodes: [503]}}"},
		{name: "bad outlier detection", spec: "host: a\ntrafficPolicy: {outlierDetection: {consecutiveErrors: -1, consecutiveLocalOriginFailures: 3, interval: 0s, baseEjectionTime: 0.0001s, maxEjectionPercent: 101, minHealthPercent: -1, outlierDetectionHttpErrorCodes: [99]}}",
			want: []string{"spec.trafficPolicy.outlierDetection.consecutiveErrors", "spec.trafficPolicy.outlierDetection.consecutiveLocalOriginFailures",
				"spec.trafficPolicy.outlierDetection.interval", "spec.trafficPolicy.outlierDetection.baseEjectionTime",
				"spec.trafficPolicy.outlierDetection.maxEjectionPercent", "spec.trafficPolicy.outlierDetection.minHealthPercent",
				"spec.trafficPolicy.outlierDetection.outlierDetectionHttpErrorCodes[0]"}},
	})
}

func TestDestinationRulePortsTLSTunnel(t *testing.T) {
	runCases(t, "DestinationRule", []vcase{
		{name: "port level settings", spec: "host: a\ntrafficPolicy: {portLevelSettings: [{port: {number: 80}, loadBalancer: {simple: RANDOM}}, {port: {number: 443}, tls: {mode: SIMPLE, sni: a.com}}]}"},
		{name: "bad port level settings", spec: "host: a\ntrafficPolicy: {portLevelSettings: [{loadBalancer: {simple: RANDOM}}, {port: {number: 80}}, {port: {number: 80}, tls: {mode: DISABLE}}, {port: {number: 70000}, connectionPool: {}}]}",
			want: []string{"spec.trafficPolicy.portLevelSettings[0].port", "spec.trafficPolicy.portLevelSettings[1]",
				"spec.trafficPolicy.portLevelSettings[2].port.number", "spec.trafficPolicy.portLevelSettings[3].port.number",
				"spec.trafficPolicy.portLevelSettings[3].connectionPool"}},
		{name: "tls modes", spec: "host: a\ntrafficPolicy: {portLevelSettings: [{port: {number: 1}, tls: {mode: ISTIO_MUTUAL, sni: x.mesh, subjectAltNames: [spiffe://a]}}, {port: {number: 2}, tls: {mode: MUTUAL, clientCertificate: /c, privateKey: /k, caCertificates: /ca}}, {port: {number: 3}, tls: {mode: MUTUAL, credentialName: cred}}]}"},
		{name: "istio mutual with files", spec: "host: a\ntrafficPolicy: {tls: {mode: ISTIO_MUTUAL, clientCertificate: /c, credentialName: x}}",
			want: []string{"spec.trafficPolicy.tls.clientCertificate", "spec.trafficPolicy.tls.credentialName"}},
		{name: "credential and files", spec: "host: a\ntrafficPolicy: {tls: {mode: SIMPLE, credentialName: x, caCertificates: /ca}}",
			want: []string{"spec.trafficPolicy.tls.caCertificates"}},
		{name: "insecure skip verify", spec: "host: a\ntrafficPolicy: {tls: {mode: SIMPLE, insecureSkipVerify: true, subjectAltNames: [a]}}",
			want: []string{"spec.trafficPolicy.tls.subjectAltNames"}},
		{name: "tunnel", spec: "host: a\ntrafficPolicy: {tunnel: {protocol: CONNECT, targetHost: 10.0.0.1, targetPort: 8443}}"},
		{name: "bad tunnel", spec: "host: a\ntrafficPolicy: {tunnel: {protocol: GET, targetPort: 0}, proxyProtocol: {version: V2}}",
			want: []string{"spec.trafficPolicy.proxyProtocol", "spec.trafficPolicy.tunnel.protocol",
				"spec.trafficPolicy.tunnel.targetHost", "spec.trafficPolicy.tunnel.targetPort"}},
		{name: "retry budget", spec: "host: a\ntrafficPolicy: {retryBudget: {percent: 150, budgetInterval: 0s}}",
			want: []string{"spec.trafficPolicy.retryBudget.percent", "spec.trafficPolicy.retryBudget.budgetInterval"}},
	})
}
