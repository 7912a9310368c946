package validate

import (
	"strings"

	networking "istio.io/api/networking/v1alpha3"
)

func validateServiceEntry(c *checker, p path, se *networking.ServiceEntry) {
	checkServiceEntryHosts(c, p.field("hosts"), se.GetHosts())
	res := se.GetResolution()
	for i, a := range se.GetAddresses() {
		ap := p.field("addresses").index(i)
		checkIPOrCIDR(c, ap, a)
		if strings.Contains(a, "/") && res != networking.ServiceEntry_NONE && res != networking.ServiceEntry_STATIC {
			c.errorf(ap, "a CIDR address is only allowed with resolution NONE or STATIC, not %s", res)
		}
	}
	ports := checkServicePorts(c, p.field("ports"), se.GetPorts())
	if sel := se.GetWorkloadSelector(); sel != nil {
		checkSelectorLabels(c, p.field("workloadSelector").field("labels"), sel.GetLabels())
		if len(se.GetEndpoints()) > 0 {
			c.errorf(p.field("workloadSelector"), "workloadSelector and endpoints cannot be used together")
		}
	}
	checkResolution(c, p, se, ports)
	checkMultiHostPorts(c, p, se)
	checkExportTo(c, p.field("exportTo"), c.namespace, se.GetExportTo(), true)
	checkNonEmptyStrings(c, p.field("subjectAltNames"), "subject alt name", se.GetSubjectAltNames())
}

func checkServiceEntryHosts(c *checker, p path, hosts []string) {
	if len(hosts) == 0 {
		c.errorf(p, "at least one host is required")
	}
	for i, h := range hosts {
		if h == "*" {
			c.errorf(p.index(i), "host \"*\" is not allowed in a ServiceEntry; use a domain such as *.example.com")
			continue
		}
		checkHost(c, p.index(i), h, wildcardHost)
	}
}

// checkServicePorts checks the ports and returns their names.
func checkServicePorts(c *checker, p path, ports []*networking.ServicePort) map[string]bool {
	names := map[string]bool{}
	byName := map[string]path{}
	byNumber := map[uint32]path{}
	for i, port := range ports {
		pp := p.index(i)
		checkPort(c, pp.field("number"), int64(port.GetNumber()))
		if prev, dup := byNumber[port.GetNumber()]; dup && port.GetNumber() != 0 {
			c.errorf(pp.field("number"), "duplicate port %d (also at %s)", port.GetNumber(), prev)
		}
		byNumber[port.GetNumber()] = pp
		checkPortName(c, pp.field("name"), port.GetName(), true)
		if prev, dup := byName[port.GetName()]; dup && port.GetName() != "" {
			c.errorf(pp.field("name"), "duplicate port name %q (also at %s)", port.GetName(), prev)
		}
		byName[port.GetName()] = pp
		names[port.GetName()] = true
		checkProtocol(c, pp.field("protocol"), port.GetProtocol(), false)
		if port.GetTargetPort() != 0 {
			checkPort(c, pp.field("targetPort"), int64(port.GetTargetPort()))
		}
	}
	return names
}

// checkResolution applies the rules of each resolution mode.
func checkResolution(c *checker, p path, se *networking.ServiceEntry, ports map[string]bool) {
	eps := se.GetEndpoints()
	ep := p.field("endpoints")
	switch res := se.GetResolution(); res {
	case networking.ServiceEntry_NONE:
		if len(eps) > 0 {
			c.errorf(ep, "endpoints cannot be used with resolution NONE")
		}
	case networking.ServiceEntry_STATIC:
		if len(eps) == 0 && se.GetWorkloadSelector() == nil {
			c.errorf(ep, "resolution STATIC needs endpoints or a workloadSelector")
		}
		for i, e := range eps {
			checkEndpoint(c, ep.index(i), e, entryRules{ports: ports, requireAddress: true, static: true})
		}
	case networking.ServiceEntry_DNS, networking.ServiceEntry_DNS_ROUND_ROBIN:
		if len(eps) == 0 {
			requireNoWildcards(c, p.field("hosts"), se.GetHosts(), "with resolution "+res.String()+" and no endpoints, hosts are resolved by DNS and cannot be wildcards")
		}
		if res == networking.ServiceEntry_DNS_ROUND_ROBIN && len(eps) > 1 {
			c.errorf(ep, "resolution DNS_ROUND_ROBIN allows at most one endpoint, got %d", len(eps))
		}
		for i, e := range eps {
			checkEndpoint(c, ep.index(i), e, entryRules{ports: ports, requireAddress: true, dns: true})
		}
	case networking.ServiceEntry_DYNAMIC_DNS:
		if len(eps) > 0 {
			c.errorf(ep, "endpoints cannot be used with resolution DYNAMIC_DNS, which resolves the requested host")
		}
		for i, h := range se.GetHosts() {
			if !strings.HasPrefix(h, "*.") {
				c.errorf(p.field("hosts").index(i), "resolution DYNAMIC_DNS needs wildcard hosts such as *.example.com, got %q", h)
			}
		}
	}
}

func requireNoWildcards(c *checker, p path, hosts []string, why string) {
	for i, h := range hosts {
		if strings.Contains(h, "*") {
			c.errorf(p.index(i), "%s", why)
		}
	}
}

// checkMultiHostPorts rejects plain TCP ports on a ServiceEntry with several
// hosts, which cannot be told apart without a Host header or SNI.
func checkMultiHostPorts(c *checker, p path, se *networking.ServiceEntry) {
	if se.GetResolution() == networking.ServiceEntry_NONE || len(se.GetHosts()) < 2 {
		return
	}
	for i, port := range se.GetPorts() {
		if proto := port.GetProtocol(); !isHTTPProtocol(proto) && !isTLSProtocol(proto) {
			if proto == "" {
				proto = "unset"
			}
			c.errorf(p.field("ports").index(i).field("protocol"),
				"with several hosts and resolution %s every port must be HTTP or TLS based (the hosts cannot be told apart otherwise), got %s",
				se.GetResolution(), proto)
		}
	}
}
