package listener

import (
	"errors"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/stats"
)

// Chain is one filter chain of a listener: its match and its handler.
type Chain struct {
	Match   resource.FilterChainMatch
	Handler Handler
}

// Selector hands each connection of a listener to its filter chain, as
// Envoy chooses: with the TLS inspector, the connection's ClientHello is
// read first; then the criteria narrow the chains one after the other —
// destination port, server names, transport protocol, application
// protocols — each preferring chains that name a matching value over
// chains that leave it unset, without going back. Several chains left:
// the first wins. None: the default chain, else the connection is closed.
type Selector struct {
	Chains  []Chain
	Default *Chain
	// Inspect runs the TLS inspector, bounded by Timeout (0: none); on
	// timeout the connection is closed, or goes on as raw_buffer with
	// ContinueOnTimeout.
	Inspect           bool
	Timeout           time.Duration
	ContinueOnTimeout bool
	// NoMatch counts connections without a chain (may be nil).
	NoMatch *stats.Counter
	Logger  *slog.Logger
}

// ServeConn picks the connection's chain and serves it.
func (s *Selector) ServeConn(c net.Conn) {
	hello := ClientHello{TransportProtocol: TransportRaw}
	if s.Inspect {
		var err error
		hello, c, err = InspectTLS(c, s.Timeout)
		if err != nil && !(errors.Is(err, os.ErrDeadlineExceeded) && s.ContinueOnTimeout) {
			_ = c.Close()
			return
		}
	}
	ch := s.Pick(localPort(c), hello)
	if ch == nil {
		if s.NoMatch != nil {
			s.NoMatch.Inc()
		}
		if s.Logger != nil {
			s.Logger.Debug("no filter chain matched", "local", c.LocalAddr().String(), "remote", c.RemoteAddr().String(),
				"transport", hello.TransportProtocol, "sni", hello.ServerName, "alpn", hello.ALPN)
		}
		_ = c.Close()
		return
	}
	ch.Handler.ServeConn(c)
}

// Pick returns the chain for a connection to port with hello, or nil.
func (s *Selector) Pick(port uint32, hello ClientHello) *Chain {
	cands := make([]*Chain, len(s.Chains))
	for i := range s.Chains {
		cands[i] = &s.Chains[i]
	}
	for _, narrow := range []func([]*Chain) []*Chain{
		func(cs []*Chain) []*Chain { return byPort(cs, port) },
		func(cs []*Chain) []*Chain { return byServerName(cs, hello.ServerName) },
		func(cs []*Chain) []*Chain { return byTransport(cs, hello.TransportProtocol) },
		func(cs []*Chain) []*Chain { return byALPN(cs, hello.ALPN) },
	} {
		if cands = narrow(cands); len(cands) == 0 {
			return s.Default
		}
	}
	return cands[0]
}

// prefer keeps the chains for which rank is highest and positive, else
// those for which it is 0 (the criterion unset); negative: no match.
func prefer(cs []*Chain, rank func(*Chain) int) []*Chain {
	best := 0
	for _, c := range cs {
		best = max(best, rank(c))
	}
	var out []*Chain
	for _, c := range cs {
		if rank(c) == best {
			out = append(out, c)
		}
	}
	return out
}

func byPort(cs []*Chain, port uint32) []*Chain {
	return prefer(cs, func(c *Chain) int {
		switch c.Match.DestinationPort {
		case 0:
			return 0
		case port:
			return 1
		}
		return -1
	})
}

// byServerName prefers an exact server name, then the longest matching
// wildcard ("*.example.com").
func byServerName(cs []*Chain, sni string) []*Chain {
	sni = strings.ToLower(sni)
	return prefer(cs, func(c *Chain) int {
		if len(c.Match.ServerNames) == 0 {
			return 0
		}
		rank := -1
		for _, n := range c.Match.ServerNames {
			n = strings.ToLower(n)
			switch {
			case sni == "":
			case n == sni:
				rank = max(rank, 1<<20)
			case strings.HasPrefix(n, "*.") && strings.HasSuffix(sni, n[1:]):
				rank = max(rank, len(n))
			}
		}
		return rank
	})
}

func byTransport(cs []*Chain, transport string) []*Chain {
	return prefer(cs, func(c *Chain) int {
		switch c.Match.TransportProtocol {
		case "":
			return 0
		case transport:
			return 1
		}
		return -1
	})
}

// byALPN takes the connection's protocols in its order: the first that
// some chains name selects them; else the chains naming none.
func byALPN(cs []*Chain, alpn []string) []*Chain {
	for _, p := range alpn {
		var out []*Chain
		for _, c := range cs {
			if slices.Contains(c.Match.ApplicationProtocols, p) {
				out = append(out, c)
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	var out []*Chain
	for _, c := range cs {
		if len(c.Match.ApplicationProtocols) == 0 {
			out = append(out, c)
		}
	}
	return out
}

func localPort(c net.Conn) uint32 {
	_, p, err := net.SplitHostPort(c.LocalAddr().String())
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return uint32(n)
}
