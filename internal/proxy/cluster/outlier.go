package cluster

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/lb"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// Outcome is a locally originated result of an upstream attempt, as
// outlier detection sees it (Envoy's LocalOrigin* results).
type Outcome int

// Local outcomes.
const (
	// ConnectFailed: the connection failed or was reset before a response.
	ConnectFailed Outcome = iota
	// Timeout: no response in time.
	Timeout
	// ConnectSuccess: connected; an HTTP response code follows.
	ConnectSuccess
	// ConnectSuccessFinal: connected, and that is the whole result (TCP).
	ConnectSuccessFinal
)

// ejection kinds, for stats and enforcement.
type ejectionKind int

const (
	consecutive5xx ejectionKind = iota
	consecutiveGateway
	consecutiveLocalOrigin
)

// state is what a cluster keeps across configuration updates: outstanding
// request counts (max_requests, max_retries), per-host data (outstanding
// requests, join time, outlier detection) and the ejections.
type state struct {
	stats       *Stats
	requests    atomic.Int64
	retries     atomic.Int64
	version     atomic.Uint64 // bumped when the ejected set changes
	nextUneject atomic.Int64  // unix nanos of the earliest ejection end; 0: none
	ejected     atomic.Pointer[map[string]bool]

	mu    sync.Mutex
	hosts map[string]*hostState
}

// hostState is one host's live data. Fields below active and since are
// guarded by state.mu.
type hostState struct {
	active atomic.Int64
	since  time.Time

	c5xx, gateway, local uint32 // consecutive failures
	isEjected            bool
	ejectedUntil         time.Time
	multiplier           uint32 // ejection time = base × multiplier
	multiplierAt         time.Time
}

func newState(st *Stats) *state {
	return &state{stats: st, hosts: map[string]*hostState{}}
}

// hostsFor returns the load balancer hosts of eps, creating the state of
// hosts that just joined (their slow start begins now).
func (s *state) hostsFor(eps []resource.Endpoint, now time.Time) ([]*lb.Host, map[string]*hostState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	hosts := make([]*lb.Host, len(eps))
	byAddr := make(map[string]*hostState, len(eps))
	for i, ep := range eps {
		hs := s.hosts[ep.Address]
		if hs == nil {
			hs = &hostState{since: now}
			s.hosts[ep.Address] = hs
		}
		byAddr[ep.Address] = hs
		hosts[i] = &lb.Host{Endpoint: ep, Active: &hs.active, Since: hs.since}
	}
	return hosts, byAddr
}

