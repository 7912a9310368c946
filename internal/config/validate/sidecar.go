package validate

import (
	"net"
	"slices"
	"strconv"
	"strings"

	networking "istio.io/api/networking/v1alpha3"
)

func validateSidecar(c *checker, p path, sc *networking.Sidecar) {
	if sel := sc.GetWorkloadSelector(); sel != nil {
		checkSelectorLabels(c, p.field("workloadSelector").field("labels"), sel.GetLabels())
	}
	if len(sc.GetIngress()) == 0 && len(sc.GetEgress()) == 0 && sc.GetOutboundTrafficPolicy() == nil && sc.GetInboundConnectionPool() == nil {
		c.errorf(p, "a Sidecar must set at least one of ingress, egress, outboundTrafficPolicy or inboundConnectionPool")
	}
	ports := map[uint32]path{}
	for i, in := range sc.GetIngress() {
		checkIngressListener(c, p.field("ingress").index(i), in, ports)
	}
	checkConnectionPool(c, p.field("inboundConnectionPool"), sc.GetInboundConnectionPool())
	checkEgressListeners(c, p.field("egress"), sc.GetEgress())
	checkOutboundTrafficPolicy(c, p.field("outboundTrafficPolicy"), sc.GetOutboundTrafficPolicy())
}

func checkIngressListener(c *checker, p path, in *networking.IstioIngressListener, ports map[uint32]path) {
	port := in.GetPort()
	if port == nil {
		c.errorf(p.field("port"), "port is required")
	} else {
		pp := p.field("port")
		checkPort(c, pp.field("number"), int64(port.GetNumber()))
		checkSidecarPort(c, pp, port)
		if prev, dup := ports[port.GetNumber()]; dup {
			c.errorf(pp.field("number"), "duplicate ingress port %d (also at %s)", port.GetNumber(), prev)
		} else {
			ports[port.GetNumber()] = p
		}
	}
	switch bind := in.GetBind(); {
	case strings.HasPrefix(bind, unixPrefix):
		c.errorf(p.field("bind"), "ingress listeners cannot bind to unix domain sockets")
	case bind != "":
		checkIP(c, p.field("bind"), bind)
	}
	if ep := in.GetDefaultEndpoint(); ep != "" {
		checkDefaultEndpoint(c, p.field("defaultEndpoint"), ep)
	}
	if t := in.GetTls(); t != nil {
		checkIngressTLS(c, p.field("tls"), t)
	}
	checkConnectionPool(c, p.field("connectionPool"), in.GetConnectionPool())
}

// checkSidecarPort checks the optional name and protocol and the
// deprecated targetPort of a listener port.
func checkSidecarPort(c *checker, p path, port *networking.SidecarPort) {
	checkPortName(c, p.field("name"), port.GetName(), false)
	checkProtocol(c, p.field("protocol"), port.GetProtocol(), false)
	if port.GetTargetPort() != 0 {
		c.errorf(p.field("targetPort"), "targetPort has no effect on Sidecars; remove it")
	}
}

// defaultEndpointHosts are the hosts a defaultEndpoint may forward to.
var defaultEndpointHosts = []string{"127.0.0.1", "0.0.0.0", "::1", "::"}

func checkDefaultEndpoint(c *checker, p path, ep string) {
	if strings.HasPrefix(ep, unixPrefix) {
		if msg := unixProblem(ep); msg != "" {
			c.errorf(p, "%s", msg)
		}
		return
	}
	host, port, err := net.SplitHostPort(ep)
	if err != nil || (host != "" && !slices.Contains(defaultEndpointHosts, host)) {
		c.errorf(p, "invalid defaultEndpoint %q: use 127.0.0.1:PORT, 0.0.0.0:PORT, [::1]:PORT, [::]:PORT or unix:///path", ep)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		c.errorf(p, "invalid defaultEndpoint %q: port must be a number between 1 and 65535", ep)
	}
}

