package validate

import "testing"

func TestPeerAuthentication(t *testing.T) {
	runCases(t, "PeerAuthentication", []vcase{
		{name: "namespace permissive", spec: "mtls: {mode: PERMISSIVE}"},
		{name: "port level", spec: "selector: {matchLabels: {app: db}}\nmtls: {mode: STRICT}\nportLevelMtls: {5432: {mode: DISABLE}}"},
		{name: "port level without selector", spec: "mtls: {mode: STRICT}\nportLevelMtls: {8080: {mode: DISABLE}}",
			want: []string{"spec.portLevelMtls"}},
		{name: "port out of range", spec: "selector: {matchLabels: {app: a}}\nportLevelMtls: {0: {mode: DISABLE}, 70000: {mode: STRICT}}",
			want: []string{"spec.portLevelMtls[0]", "spec.portLevelMtls[70000]"}},
		{name: "selector wildcard", spec: "selector: {matchLabels: {app: 'a*'}}", want: []string{"spec.selector.matchLabels[app]"}},
	})
}

func TestAuthorizationPolicy(t *testing.T) {
	runCases(t, "AuthorizationPolicy", []vcase{
		{name: "allow nothing", spec: "{}"},
		{name: "deny with rules", spec: `
action: DENY
rules:
- from: [{source: {notNamespaces: [foo], remoteIpBlocks: [203.0.113.0/24]}}]
  to: [{operation: {ports: ["8080"], notPaths: ["/healthz", "/api/{**}"]}}]
  when:
  - {key: "request.auth.claims[groups]", values: [admin]}
  - {key: destination.port, notValues: ["9090"]}
  - {key: "request.headers[x-token]", values: [abc]}
  - {key: "experimental.envoy.filters.network.mysql_proxy[db.table]", values: [select]}
`},
		{name: "deny without rules", spec: "action: DENY", want: []string{"spec.rules"}},
		{name: "custom", spec: "action: CUSTOM\nprovider: {name: ext-authz}\nrules: [{to: [{operation: {paths: [/admin]}}]}]"},
		{name: "custom without provider", spec: "action: CUSTOM\nrules: [{}]", want: []string{"spec.provider.name"}},
		{name: "provider without custom", spec: "provider: {name: x}", want: []string{"spec.provider"}},
		{name: "custom with identities", spec: "action: CUSTOM\nprovider: {name: x}\nrules: [{from: [{source: {principals: [a]}}], when: [{key: request.auth.principal, values: [b]}]}]",
			want: []string{"spec.rules[0].from[0].source.principals", "spec.rules[0].when[0].key"}},
		{name: "empty source and operation", spec: "rules: [{from: [{source: {}}, {}], to: [{operation: {}}]}]",
			want: []string{"spec.rules[0].from[0].source", "spec.rules[0].from[1].source", "spec.rules[0].to[0].operation"}},
		{name: "bad values", spec: `
rules:
- from: [{source: {principals: [""], ipBlocks: [10.0.0.0/40, 1.2.3.4], serviceAccounts: ["ns/sa", "a/b/c"], namespaces: [x]}}]
  to: [{operation: {ports: ["http", "70000"], methods: [""], paths: ["/a/{*}/b", "/{**}/x/{*}", "/a/{*}.txt", "/x/*/{*}"]}}]
`, want: []string{"spec.rules[0].from[0].source.principals[0]", "spec.rules[0].from[0].source.ipBlocks[0]",
			"spec.rules[0].from[0].source.serviceAccounts[1]", "spec.rules[0].from[0].source",
			"spec.rules[0].to[0].operation.ports[0]", "spec.rules[0].to[0].operation.ports[1]",
			"spec.rules[0].to[0].operation.methods[0]", "spec.rules[0].to[0].operation.paths[1]",
			"spec.rules[0].to[0].operation.paths[2]", "spec.rules[0].to[0].operation.paths[3]"}},
		{name: "bad conditions", spec: `
rules:
- when:
  - {key: "", values: [a]}
  - {key: source.ip, values: [nope]}
  - {key: request.headers, values: [a]}
  - {key: "destination.labels[app]", values: [a]}
  - {key: source.user, values: [a]}
  - {key: source.namespace}
  - {key: destination.port, values: ["80", ""]}
`, want: []string{"spec.rules[0].when[0].key", "spec.rules[0].when[1].values[0]", "spec.rules[0].when[2].key",
			"spec.rules[0].when[3].key", "spec.rules[0].when[4].key", "spec.rules[0].when[5]", "spec.rules[0].when[6].values[1]"}},
		{name: "target refs", spec: "targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: gw}, {kind: Service, name: svc}]"},
		{name: "bad target refs", spec: "selector: {matchLabels: {app: a}}\ntargetRef: {kind: Pod, name: '', namespace: other}",
			want: []string{"spec.targetRef", "spec.targetRef.kind", "spec.targetRef.name", "spec.targetRef.namespace"}},
	})
}

func TestRequestAuthentication(t *testing.T) {
	runCases(t, "RequestAuthentication", []vcase{
		{name: "jwt", spec: `
selector: {matchLabels: {app: api}}
jwtRules:
- issuer: https://accounts.example.com
  audiences: [api.example.com]
  jwksUri: https://accounts.example.com:8443/keys.json
  fromHeaders: [{name: x-jwt, prefix: "Bearer "}]
  fromParams: [token]
  outputPayloadToHeader: x-jwt-payload
  outputClaimToHeaders: [{header: x-group, claim: group}]
  timeout: 5s
- issuer: testing@secure.istio.io
  jwks: '{"keys": [{"kty": "RSA", "e": "AQAB", "n": "xyz"}]}'
`},
		{name: "bad rules", spec: `
jwtRules:
- audiences: [""]
  jwksUri: ftp://keys
  jwks: 'nope'
  fromHeaders: [{name: ""}]
  fromCookies: [""]
  outputPayloadToHeader: "bad header"
  outputClaimToHeaders: [{header: x-a, claim: a}, {header: x-a}]
  timeout: 0s
`, want: []string{"spec.jwtRules[0].issuer", "spec.jwtRules[0].audiences[0]", "spec.jwtRules[0].jwksUri",
			"spec.jwtRules[0].jwks", "spec.jwtRules[0].jwks", "spec.jwtRules[0].fromHeaders[0].name",
			"spec.jwtRules[0].fromCookies[0]", "spec.jwtRules[0].outputPayloadToHeader",
			"spec.jwtRules[0].outputClaimToHeaders[1].claim", "spec.jwtRules[0].outputClaimToHeaders[1].header",
			"spec.jwtRules[0].timeout"}},
		{name: "uri without host", spec: "jwtRules: [{issuer: a, jwksUri: 'https:///keys'}]", want: []string{"spec.jwtRules[0].jwksUri"}},
	})
}
