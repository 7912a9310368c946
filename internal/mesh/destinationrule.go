package mesh

import (
	"google.golang.org/protobuf/proto"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/lateenmesh/lateen/internal/hostname"
)

// DestinationRule returns the destination rule that applies to traffic
// from this proxy to host, or nil. Istio's lookup order: a rule in the
// proxy's namespace (one whose workloadSelector picks the proxy first), then
// the service's namespace, then the root namespace; within a namespace the
// most specific host wins, and rules for that same host are merged, oldest
// first (top-level policy from the oldest, subsets appended, first name wins).
func (v *ProxyView) DestinationRule(host string) *DestinationRule {
	if v.fixed != nil {
		return v.fixed.rule(host)
	}
	svcNS := ""
	if svc := v.services[host]; svc != nil {
		svcNS = svc.Namespace
	}
	v.ensureRuleSig()
	for _, ns := range []string{v.Proxy.Namespace, svcNS, v.Mesh.RootNamespace} {
		if ns == "" {
			continue
		}
		v.record(Dep{Kind: DepRules, NS: ns})
		if len(v.snap.destinationRules[ns]) == 0 {
			continue
		}
		if dr := v.snap.ruleIn(ns, host, v.Proxy, v.ruleSig); dr != nil {
			return dr
		}
	}
	return nil
}

// destinationRuleIn looks a host's rule up in one namespace for a client
// in clientNS; selects says which rules with a workload selector pick the
// client (only those of its own namespace can).
func (s *Snapshot) destinationRuleIn(ns, host, clientNS string, selects func(*DestinationRule) bool) *DestinationRule {
	var matched []*DestinationRule
	best := -1
	for _, selecting := range []bool{true, false} {
		for _, dr := range s.destinationRules[ns] {
			if (dr.Spec.WorkloadSelector != nil) != selecting || !hostname.Matches(dr.Host, host) {
				continue
			}
			if selecting && (ns != clientNS || !selects(dr)) {
				continue
			}
			if !drVisible(dr, s.Mesh.DefaultDestinationRuleExportTo, clientNS) {
				continue
			}
			switch sp := hostname.Specificity(dr.Host); {
			case sp > best:
				best, matched = sp, []*DestinationRule{dr}
			case sp == best && dr.Host == matched[0].Host:
				matched = append(matched, dr)
			}
		}
		if len(matched) > 0 {
			return mergeDestinationRules(matched)
		}
	}
	return nil
}

func mergeDestinationRules(drs []*DestinationRule) *DestinationRule {
	if len(drs) == 1 {
		return drs[0]
	}
	first := drs[0]
	spec := proto.Clone(first.Spec).(*networking.DestinationRule)
	seen := map[string]bool{}
	for _, ss := range spec.Subsets {
		seen[ss.Name] = true
	}
	for _, dr := range drs[1:] {
		if spec.TrafficPolicy == nil && dr.Spec.TrafficPolicy != nil {
			spec.TrafficPolicy = dr.Spec.TrafficPolicy
		}
		for _, ss := range dr.Spec.Subsets {
			if !seen[ss.Name] {
				seen[ss.Name] = true
				spec.Subsets = append(spec.Subsets, ss)
			}
		}
	}
	merged := *first
	merged.Spec = spec
	return &merged
}

// drVisible applies a DestinationRule's exportTo as Istio: in its own
// namespace a rule without exportTo always applies (the mesh default
// exportTo only governs other namespaces); otherwise exportTo, or the
// default, must name the client's namespace.
func drVisible(dr *DestinationRule, defaults []string, clientNS string) bool {
	if dr.Namespace == clientNS && len(dr.Spec.ExportTo) == 0 {
		return true
	}
	return visibleTo(dr.Namespace, dr.Spec.ExportTo, defaults, clientNS)
}
