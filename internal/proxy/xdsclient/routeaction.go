package xdsclient

import (
	"fmt"
	"regexp"
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	previoushostsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/retry/host/previous_hosts/v3"
	previousprioritiesv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/retry/priority/previous_priorities/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

const (
	previousHostsTypeURL      = "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate"
	previousPrioritiesTypeURL = "type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig"
)

func decodeRouteAction(pb *routev3.RouteAction) (*resource.RouteAction, error) {
	a := &resource.RouteAction{
		Cluster:       pb.GetCluster(),
		PrefixRewrite: pb.GetPrefixRewrite(),
		HostRewrite:   pb.GetHostRewriteLiteral(),
	}
	if err := decodeClusterSpecifier(pb, a); err != nil {
		return nil, err
	}
	var err error
	if pb.GetTimeout() != nil {
		if a.Timeout, err = duration(pb.GetTimeout(), "timeout"); err != nil {
			return nil, err
		}
		a.TimeoutSet = true
	}
	if pb.GetRetryPolicy() != nil {
		if a.RetryPolicy, err = decodeRetryPolicy(pb.GetRetryPolicy()); err != nil {
			return nil, under("retry_policy", err)
		}
	}
	if rr := pb.GetRegexRewrite(); rr != nil {
		if a.PrefixRewrite != "" {
			return nil, fieldErr("regex_rewrite", "not allowed with prefix_rewrite")
		}
		re, err := regexp.Compile(rr.GetPattern().GetRegex())
		if err != nil {
			return nil, fieldErr("regex_rewrite.pattern.regex", "invalid RE2 regex: %v", err)
		}
		a.RegexRewrite = &resource.RegexRewrite{Pattern: re, Substitution: envoySubstitution(rr.GetSubstitution())}
	}
	if err := decodeMirrors(pb, a); err != nil {
		return nil, err
	}
	if err := decodeHashPolicies(pb, a); err != nil {
		return nil, err
	}
	if err := decodeStreamDuration(pb, a); err != nil {
		return nil, err
	}
	for _, u := range pb.GetUpgradeConfigs() {
		a.UpgradeTypes = append(a.UpgradeTypes, resource.UpgradeConfig{
			Type: strings.ToLower(u.GetUpgradeType()), Enabled: u.GetEnabled() == nil || u.GetEnabled().GetValue(),
		})
	}
	return a, nil
}

func decodeClusterSpecifier(pb *routev3.RouteAction, a *resource.RouteAction) error {
	wc := pb.GetWeightedClusters()
	switch {
	case a.Cluster != "":
		return nil
	case wc == nil:
		return fieldErr("cluster_specifier", "cluster or weighted_clusters is required")
	}
	var total uint64
	for i, c := range wc.GetClusters() {
		path := fmt.Sprintf("weighted_clusters.clusters[%d]", i)
		if c.GetName() == "" {
			return fieldErr(path+".name", "empty")
		}
		ops, err := decodeHeaderOps(c.GetRequestHeadersToAdd(), c.GetRequestHeadersToRemove(),
			c.GetResponseHeadersToAdd(), c.GetResponseHeadersToRemove())
		if err != nil {
			return under(path, err)
		}
		w := c.GetWeight().GetValue()
		total += uint64(w)
		a.WeightedClusters = append(a.WeightedClusters, resource.WeightedCluster{Name: c.GetName(), Weight: w, Headers: ops,
			HostRewrite: c.GetHostRewriteLiteral()})
	}
	if total == 0 {
		return fieldErr("weighted_clusters.clusters", "total weight is 0")
	}
	return nil
}

// envoySubstitution converts RE2 "\1" group references to Go's "${1}".
func envoySubstitution(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '$':
			b.WriteString("$$")
		case s[i] == '\\' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			b.WriteString("${" + string(s[i+1]) + "}")
			i++
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func decodeMirrors(pb *routev3.RouteAction, a *resource.RouteAction) error {
	for i, m := range pb.GetRequestMirrorPolicies() {
		path := fmt.Sprintf("request_mirror_policies[%d]", i)
		if m.GetCluster() == "" {
			return fieldErr(path+".cluster", "empty")
		}
		mp := resource.MirrorPolicy{Cluster: m.GetCluster(), Fraction: resource.Million, KeepHost: m.GetDisableShadowHostSuffixAppend()}
		if rf := m.GetRuntimeFraction(); rf != nil {
			f, err := fraction(rf.GetDefaultValue(), path+".runtime_fraction.default_value")
			if err != nil {
				return err
			}
			mp.Fraction = f
		}
		a.Mirrors = append(a.Mirrors, mp)
	}
	return nil
}

// fraction converts a FractionalPercent to parts per million; a nil one is
// 0%.
func fraction(f *typev3.FractionalPercent, path string) (resource.Fraction, error) {
	n := uint64(f.GetNumerator())
	switch f.GetDenominator() {
	case typev3.FractionalPercent_HUNDRED:
		n *= 10000
	case typev3.FractionalPercent_TEN_THOUSAND:
		n *= 100
	case typev3.FractionalPercent_MILLION:
	default:
		return 0, fieldErr(path+".denominator", "unknown denominator %s", f.GetDenominator())
	}
	return resource.Fraction(min(n, uint64(resource.Million))), nil
}

// decodeStreamDuration decodes max_stream_duration and the deprecated
// max_grpc_timeout (which Istio sets).
func decodeStreamDuration(pb *routev3.RouteAction, a *resource.RouteAction) error {
	if g := pb.GetMaxGrpcTimeout(); g != nil {
		d, err := duration(g, "max_grpc_timeout")
		if err != nil {
			return err
		}
		a.MaxGRPCTimeout = &d
	}
	msd := pb.GetMaxStreamDuration()
	if msd == nil {
		return nil
	}
	var err error
	if a.MaxStreamDuration, err = duration(msd.GetMaxStreamDuration(), "max_stream_duration.max_stream_duration"); err != nil {
		return err
	}
	if g := msd.GetGrpcTimeoutHeaderMax(); g != nil {
		d, err := duration(g, "max_stream_duration.grpc_timeout_header_max")
		if err != nil {
			return err
		}
		a.GRPCTimeoutHeaderMax = &d
	}
	return nil
}

// decodeHashPolicies decodes hash_policy. Hash policies only affect the
// RING_HASH and MAGLEV load balancers; with the supported ROUND_ROBIN policy
// Envoy ignores them too, so accepting them changes nothing.
func decodeHashPolicies(pb *routev3.RouteAction, a *resource.RouteAction) error {
	for i, h := range pb.GetHashPolicy() {
		hp := resource.HashPolicy{Terminal: h.GetTerminal()}
		switch p := h.GetPolicySpecifier().(type) {
		case *routev3.RouteAction_HashPolicy_Header_:
			hp.Header = strings.ToLower(p.Header.GetHeaderName())
		case *routev3.RouteAction_HashPolicy_Cookie_:
			hp.Cookie, hp.CookiePath = p.Cookie.GetName(), p.Cookie.GetPath()
			hp.CookieTTL, hp.CookieGenerate = p.Cookie.GetTtl().AsDuration(), p.Cookie.GetTtl() != nil
		case *routev3.RouteAction_HashPolicy_ConnectionProperties_:
			hp.SourceIP = p.ConnectionProperties.GetSourceIp()
		case *routev3.RouteAction_HashPolicy_QueryParameter_:
			hp.QueryParam = p.QueryParameter.GetName()
		default:
			return fieldErr(fmt.Sprintf("hash_policy[%d]", i), "policy_specifier required")
		}
		a.HashPolicies = append(a.HashPolicies, hp)
	}
	return nil
}

func decodeRetryPolicy(pb *routev3.RetryPolicy) (*resource.RetryPolicy, error) {
	rp := &resource.RetryPolicy{
		NumRetries:               1,
		RetriableStatusCodes:     pb.GetRetriableStatusCodes(),
		HostSelectionMaxAttempts: pb.GetHostSelectionRetryMaxAttempts(),
	}
	if pb.GetNumRetries() != nil {
		rp.NumRetries = pb.GetNumRetries().GetValue()
	}
	for _, on := range strings.Split(pb.GetRetryOn(), ",") {
		if on = strings.TrimSpace(on); on != "" {
			if !retryOnSupported[on] {
				return nil, fieldErr("retry_on", "retry condition %q not supported by lateen-proxy", on)
			}
			rp.RetryOn = append(rp.RetryOn, on)
		}
	}
	var err error
	if rp.PerTryTimeout, err = duration(pb.GetPerTryTimeout(), "per_try_timeout"); err != nil {
		return nil, err
	}
	if err := decodeRetryBackOff(pb.GetRetryBackOff(), rp); err != nil {
		return nil, under("retry_back_off", err)
	}
	if err := decodeRetryPriority(pb.GetRetryPriority(), rp); err != nil {
		return nil, under("retry_priority", err)
	}
	for i, p := range pb.GetRetryHostPredicate() {
		path := fmt.Sprintf("retry_host_predicate[%d]", i)
		if p.GetTypedConfig().GetTypeUrl() != previousHostsTypeURL {
			return nil, fieldErr(path, "only envoy.retry_host_predicates.previous_hosts is supported")
		}
		if err := unpack(p.GetTypedConfig(), &previoushostsv3.PreviousHostsPredicate{}); err != nil {
			return nil, under(path+".typed_config", err)
		}
		rp.RetryHostPredicates = append(rp.RetryHostPredicates, "previous_hosts")
	}
	return rp, nil
}

// decodeRetryBackOff applies Envoy's rules: base_interval is required and
// positive, max_interval defaults to ten times it and may not be smaller.
func decodeRetryBackOff(pb *routev3.RetryPolicy_RetryBackOff, rp *resource.RetryPolicy) error {
	if pb == nil {
		return nil
	}
	base, err := duration(pb.GetBaseInterval(), "base_interval")
	if err != nil {
		return err
	}
	if base <= 0 {
		return fieldErr("base_interval", "must be greater than 0")
	}
	maxI, err := duration(pb.GetMaxInterval(), "max_interval")
	if err != nil {
		return err
	}
	if pb.GetMaxInterval() == nil {
		maxI = 10 * base
	}
	if maxI < base {
		return fieldErr("max_interval", "must be at least base_interval")
	}
	rp.BackOffBase, rp.BackOffMax = base, maxI
	return nil
}

// decodeRetryPriority accepts envoy.retry_priorities.previous_priorities.
func decodeRetryPriority(pb *routev3.RetryPolicy_RetryPriority, rp *resource.RetryPolicy) error {
	if pb == nil {
		return nil
	}
	if pb.GetTypedConfig().GetTypeUrl() != previousPrioritiesTypeURL {
		return fieldErr("typed_config", "only envoy.retry_priorities.previous_priorities is supported")
	}
	var cfg previousprioritiesv3.PreviousPrioritiesConfig
	if err := unpack(pb.GetTypedConfig(), &cfg); err != nil {
		return under("typed_config", err)
	}
	if cfg.GetUpdateFrequency() <= 0 {
		return fieldErr("typed_config.update_frequency", "must be greater than 0")
	}
	rp.PreviousPriorities = int(cfg.GetUpdateFrequency())
	return nil
}

// retryOnSupported lists the retry_on conditions the router implements:
// every x-envoy-retry-on and x-envoy-retry-grpc-on condition.
var retryOnSupported = map[string]bool{
	"5xx": true, "gateway-error": true, "reset": true, "reset-before-request": true, "connect-failure": true,
	"envoy-ratelimited": true, "retriable-4xx": true, "refused-stream": true, "retriable-status-codes": true,
	"retriable-headers": true, "http3-post-connect-failure": true,
	"cancelled": true, "deadline-exceeded": true, "internal": true, "resource-exhausted": true, "unavailable": true,
}

func decodeRedirect(pb *routev3.RedirectAction) (*resource.Redirect, error) {
	r := &resource.Redirect{
		Scheme:     pb.GetSchemeRedirect(),
		Host:       pb.GetHostRedirect(),
		Port:       pb.GetPortRedirect(),
		Path:       pb.GetPathRedirect(),
		Prefix:     pb.GetPrefixRewrite(),
		StripQuery: pb.GetStripQuery(),
	}
	_, r.PrefixSet = pb.GetPathRewriteSpecifier().(*routev3.RedirectAction_PrefixRewrite)
	if pb.GetHttpsRedirect() {
		r.Scheme = "https"
	}
	codes := map[routev3.RedirectAction_RedirectResponseCode]int{
		routev3.RedirectAction_MOVED_PERMANENTLY: 301, routev3.RedirectAction_FOUND: 302,
		routev3.RedirectAction_SEE_OTHER: 303, routev3.RedirectAction_TEMPORARY_REDIRECT: 307,
		routev3.RedirectAction_PERMANENT_REDIRECT: 308,
	}
	code, ok := codes[pb.GetResponseCode()]
	if !ok {
		return nil, fieldErr("response_code", "unknown code %s", pb.GetResponseCode())
	}
	r.Code = code
	return r, nil
}
