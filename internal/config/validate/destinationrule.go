package validate

import (
	"math"
	"slices"
	"strings"

	networking "istio.io/api/networking/v1alpha3"
)

func validateDestinationRule(c *checker, p path, dr *networking.DestinationRule) {
	if dr.GetHost() == "" {
		c.errorf(p.field("host"), "host is required")
	} else {
		checkHost(c, p.field("host"), dr.GetHost(), wildcardHost|starHost)
	}
	checkTrafficPolicy(c, p.field("trafficPolicy"), dr.GetTrafficPolicy())
	checkSubsets(c, p.field("subsets"), dr.GetSubsets())
	exported := checkExportTo(c, p.field("exportTo"), c.namespace, dr.GetExportTo(), false)
	if sel := dr.GetWorkloadSelector(); sel != nil {
		checkSelectorLabels(c, p.field("workloadSelector").field("matchLabels"), sel.GetMatchLabels())
		for e := range exported {
			if e != c.namespace {
				c.errorf(p.field("exportTo"), "a DestinationRule with a workloadSelector can only be exported to its own namespace")
				break
			}
		}
	}
}

func checkSubsets(c *checker, p path, subsets []*networking.Subset) {
	seen := map[string]path{}
	for i, s := range subsets {
		sp := p.index(i)
		switch name := s.GetName(); {
		case name == "":
			c.errorf(sp.field("name"), "subset name is required")
		case !isDNSLabel(name):
			c.errorf(sp.field("name"), "invalid subset name %q: must be a lowercase RFC 1123 label", name)
		default:
			if prev, dup := seen[name]; dup {
				c.errorf(sp.field("name"), "duplicate subset name %q (also at %s)", name, prev)
			} else {
				seen[name] = sp
			}
		}
		checkLabels(c, sp.field("labels"), s.GetLabels())
		checkTrafficPolicy(c, sp.field("trafficPolicy"), s.GetTrafficPolicy())
	}
}

func checkTrafficPolicy(c *checker, p path, tp *networking.TrafficPolicy) {
	if tp == nil {
		return
	}
	if isEmpty(tp) {
		c.errorf(p, "trafficPolicy must set at least one field")
		return
	}
	if tp.GetTunnel() != nil && tp.GetProxyProtocol() != nil {
		c.errorf(p.field("proxyProtocol"), "tunnel and proxyProtocol cannot be used together")
	}
	checkLoadBalancer(c, p.field("loadBalancer"), tp.GetLoadBalancer())
	checkConnectionPool(c, p.field("connectionPool"), tp.GetConnectionPool())
	checkOutlierDetection(c, p.field("outlierDetection"), tp.GetOutlierDetection())
	checkClientTLS(c, p.field("tls"), tp.GetTls())
	checkPortLevelSettings(c, p.field("portLevelSettings"), tp.GetPortLevelSettings())
	checkTunnel(c, p.field("tunnel"), tp.GetTunnel())
	if rb := tp.GetRetryBudget(); rb != nil {
		if rb.GetPercent() != nil {
			checkPercent(c, p.field("retryBudget").field("percent"), rb.GetPercent().GetValue())
		}
		checkDuration(c, p.field("retryBudget").field("budgetInterval"), rb.GetBudgetInterval())
	}
}

func checkPortLevelSettings(c *checker, p path, pls []*networking.TrafficPolicy_PortTrafficPolicy) {
	seen := map[uint32]path{}
	for i, s := range pls {
		sp := p.index(i)
		if s.GetPort() == nil {
			c.errorf(sp.field("port"), "port is required")
		} else {
			n := s.GetPort().GetNumber()
			checkPort(c, sp.field("port").field("number"), int64(n))
			if prev, dup := seen[n]; dup {
				c.errorf(sp.field("port").field("number"), "duplicate port %d (also at %s)", n, prev)
			}
			seen[n] = sp
		}
		if s.GetLoadBalancer() == nil && s.GetConnectionPool() == nil && s.GetOutlierDetection() == nil && s.GetTls() == nil {
			c.errorf(sp, "port traffic policy must set loadBalancer, connectionPool, outlierDetection or tls")
			continue
		}
		checkLoadBalancer(c, sp.field("loadBalancer"), s.GetLoadBalancer())
		checkConnectionPool(c, sp.field("connectionPool"), s.GetConnectionPool())
		checkOutlierDetection(c, sp.field("outlierDetection"), s.GetOutlierDetection())
		checkClientTLS(c, sp.field("tls"), s.GetTls())
	}
}

