package mesh

import (
	"strings"
	"sync"

	"github.com/lateenmesh/lateen/internal/registry"
)

// ruleKey is one destination rule lookup in one namespace: what
// destinationRuleIn reads of the proxy is its namespace and, when the
// namespace is the proxy's own, which of its selecting rules pick the
// proxy (sig).
type ruleKey struct {
	ns, host, clientNS, sig string
}

type ruleEntry struct {
	once sync.Once
	dr   *DestinationRule
}

// selectorRules are a namespace's DestinationRules with a workload
// selector, oldest first.
type selectorRules struct {
	rules []*DestinationRule
}

// ruleIn memoizes destinationRuleIn, so every proxy of a class gets the
// same (possibly merged) *DestinationRule.
func (s *Snapshot) ruleIn(ns, host string, p *Proxy, sig string) *DestinationRule {
	if ns != p.Namespace {
		sig = ""
	}
	k := ruleKey{ns: ns, host: host, clientNS: p.Namespace, sig: sig}
	s.memo.mu.Lock()
	e := s.memo.rules[k]
	if e == nil {
		e = &ruleEntry{}
		s.memo.rules[k] = e
	}
	s.memo.mu.Unlock()
	e.once.Do(func() { e.dr = s.destinationRuleIn(ns, host, p.Namespace, s.selecting(ns, sig)) })
	return e.dr
}

// selecting returns which selecting DestinationRules of ns select the
// proxy whose signature is sig.
func (s *Snapshot) selecting(ns, sig string) func(*DestinationRule) bool {
	sr := s.selectorRules(ns)
	return func(dr *DestinationRule) bool {
		for i, r := range sr.rules {
			if r == dr {
				return i < len(sig) && sig[i] == '1'
			}
		}
		return false
	}
}

func (s *Snapshot) selectorRules(ns string) *selectorRules {
	s.memo.mu.Lock()
	defer s.memo.mu.Unlock()
	sr := s.memo.sigs[ns]
	if sr == nil {
		sr = &selectorRules{}
		for _, dr := range s.destinationRules[ns] {
			if dr.Spec.WorkloadSelector != nil {
				sr.rules = append(sr.rules, dr)
			}
		}
		s.memo.sigs[ns] = sr
	}
	return sr
}

// selectorSig says which selecting DestinationRules of the proxy's
// namespace select the proxy ("" when the namespace has none).
func (s *Snapshot) selectorSig(p *Proxy) string {
	sr := s.selectorRules(p.Namespace)
	if len(sr.rules) == 0 {
		return ""
	}
	var b strings.Builder
	for _, dr := range sr.rules {
		if registry.SelectorMatches(dr.Spec.WorkloadSelector.MatchLabels, p.Labels) {
			b.WriteByte('1')
		} else {
			b.WriteByte('0')
		}
	}
	return b.String()
}
