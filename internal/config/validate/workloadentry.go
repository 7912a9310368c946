package validate

import (
	"strings"

	networking "istio.io/api/networking/v1alpha3"
)

// entryRules say where a WorkloadEntry-shaped message is used.
type entryRules struct {
	// ports are the ServiceEntry's port names the entry's ports must use;
	// nil outside a ServiceEntry.
	ports map[string]bool
	// requireAddress: an address (or a network) is needed.
	requireAddress bool
	// static: the address must be an IP or unix socket (resolution STATIC).
	static bool
	// dns: the address is resolved by DNS, so unix sockets are out.
	dns bool
	// template: a WorkloadGroup template, whose address is filled in later.
	template bool
}

func validateWorkloadEntry(c *checker, p path, we *networking.WorkloadEntry) {
	checkEndpoint(c, p, we, entryRules{requireAddress: true})
}

func validateWorkloadGroup(c *checker, p path, wg *networking.WorkloadGroup) {
	if wg.GetTemplate() == nil {
		c.errorf(p.field("template"), "template is required")
	} else {
		checkEndpoint(c, p.field("template"), wg.GetTemplate(), entryRules{template: true})
	}
	if md := wg.GetMetadata(); md != nil {
		checkLabels(c, p.field("metadata").field("labels"), md.GetLabels())
		for _, k := range sortedKeys(md.GetAnnotations()) {
			if msg := labelKeyProblem(k); msg != "" {
				c.errorf(p.field("metadata").field("annotations").key(k), "%s", strings.Replace(msg, "label key", "annotation key", 1))
			}
		}
	}
	if wg.GetProbe() != nil {
		checkProbe(c, p.field("probe"), wg.GetProbe())
	}
}

// maxAddressLen is the longest WorkloadEntry address Istio accepts.
const maxAddressLen = 256

// checkEndpoint checks a WorkloadEntry, on its own, as a ServiceEntry
// endpoint or as a WorkloadGroup template.
func checkEndpoint(c *checker, p path, we *networking.WorkloadEntry, rules entryRules) {
	checkEntryAddress(c, p, we, rules)
	unix := strings.HasPrefix(we.GetAddress(), unixPrefix)
	for _, name := range sortedKeys(we.GetPorts()) {
		pp := p.field("ports").key(name)
		checkPortName(c, pp, name, true)
		checkPort(c, pp, int64(we.GetPorts()[name]))
		if rules.ports != nil && !rules.ports[name] {
			c.errorf(pp, "port %q is not one of the ServiceEntry's port names", name)
		}
	}
	if unix && len(we.GetPorts()) > 0 {
		c.errorf(p.field("ports"), "a unix domain socket endpoint cannot have ports")
	}
	if unix && rules.ports != nil && len(rules.ports) != 1 {
		c.errorf(p.field("address"), "a unix domain socket endpoint needs a ServiceEntry with exactly one port")
	}
	checkLabels(c, p.field("labels"), we.GetLabels())
	if l := we.GetLocality(); l != "" {
		if msg := localityProblem(l, false); msg != "" {
			c.errorf(p.field("locality"), "%s", msg)
		}
	}
	if sa := we.GetServiceAccount(); sa != "" && !isDNSSubdomain(sa) {
		c.errorf(p.field("serviceAccount"), "invalid service account %q: must be a lowercase RFC 1123 subdomain", sa)
	}
	if len(we.GetNetwork()) > 2048 {
		c.errorf(p.field("network"), "network name is longer than 2048 characters")
	}
}

func checkEntryAddress(c *checker, p path, we *networking.WorkloadEntry, rules entryRules) {
	ap := p.field("address")
	addr := we.GetAddress()
	switch {
	case rules.template:
		if addr != "" {
			c.errorf(ap, "address must be empty in a WorkloadGroup template; it is set per workload")
		}
	case addr == "":
		if rules.requireAddress && we.GetNetwork() == "" {
			c.errorf(ap, "address is required (or a network, for a workload reached through its network gateway)")
		}
	case len(addr) > maxAddressLen:
		c.errorf(ap, "address is longer than %d characters", maxAddressLen)
	case strings.HasPrefix(addr, unixPrefix):
		if msg := unixProblem(addr); msg != "" {
			c.errorf(ap, "%s", msg)
		} else if rules.dns {
			c.errorf(ap, "unix domain socket addresses cannot be used with DNS resolution")
		}
	case isIP(addr):
	case rules.static:
		c.errorf(ap, "invalid address %q: with resolution STATIC it must be an IP address or unix:// socket", addr)
	default:
		if hostProblem(addr, 0) != "" {
			c.errorf(ap, "invalid address %q: expected an IP address, a hostname or a unix:// socket", addr)
		}
	}
}

func checkProbe(c *checker, p path, pr *networking.ReadinessProbe) {
	for _, f := range []struct {
		name string
		v    int32
	}{
		{"initialDelaySeconds", pr.GetInitialDelaySeconds()}, {"timeoutSeconds", pr.GetTimeoutSeconds()},
		{"periodSeconds", pr.GetPeriodSeconds()}, {"successThreshold", pr.GetSuccessThreshold()},
		{"failureThreshold", pr.GetFailureThreshold()},
	} {
		checkNonNegative(c, p.field(f.name), int64(f.v))
	}
	switch m := pr.GetHealthCheckMethod().(type) {
	case nil:
		c.errorf(p, "one of httpGet, tcpSocket, exec or grpc is required")
	case *networking.ReadinessProbe_HttpGet:
		hp := p.field("httpGet")
		checkPort(c, hp.field("port"), int64(m.HttpGet.GetPort()))
		if s := m.HttpGet.GetScheme(); s != "" && s != "HTTP" && s != "HTTPS" {
			c.errorf(hp.field("scheme"), "scheme must be HTTP or HTTPS, got %q", s)
		}
		for i, h := range m.HttpGet.GetHttpHeaders() {
			checkHeaderName(c, hp.field("httpHeaders").index(i).field("name"), h.GetName())
		}
	case *networking.ReadinessProbe_TcpSocket:
		checkPort(c, p.field("tcpSocket").field("port"), int64(m.TcpSocket.GetPort()))
	case *networking.ReadinessProbe_Exec:
		if len(m.Exec.GetCommand()) == 0 {
			c.errorf(p.field("exec").field("command"), "command is required")
		}
		checkNonEmptyStrings(c, p.field("exec").field("command"), "command argument", m.Exec.GetCommand())
	case *networking.ReadinessProbe_Grpc:
		checkPort(c, p.field("grpc").field("port"), int64(m.Grpc.GetPort()))
	}
}