// checkIngressTLS checks TLS termination on a sidecar ingress listener,
// which supports a subset of the gateway settings.
func checkIngressTLS(c *checker, p path, t *networking.ServerTLSSettings) {
	if len(t.GetSubjectAltNames()) > 0 {
		c.errorf(p.field("subjectAltNames"), "subjectAltNames is not supported on sidecar ingress listeners")
	}
	if t.GetHttpsRedirect() {
		c.errorf(p.field("httpsRedirect"), "httpsRedirect is not supported on sidecar ingress listeners")
	}
	if t.GetCredentialName() != "" {
		c.errorf(p.field("credentialName"), "credentialName is not supported on sidecar ingress listeners; use certificate files")
	}
	switch m := t.GetMode(); m {
	case networking.ServerTLSSettings_ISTIO_MUTUAL, networking.ServerTLSSettings_AUTO_PASSTHROUGH:
		c.errorf(p.field("mode"), "mode %s cannot be used on sidecar ingress listeners", m)
		return
	}
	checkServerTLS(c, p, t)
}

func checkEgressListeners(c *checker, p path, egress []*networking.IstioEgressListener) {
	ports := map[uint32]path{}
	sockets := map[string]path{}
	for i, e := range egress {
		ep := p.index(i)
		if e.GetPort() == nil {
			if i != len(egress)-1 {
				c.errorf(ep.field("port"), "only the last egress listener may omit port (the catch-all listener)")
			}
			if e.GetBind() != "" {
				c.errorf(ep.field("bind"), "bind requires a port")
			}
		} else {
			checkEgressPortBind(c, ep, e, ports, sockets)
		}
		if len(e.GetHosts()) == 0 {
			c.errorf(ep.field("hosts"), "at least one host is required")
		}
		for j, h := range e.GetHosts() {
			checkNamespacedHost(c, ep.field("hosts").index(j), h, false)
		}
	}
}

func checkEgressPortBind(c *checker, p path, e *networking.IstioEgressListener, ports map[uint32]path, sockets map[string]path) {
	port, bind := e.GetPort(), e.GetBind()
	pp := p.field("port")
	checkSidecarPort(c, pp, port)
	if port.GetNumber() == 0 {
		if !strings.HasPrefix(bind, unixPrefix) {
			c.errorf(pp.field("number"), "port 0 is only for listeners bound to a unix domain socket (bind: unix://...)")
			return
		}
		if msg := unixProblem(bind); msg != "" {
			c.errorf(p.field("bind"), "%s", msg)
		}
		if m := e.GetCaptureMode(); m != networking.CaptureMode_DEFAULT && m != networking.CaptureMode_NONE {
			c.errorf(p.field("captureMode"), "captureMode must be DEFAULT or NONE for unix domain socket listeners")
		}
		if prev, dup := sockets[bind]; dup {
			c.errorf(p.field("bind"), "duplicate unix domain socket %q (also at %s)", bind, prev)
		}
		sockets[bind] = p
		return
	}
	checkPort(c, pp.field("number"), int64(port.GetNumber()))
	if bind != "" {
		checkIP(c, p.field("bind"), bind)
	}
	if prev, dup := ports[port.GetNumber()]; dup {
		c.errorf(pp.field("number"), "duplicate egress port %d (also at %s)", port.GetNumber(), prev)
	}
	ports[port.GetNumber()] = p
}

func checkOutboundTrafficPolicy(c *checker, p path, tp *networking.OutboundTrafficPolicy) {
	proxy := tp.GetEgressProxy()
	if proxy == nil {
		return
	}
	pp := p.field("egressProxy")
	if tp.GetMode() != networking.OutboundTrafficPolicy_ALLOW_ANY {
		c.errorf(pp, "egressProxy can only be used with mode ALLOW_ANY")
		return
	}
	if proxy.GetHost() == "" {
		c.errorf(pp.field("host"), "host is required")
	} else {
		checkHost(c, pp.field("host"), proxy.GetHost(), 0)
	}
	if proxy.GetPort() == nil {
		c.errorf(pp.field("port"), "port is required")
	} else {
		checkPort(c, pp.field("port").field("number"), int64(proxy.GetPort().GetNumber()))
	}
	if s := proxy.GetSubset(); s != "" && !isDNSLabel(s) {
		c.errorf(pp.field("subset"), "invalid subset name %q: must be a lowercase RFC 1123 label", s)
	}
}
