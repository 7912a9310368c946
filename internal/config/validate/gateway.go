package validate

import (
	"slices"
	"strings"

	networking "istio.io/api/networking/v1alpha3"
)

func validateGateway(c *checker, p path, gw *networking.Gateway) {
	if len(gw.GetServers()) == 0 {
		c.errorf(p.field("servers"), "at least one server is required")
	}
	names := map[string]path{}
	for i, s := range gw.GetServers() {
		sp := p.field("servers").index(i)
		checkServer(c, sp, s)
		name := s.GetPort().GetName()
		if s.GetPort() == nil || name == "" {
			continue
		}
		if prev, dup := names[name]; dup {
			c.errorf(sp.field("port").field("name"), "duplicate port name %q: port names must be unique across servers (also at %s)", name, prev)
		} else {
			names[name] = sp
		}
	}
	checkLabels(c, p.field("selector"), gw.GetSelector())
}

func checkServer(c *checker, p path, s *networking.Server) {
	if len(s.GetHosts()) == 0 {
		c.errorf(p.field("hosts"), "at least one host is required")
	}
	for i, h := range s.GetHosts() {
		checkNamespacedHost(c, p.field("hosts").index(i), h, true)
	}
	bind := s.GetBind()
	unix := strings.HasPrefix(bind, unixPrefix)
	switch {
	case unix:
		if msg := unixProblem(bind); msg != "" {
			c.errorf(p.field("bind"), "%s", msg)
		}
	case bind != "":
		checkIP(c, p.field("bind"), bind)
	}
	checkServerTLS(c, p.field("tls"), s.GetTls())
	port := s.GetPort()
	if port == nil {
		c.errorf(p.field("port"), "port is required")
		return
	}
	checkServerPort(c, p.field("port"), port, unix)
	checkServerProtocolTLS(c, p, port.GetProtocol(), s.GetTls())
}

func checkServerPort(c *checker, p path, port *networking.Port, unix bool) {
	switch {
	case unix && port.GetNumber() != 0:
		c.errorf(p.field("number"), "port number must be 0 when binding to a unix domain socket")
	case !unix:
		checkPort(c, p.field("number"), int64(port.GetNumber()))
	}
	checkProtocol(c, p.field("protocol"), port.GetProtocol(), true)
	if port.GetName() == "" {
		c.errorf(p.field("name"), "port name is required")
	}
	if port.GetTargetPort() != 0 {
		c.errorf(p.field("targetPort"), "targetPort has no effect on gateways; remove it")
	}
}

// checkServerProtocolTLS matches the server's TLS settings to its protocol:
// HTTPS and TLS servers need them; plain HTTP servers may only redirect.
func checkServerProtocolTLS(c *checker, p path, proto string, tls *networking.ServerTLSSettings) {
	switch {
	case isTLSProtocol(proto):
		if tls == nil {
			c.errorf(p.field("tls"), "tls settings are required for %s servers", strings.ToUpper(proto))
		}
	case tls == nil:
	case isHTTPProtocol(proto):
		if tls.GetMode() != networking.ServerTLSSettings_PASSTHROUGH || hasServerCredentials(tls) {
			c.errorf(p.field("tls"), "plain-text %s servers can only set tls.httpsRedirect", strings.ToUpper(proto))
		}
	case proto != "":
		c.errorf(p.field("tls"), "tls settings are only allowed on HTTPS and TLS servers (or httpsRedirect on HTTP)")
	}
	if tls.GetHttpsRedirect() && proto != "" && !isHTTPProtocol(proto) {
		c.errorf(p.field("tls").field("httpsRedirect"), "httpsRedirect only applies to HTTP servers")
	}
}

func hasServerCredentials(t *networking.ServerTLSSettings) bool {
	return t.GetServerCertificate() != "" || t.GetPrivateKey() != "" || t.GetCaCertificates() != "" ||
		t.GetCredentialName() != "" || len(t.GetCredentialNames()) > 0 || len(t.GetTlsCertificates()) > 0
}

// checkServerTLS applies the mode rules of server (downstream) TLS
// settings, on gateways and sidecar ingress listeners.
func checkServerTLS(c *checker, p path, t *networking.ServerTLSSettings) {
	if t == nil {
		return
	}
	files := []namedValue{
		{"serverCertificate", t.GetServerCertificate()}, {"privateKey", t.GetPrivateKey()},
		{"caCertificates", t.GetCaCertificates()},
	}
	credential := t.GetCredentialName() != "" || len(t.GetCredentialNames()) > 0
	switch mode := t.GetMode(); mode {
	case networking.ServerTLSSettings_ISTIO_MUTUAL, networking.ServerTLSSettings_PASSTHROUGH, networking.ServerTLSSettings_AUTO_PASSTHROUGH:
		why := "must be empty with mode " + mode.String()
		if mode == networking.ServerTLSSettings_ISTIO_MUTUAL {
			why += ", which uses Istio's certificates"
		} else {
			why += ", which does not terminate TLS"
		}
		mustBeEmpty(c, p, append(files, credentialFields(t)...), why)
	case networking.ServerTLSSettings_SIMPLE:
		if !credential && len(t.GetTlsCertificates()) == 0 {
			mustBeSet(c, p, files[:2], "is required with mode SIMPLE (or use credentialName)")
		}
		if t.GetCaCrl() != "" {
			c.errorf(p.field("caCrl"), "caCrl cannot be used with mode SIMPLE, which does not verify clients")
		}
	case networking.ServerTLSSettings_MUTUAL, networking.ServerTLSSettings_OPTIONAL_MUTUAL:
		checkMutualServerTLS(c, p, t, files, credential)
	}
	if t.GetCaCrl() != "" && credential {
		c.errorf(p.field("caCrl"), "caCrl cannot be combined with credentialName; put the CRL in the credential")
	}
	checkServerCredentials(c, p, t)
	checkTLSVersions(c, p, t)
	checkCipherSuites(c, p.field("cipherSuites"), t.GetCipherSuites())
}