// prune drops the hosts that left the cluster (with their ejections).
func (s *state) prune(eps []resource.Endpoint) {
	keep := make(map[string]bool, len(eps))
	for _, ep := range eps {
		keep[ep.Address] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := false
	for addr, hs := range s.hosts {
		if !keep[addr] {
			delete(s.hosts, addr)
			changed = changed || hs.isEjected
		}
	}
	if changed {
		s.publish()
	}
}

// ejectedSet is the current set of ejected addresses (read-only).
func (s *state) ejectedSet() map[string]bool {
	if m := s.ejected.Load(); m != nil {
		return *m
	}
	return nil
}

// publish recomputes the ejected set, the gauge and the next un-ejection
// time, and bumps the version so pickers rebuild. s.mu is held.
func (s *state) publish() {
	set := map[string]bool{}
	var next time.Time
	for addr, hs := range s.hosts {
		if !hs.isEjected {
			continue
		}
		set[addr] = true
		if next.IsZero() || hs.ejectedUntil.Before(next) {
			next = hs.ejectedUntil
		}
	}
	s.ejected.Store(&set)
	s.stats.Outlier.EjectionsActive.Set(int64(len(set)))
	if next.IsZero() {
		s.nextUneject.Store(0)
	} else {
		s.nextUneject.Store(next.UnixNano())
	}
	s.version.Add(1)
}

// unejectExpired returns hosts whose ejection time is over to the load
// balancer. It is checked lazily, on picks, instead of on Envoy's interval
// timer: a host comes back on the first pick after its ejection ends.
func (s *state) unejectExpired(now time.Time) {
	if n := s.nextUneject.Load(); n == 0 || now.UnixNano() < n {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := false
	for _, hs := range s.hosts {
		if hs.isEjected && !now.Before(hs.ejectedUntil) {
			hs.isEjected = false
			hs.c5xx, hs.gateway, hs.local = 0, 0, 0
			hs.multiplierAt = now
			changed = true
		}
	}
	if changed {
		s.publish()
	}
}

// ReportResponse tells outlier detection the HTTP status an upstream host
// answered with.
func (c *Cluster) ReportResponse(addr string, code int) {
	od, hs := c.Config.Outlier, c.byAddr[addr]
	if od == nil || hs == nil {
		return
	}
	c.st.mu.Lock()
	defer c.st.mu.Unlock()
	c.st.putHTTPCode(hs, od, code, c.now())
}

// ReportLocal tells outlier detection a locally originated outcome. Without
// split_external_local_origin_errors it counts as the HTTP status Envoy
// maps it to (connect failure 503, timeout 504, final success 200).
func (c *Cluster) ReportLocal(addr string, o Outcome) {
	od, hs := c.Config.Outlier, c.byAddr[addr]
	if od == nil || hs == nil {
		return
	}
	c.st.mu.Lock()
	defer c.st.mu.Unlock()
	now := c.now()
	if od.SplitExternalLocalOriginErrors {
		switch o {
		case ConnectSuccess, ConnectSuccessFinal:
			hs.local = 0
		default:
			hs.local++
			if hs.local == od.ConsecutiveLocalOriginFailure {
				c.st.eject(hs, od, consecutiveLocalOrigin, now)
				hs.local = 0
			}
		}
		return
	}
	switch o {
	case ConnectFailed:
		c.st.putHTTPCode(hs, od, 503, now)
	case Timeout:
		c.st.putHTTPCode(hs, od, 504, now)
	case ConnectSuccessFinal:
		c.st.putHTTPCode(hs, od, 200, now)
	}
}

// putHTTPCode counts consecutive 5xx and gateway errors (502, 503, 504).
// s.mu is held.
func (s *state) putHTTPCode(hs *hostState, od *resource.OutlierDetection, code int, now time.Time) {
	if code < 500 || code > 599 {
		hs.c5xx, hs.gateway = 0, 0
		return
	}
	if code >= 502 && code <= 504 {
		hs.gateway++
		if hs.gateway == od.ConsecutiveGatewayFailure {
			s.eject(hs, od, consecutiveGateway, now)
			hs.gateway = 0
		}
	} else {
		hs.gateway = 0
	}
	hs.c5xx++
	if hs.c5xx == od.Consecutive5xx {
		s.eject(hs, od, consecutive5xx, now)
		hs.c5xx = 0
	}
}

// eject ejects a host unless it already is, max_ejection_percent would be
// exceeded, or the enforcing percentage says no. The ejection lasts
// base_ejection_time × the host's ejection count (capped at
// max_ejection_time); the count decays by one per interval the host stays
// in. s.mu is held.
func (s *state) eject(hs *hostState, od *resource.OutlierDetection, kind ejectionKind, now time.Time) {
	os := &s.stats.Outlier
	detected, enforced, enforcing := os.Detected5xx, os.Enforced5xx, od.EnforcingConsecutive5xx
	switch kind {
	case consecutiveGateway:
		detected, enforced, enforcing = os.DetectedGateway, os.EnforcedGateway, od.EnforcingConsecutiveGatewayFailure
	case consecutiveLocalOrigin:
		detected, enforced, enforcing = os.DetectedLocalOrigin, os.EnforcedLocalOrigin, od.EnforcingConsecutiveLocalOriginFailure
	}
	detected.Inc()
	if hs.isEjected {
		return
	}
	if (len(s.ejectedSet())+1)*100 > int(od.MaxEjectionPercent)*len(s.hosts) {
		os.EjectionsOverflow.Inc()
		return
	}
	if enforcing < 100 && rand.Uint32N(100) >= enforcing {
		return
	}
	if hs.multiplier > 0 && od.Interval > 0 {
		decay := uint32(now.Sub(hs.multiplierAt) / od.Interval)
		hs.multiplier -= min(decay, hs.multiplier)
	}
	hs.multiplier++
	hs.multiplierAt = now
	d := min(od.BaseEjectionTime*time.Duration(hs.multiplier), max(od.MaxEjectionTime, od.BaseEjectionTime))
	hs.isEjected, hs.ejectedUntil = true, now.Add(d)
	os.EjectionsTotal.Inc()
	os.EjectionsEnforcedTotal.Inc()
	enforced.Inc()
	s.publish()
}