func checkTunnel(c *checker, p path, t *networking.TrafficPolicy_TunnelSettings) {
	if t == nil {
		return
	}
	if pr := t.GetProtocol(); pr != "" && pr != "CONNECT" && pr != "POST" {
		c.errorf(p.field("protocol"), "tunnel protocol must be CONNECT or POST, got %q", pr)
	}
	if h := t.GetTargetHost(); h == "" {
		c.errorf(p.field("targetHost"), "targetHost is required")
	} else {
		checkHost(c, p.field("targetHost"), h, ipHost)
	}
	checkPort(c, p.field("targetPort"), int64(t.GetTargetPort()))
}

func checkLoadBalancer(c *checker, p path, lb *networking.LoadBalancerSettings) {
	if lb == nil {
		return
	}
	if ch := lb.GetConsistentHash(); ch != nil {
		checkConsistentHash(c, p.field("consistentHash"), ch)
	}
	checkLocalityLB(c, p.field("localityLbSetting"), lb.GetLocalityLbSetting())
	checkDuration(c, p.field("warmupDurationSecs"), lb.GetWarmupDurationSecs())
	w := lb.GetWarmup()
	if w == nil {
		return
	}
	wp := p.field("warmup")
	if lb.GetWarmupDurationSecs() != nil {
		c.errorf(wp, "warmup and warmupDurationSecs cannot be used together")
	}
	if w.GetDuration() == nil {
		c.errorf(wp.field("duration"), "duration is required")
	}
	checkDuration(c, wp.field("duration"), w.GetDuration())
	if w.GetMinimumPercent() != nil {
		checkPercent(c, wp.field("minimumPercent"), w.GetMinimumPercent().GetValue())
	}
	if a := w.GetAggression(); a != nil && a.GetValue() < 1 {
		c.errorf(wp.field("aggression"), "aggression must be at least 1, got %g", a.GetValue())
	}
}

// Envoy's limits on consistent hash tables.
const (
	maxMaglevTableSize = 5000011
	maxRingSize        = 8388608
)

func checkConsistentHash(c *checker, p path, ch *networking.LoadBalancerSettings_ConsistentHashLB) {
	switch ch.GetHashKey().(type) {
	case nil:
		c.errorf(p, "one of httpHeaderName, httpCookie, useSourceIp or httpQueryParameterName is required")
	case *networking.LoadBalancerSettings_ConsistentHashLB_HttpHeaderName:
		checkHeaderName(c, p.field("httpHeaderName"), ch.GetHttpHeaderName())
	case *networking.LoadBalancerSettings_ConsistentHashLB_HttpQueryParameterName:
		if ch.GetHttpQueryParameterName() == "" {
			c.errorf(p.field("httpQueryParameterName"), "query parameter name must not be empty")
		}
	case *networking.LoadBalancerSettings_ConsistentHashLB_HttpCookie:
		checkHashCookie(c, p.field("httpCookie"), ch.GetHttpCookie())
	}
	if ch.GetMinimumRingSize() != 0 && ch.GetHashAlgorithm() != nil {
		c.errorf(p.field("minimumRingSize"), "minimumRingSize (deprecated) cannot be used with ringHash or maglev; use ringHash.minimumRingSize")
	}
	if ch.GetMinimumRingSize() > maxRingSize {
		c.errorf(p.field("minimumRingSize"), "minimumRingSize must be at most %d", maxRingSize)
	}
	if rh := ch.GetRingHash(); rh.GetMinimumRingSize() > maxRingSize {
		c.errorf(p.field("ringHash").field("minimumRingSize"), "minimumRingSize must be at most %d", maxRingSize)
	}
	if ml := ch.GetMaglev(); ml != nil {
		tp := p.field("maglev").field("tableSize")
		switch n := ml.GetTableSize(); {
		case n == 0:
			c.errorf(tp, "tableSize is required for maglev")
		case n >= maxMaglevTableSize:
			c.errorf(tp, "tableSize must be less than %d, got %d", maxMaglevTableSize, n)
		case !isPrime(n):
			c.errorf(tp, "tableSize must be a prime number, got %d", n)
		}
	}
}

func checkHashCookie(c *checker, p path, hc *networking.LoadBalancerSettings_ConsistentHashLB_HTTPCookie) {
	if hc.GetName() == "" {
		c.errorf(p.field("name"), "cookie name is required")
	}
	if ttl := hc.GetTtl(); ttl != nil && ttl.AsDuration() < 0 {
		c.errorf(p.field("ttl"), "ttl must not be negative")
	}
	for i, a := range hc.GetAttributes() {
		if a.GetName() == "" {
			c.errorf(p.field("attributes").index(i).field("name"), "attribute name is required")
		}
	}
}

