package resource

import (
	"regexp"
	"time"
)

// RouteConfig is a decoded envoy.config.route.v3.RouteConfiguration.
type RouteConfig struct {
	Name         string
	VirtualHosts []VirtualHost
}

// VirtualHost is one virtual host of a route configuration.
type VirtualHost struct {
	Name                       string
	Domains                    []string
	Routes                     []Route
	Headers                    HeaderOps
	RetryPolicy                *RetryPolicy
	IncludeRequestAttemptCount bool
}

// Route is one route of a virtual host. Exactly one of Action, Redirect and
// DirectResponse is set.
type Route struct {
	Name           string
	Match          RouteMatch
	Action         *RouteAction
	Redirect       *Redirect
	DirectResponse *DirectResponse
	Headers        HeaderOps
	// PerFilterConfig holds typed_per_filter_config, keyed by filter name,
	// decoded by the per-route decoder registered for its type URL.
	PerFilterConfig map[string]any
	Decorator       string
}

// PathMatchKind says how RouteMatch.Path is compared.
type PathMatchKind int

// Path match kinds.
const (
	PathPrefix PathMatchKind = iota
	PathExact
	PathRegex
	PathSeparatedPrefix
)

// RouteMatch is a route's match condition.
type RouteMatch struct {
	Kind          PathMatchKind
	Path          string         // prefix, exact path or separated prefix
	Regex         *regexp.Regexp // PathRegex: anchored (RE2 full match)
	CaseSensitive bool
	Headers       []HeaderMatcher
	Query         []QueryMatcher
}

// StringMatcher is envoy.type.matcher.v3.StringMatcher.
type StringMatcher struct {
	Kind       StringMatchKind
	Value      string
	Regex      *regexp.Regexp // StringRegex: anchored
	IgnoreCase bool
}

// StringMatchKind says how StringMatcher.Value is compared.
type StringMatchKind int

// String match kinds.
const (
	StringExact StringMatchKind = iota
	StringPrefix
	StringSuffix
	StringContains
	StringRegex
)

// HeaderMatcher is a route header condition.
type HeaderMatcher struct {
	Name    string // canonical lower case
	Present bool   // present_match (true) when String is nil
	String  *StringMatcher
	Invert  bool
	// TreatMissingAsEmpty matches a missing header as the empty string
	// (treat_missing_header_as_empty) instead of failing the matcher.
	TreatMissingAsEmpty bool
}

// QueryMatcher is a route query parameter condition.
type QueryMatcher struct {
	Name    string
	Present bool
	String  *StringMatcher
}

// HeaderValue is one header to add.
type HeaderValue struct {
	Name   string // canonical MIME form (as net/http keys headers)
	Value  string
	Append bool // append to existing values instead of overwriting
	// AddIfAbsent only adds the header when it is not already present.
	AddIfAbsent bool
}

// HeaderOps are header mutations at one level (vhost, route, weighted
// cluster). Header names are in canonical MIME form.
type HeaderOps struct {
	RequestAdd     []HeaderValue
	RequestRemove  []string
	ResponseAdd    []HeaderValue
	ResponseRemove []string
}

// Empty reports whether no mutation is configured.
func (h HeaderOps) Empty() bool {
	return len(h.RequestAdd)+len(h.RequestRemove)+len(h.ResponseAdd)+len(h.ResponseRemove) == 0
}

// RouteAction forwards to a cluster.
type RouteAction struct {
	// Exactly one of Cluster and WeightedClusters is set.
	Cluster           string
	WeightedClusters  []WeightedCluster
	Timeout           time.Duration // 0: none
	TimeoutSet        bool
	RetryPolicy       *RetryPolicy
	PrefixRewrite     string
	RegexRewrite      *RegexRewrite
	HostRewrite       string
	Mirrors           []MirrorPolicy
	HashPolicies      []HashPolicy
	MaxStreamDuration time.Duration
	UpgradeTypes      []UpgradeConfig
	// MaxGRPCTimeout (max_grpc_timeout), when set, makes gRPC requests use
	// their grpc-timeout header (none: no timeout) instead of Timeout,
	// capped at its value (0: no cap).
	MaxGRPCTimeout *time.Duration
	// GRPCTimeoutHeaderMax (max_stream_duration.grpc_timeout_header_max),
	// when set, makes a gRPC request's grpc-timeout its maximum stream
	// duration, capped at its value (0: no cap).
	GRPCTimeoutHeaderMax *time.Duration
}

// Clusters returns the cluster names a route action references.
func (a *RouteAction) Clusters() []string {
	if a.Cluster != "" {
		return []string{a.Cluster}
	}
	names := make([]string, 0, len(a.WeightedClusters)+len(a.Mirrors))
	for _, wc := range a.WeightedClusters {
		names = append(names, wc.Name)
	}
	return names
}

// WeightedCluster is one target of weighted_clusters (also used by TCPProxy).
type WeightedCluster struct {
	Name        string
	Weight      uint32
	Headers     HeaderOps
	HostRewrite string // host_rewrite_literal
}

// RegexRewrite rewrites the path with a regex substitution.
type RegexRewrite struct {
	Pattern      *regexp.Regexp
	Substitution string // Go regexp expansion syntax (\1 converted to ${1})
}

// RetryPolicy is a decoded route retry policy.
type RetryPolicy struct {
	RetryOn                  []string
	NumRetries               uint32
	PerTryTimeout            time.Duration
	RetriableStatusCodes     []uint32
	HostSelectionMaxAttempts int64
	RetryHostPredicates      []string
	// BackOffBase and BackOffMax are retry_back_off (Envoy's defaults, 25ms
	// and 10 times the base, when unset).
	BackOffBase time.Duration
	BackOffMax  time.Duration
	// PreviousPriorities is the update_frequency of the
	// envoy.retry_priorities.previous_priorities retry priority (0: none).
	PreviousPriorities int
}

// Fraction is an envoy.type.v3.FractionalPercent scaled to parts per
// million.
type Fraction uint32

// Million is the denominator of a Fraction (100%).
const Million Fraction = 1_000_000

// MirrorPolicy shadows requests to another cluster.
type MirrorPolicy struct {
	Cluster  string
	Fraction Fraction // share of requests mirrored; Million when unset
	// KeepHost leaves the authority alone (disable_shadow_host_suffix_append)
	// instead of appending "-shadow" to its host.
	KeepHost bool
}

// HashPolicy is one consistent-hash input.
type HashPolicy struct {
	Header     string
	Cookie     string
	CookieTTL  time.Duration
	CookiePath string
	// CookieGenerate: the ttl is set, so a missing cookie is generated (a
	// session cookie when CookieTTL is 0).
	CookieGenerate bool
	SourceIP       bool
	QueryParam     string
	Terminal       bool
}

// Redirect answers with a 3xx redirect.
type Redirect struct {
	Scheme     string
	Host       string
	Port       uint32
	Path       string // path_redirect
	Prefix     string // prefix_rewrite
	PrefixSet  bool
	Code       int // HTTP status
	StripQuery bool
}

// DirectResponse answers directly.
type DirectResponse struct {
	Status int
	Body   string
}