func credentialFields(t *networking.ServerTLSSettings) []namedValue {
	out := []namedValue{{"credentialName", t.GetCredentialName()}, {"caCertCredentialName", t.GetCaCertCredentialName()}}
	if len(t.GetCredentialNames()) > 0 {
		out = append(out, namedValue{"credentialNames", "set"})
	}
	if len(t.GetTlsCertificates()) > 0 {
		out = append(out, namedValue{"tlsCertificates", "set"})
	}
	return out
}

func checkMutualServerTLS(c *checker, p path, t *networking.ServerTLSSettings, files []namedValue, credential bool) {
	if credential {
		return
	}
	if len(t.GetTlsCertificates()) == 0 {
		mustBeSet(c, p, files[:2], "is required with mode "+t.GetMode().String()+" (or use credentialName)")
	}
	if t.GetCaCertCredentialName() == "" {
		mustBeSet(c, p, files[2:], "is required with mode "+t.GetMode().String()+" to verify client certificates")
	}
}

// checkServerCredentials checks credentialName(s) and tlsCertificates:
// at most one of them, each well formed.
func checkServerCredentials(c *checker, p path, t *networking.ServerTLSSettings) {
	var set []string
	if t.GetCredentialName() != "" {
		set = append(set, "credentialName")
	}
	if len(t.GetCredentialNames()) > 0 {
		set = append(set, "credentialNames")
	}
	if len(t.GetTlsCertificates()) > 0 {
		set = append(set, "tlsCertificates")
	}
	if len(set) > 1 {
		c.errorf(p.field(set[1]), "%s cannot be combined with %s", set[1], set[0])
	}
	if n := len(t.GetCredentialNames()); n > 2 {
		c.errorf(p.field("credentialNames"), "at most 2 credential names (e.g. one RSA, one ECDSA), got %d", n)
	}
	checkNonEmptyStrings(c, p.field("credentialNames"), "credential name", t.GetCredentialNames())
	if n := len(t.GetTlsCertificates()); n > 2 {
		c.errorf(p.field("tlsCertificates"), "at most 2 certificates (e.g. one RSA, one ECDSA), got %d", n)
	}
	if len(t.GetTlsCertificates()) > 0 && (t.GetServerCertificate() != "" || t.GetPrivateKey() != "") {
		c.errorf(p.field("tlsCertificates"), "tlsCertificates cannot be combined with serverCertificate and privateKey")
	}
	for i, tc := range t.GetTlsCertificates() {
		mustBeSet(c, p.field("tlsCertificates").index(i), []namedValue{
			{"serverCertificate", tc.GetServerCertificate()}, {"privateKey", tc.GetPrivateKey()},
		}, "is required")
	}
}

func checkTLSVersions(c *checker, p path, t *networking.ServerTLSSettings) {
	lo, hi := t.GetMinProtocolVersion(), t.GetMaxProtocolVersion()
	if lo != networking.ServerTLSSettings_TLS_AUTO && hi != networking.ServerTLSSettings_TLS_AUTO && lo > hi {
		c.errorf(p.field("maxProtocolVersion"), "maxProtocolVersion %s is below minProtocolVersion %s", hi, lo)
	}
}

// cipherSuites are the names Envoy (BoringSSL) accepts in cipherSuites.
var cipherSuites = []string{
	"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
	"ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
	"ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES256-SHA",
	"AES128-GCM-SHA256", "AES256-GCM-SHA384", "AES128-SHA", "AES256-SHA", "DES-CBC3-SHA",
}

func checkCipherSuites(c *checker, p path, suites []string) {
	seen := map[string]int{}
	for i, s := range suites {
		sp := p.index(i)
		if j, dup := seen[s]; dup {
			c.errorf(sp, "duplicate cipher suite %q (also at %s)", s, p.index(j))
			continue
		}
		seen[s] = i
		// BoringSSL expressions ("[A|B]", "-X", "!X", "ALL") are left to Envoy.
		if s == "ALL" || (s != "" && !isAlnum(s[0])) {
			continue
		}
		if !slices.Contains(cipherSuites, s) {
			c.errorf(sp, "unknown cipher suite %q: use a name Envoy supports, such as ECDHE-RSA-AES128-GCM-SHA256", s)
		}
	}
}

func isAlnum(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}