func isPrime(n uint64) bool {
	if n < 2 {
		return false
	}
	if n%2 == 0 {
		return n == 2
	}
	limit := uint64(math.Sqrt(float64(n)))
	for f := uint64(3); f <= limit; f += 2 {
		if n%f == 0 {
			return false
		}
	}
	return true
}

// topologyLabels are the failoverPriority labels that duplicate failover.
var topologyLabels = []string{"topology.kubernetes.io/region", "topology.kubernetes.io/zone", "topology.istio.io/subzone"}

func checkLocalityLB(c *checker, p path, lb *networking.LocalityLoadBalancerSetting) {
	if lb == nil {
		return
	}
	if len(lb.GetDistribute()) > 0 && len(lb.GetFailover()) > 0 {
		c.errorf(p.field("failover"), "distribute and failover cannot be used together")
		return
	}
	checkDistribute(c, p.field("distribute"), lb.GetDistribute())
	for i, f := range lb.GetFailover() {
		fp := p.field("failover").index(i)
		checkFailoverRegion(c, fp.field("from"), f.GetFrom())
		checkFailoverRegion(c, fp.field("to"), f.GetTo())
		if f.GetFrom() == f.GetTo() && f.GetFrom() != "" {
			c.errorf(fp.field("to"), "failover must go to a different region than %q", f.GetFrom())
		}
	}
	for i, l := range lb.GetFailoverPriority() {
		lp := p.field("failoverPriority").index(i)
		switch {
		case l == "":
			c.errorf(lp, "label must not be empty")
		case len(lb.GetFailover()) > 0 && slices.Contains(topologyLabels, l):
			c.errorf(lp, "topology label %q cannot be used in failoverPriority together with failover", l)
		}
	}
}

func checkFailoverRegion(c *checker, p path, region string) {
	switch {
	case region == "":
		c.errorf(p, "region is required")
	case strings.ContainsAny(region, "/*"):
		c.errorf(p, "failover takes a region only (no zone, subzone or wildcard), got %q", region)
	}
}

func checkDistribute(c *checker, p path, ds []*networking.LocalityLoadBalancerSetting_Distribute) {
	var froms []string
	for i, d := range ds {
		dp := p.index(i)
		if msg := localityProblem(d.GetFrom(), true); msg != "" {
			c.errorf(dp.field("from"), "%s", msg)
		} else {
			checkLocalityOverlap(c, dp.field("from"), d.GetFrom(), froms)
			froms = append(froms, d.GetFrom())
		}
		var total uint64
		var tos []string
		for _, to := range sortedKeys(d.GetTo()) {
			tp := dp.field("to").key(to)
			w := d.GetTo()[to]
			if w < 1 || w > 100 {
				c.errorf(tp, "locality weight must be between 1 and 100, got %d", w)
			}
			total += uint64(w)
			if msg := localityProblem(to, true); msg != "" {
				c.errorf(tp, "%s", msg)
				continue
			}
			checkLocalityOverlap(c, tp, to, tos)
			tos = append(tos, to)
		}
		if total != 100 {
			c.errorf(dp.field("to"), "locality weights must add up to 100, got %d", total)
		}
	}
}

func checkLocalityOverlap(c *checker, p path, l string, earlier []string) {
	for _, e := range earlier {
		if localitiesOverlap(l, e) {
			c.errorf(p, "locality %q overlaps %q", l, e)
			return
		}
	}
}

func checkConnectionPool(c *checker, p path, cp *networking.ConnectionPoolSettings) {
	if cp == nil {
		return
	}
	if cp.GetTcp() == nil && cp.GetHttp() == nil {
		c.errorf(p, "connectionPool must set tcp, http or both")
		return
	}
	if tcp := cp.GetTcp(); tcp != nil {
		tp := p.field("tcp")
		checkNonNegative(c, tp.field("maxConnections"), int64(tcp.GetMaxConnections()))
		checkDuration(c, tp.field("connectTimeout"), tcp.GetConnectTimeout())
		checkDuration(c, tp.field("maxConnectionDuration"), tcp.GetMaxConnectionDuration())
		checkDuration(c, tp.field("idleTimeout"), tcp.GetIdleTimeout())
		checkTCPKeepalive(c, tp.field("tcpKeepalive"), tcp.GetTcpKeepalive())
	}
	if h := cp.GetHttp(); h != nil {
		checkHTTPPool(c, p.field("http"), h)
	}
}

func checkTCPKeepalive(c *checker, p path, ka *networking.ConnectionPoolSettings_TCPSettings_TcpKeepalive) {
	checkDuration(c, p.field("time"), ka.GetTime())
	checkDuration(c, p.field("interval"), ka.GetInterval())
}

func checkHTTPPool(c *checker, p path, h *networking.ConnectionPoolSettings_HTTPSettings) {
	for _, f := range []struct {
		name string
		v    int32
	}{
		{"http1MaxPendingRequests", h.GetHttp1MaxPendingRequests()},
		{"http2MaxRequests", h.GetHttp2MaxRequests()},
		{"maxRequestsPerConnection", h.GetMaxRequestsPerConnection()},
		{"maxRetries", h.GetMaxRetries()},
		{"maxConcurrentStreams", h.GetMaxConcurrentStreams()},
	} {
		checkNonNegative(c, p.field(f.name), int64(f.v))
	}
	checkDuration(c, p.field("idleTimeout"), h.GetIdleTimeout())
	if h.GetH2UpgradePolicy() == networking.ConnectionPoolSettings_HTTPSettings_UPGRADE && h.GetUseClientProtocol() {
		c.errorf(p.field("useClientProtocol"), "useClientProtocol cannot be true when h2UpgradePolicy is UPGRADE")
	}
	if ka := h.GetHttp2KeepAlive(); ka != nil {
		checkDuration(c, p.field("http2KeepAlive").field("interval"), ka.GetInterval())
		checkDuration(c, p.field("http2KeepAlive").field("timeout"), ka.GetTimeout())
	}
}

func checkOutlierDetection(c *checker, p path, od *networking.OutlierDetection) {
	if od == nil {
		return
	}
	checkNonNegative(c, p.field("consecutiveErrors"), int64(od.GetConsecutiveErrors()))
	if od.GetConsecutiveLocalOriginFailures().GetValue() > 0 && !od.GetSplitExternalLocalOriginErrors() {
		c.errorf(p.field("consecutiveLocalOriginFailures"), "consecutiveLocalOriginFailures requires splitExternalLocalOriginErrors: true")
	}
	checkDuration(c, p.field("interval"), od.GetInterval())
	checkDuration(c, p.field("baseEjectionTime"), od.GetBaseEjectionTime())
	checkPercentInt(c, p.field("maxEjectionPercent"), int64(od.GetMaxEjectionPercent()))
	checkPercentInt(c, p.field("minHealthPercent"), int64(od.GetMinHealthPercent()))
	for i, code := range od.GetOutlierDetectionHttpErrorCodes() {
		if code < 100 || code > 599 {
			c.errorf(p.field("outlierDetectionHttpErrorCodes").index(i), "must be an HTTP status code between 100 and 599, got %d", code)
		}
	}
}

// namedValue is a string field by JSON name, for "must (not) be set" rules.
type namedValue struct{ name, value string }

// checkClientTLS applies the mode rules of client (upstream) TLS settings.
func checkClientTLS(c *checker, p path, t *networking.ClientTLSSettings) {
	if t == nil {
		return
	}
	files := []namedValue{
		{"clientCertificate", t.GetClientCertificate()}, {"privateKey", t.GetPrivateKey()},
		{"caCertificates", t.GetCaCertificates()}, {"caCrl", t.GetCaCrl()},
	}
	mode := t.GetMode()
	switch {
	case mode == networking.ClientTLSSettings_ISTIO_MUTUAL:
		mustBeEmpty(c, p, append(files, namedValue{"credentialName", t.GetCredentialName()}),
			"must be empty with mode ISTIO_MUTUAL, which uses Istio's certificates")
	case mode != networking.ClientTLSSettings_DISABLE && t.GetCredentialName() != "":
		mustBeEmpty(c, p, files, "cannot be combined with credentialName, which holds the certificates")
	case mode == networking.ClientTLSSettings_MUTUAL:
		mustBeSet(c, p, files[:2], "is required with mode MUTUAL (or use credentialName)")
	}
	if !t.GetInsecureSkipVerify().GetValue() {
		return
	}
	verify := []namedValue{{"caCertificates", t.GetCaCertificates()}}
	if len(t.GetSubjectAltNames()) > 0 {
		verify = append(verify, namedValue{"subjectAltNames", "set"})
	}
	if mode == networking.ClientTLSSettings_SIMPLE {
		verify = append(verify, namedValue{"credentialName", t.GetCredentialName()})
	}
	mustBeEmpty(c, p, verify, "cannot be used with insecureSkipVerify: true")
}

func mustBeEmpty(c *checker, p path, fields []namedValue, why string) {
	for _, f := range fields {
		if f.value != "" {
			c.errorf(p.field(f.name), "%s %s", f.name, why)
		}
	}
}

func mustBeSet(c *checker, p path, fields []namedValue, why string) {
	for _, f := range fields {
		if f.value == "" {
			c.errorf(p.field(f.name), "%s %s", f.name, why)
		}
	}
}
