package mesh

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/lateenmesh/lateen/internal/config"
	"github.com/lateenmesh/lateen/internal/hostname"
)

// buildVirtualServices resolves every VirtualService and expands
// delegation, as Istio does once per push: a VirtualService without hosts
// is a delegate, never bound by itself; a root's route with `delegate` is
// replaced by the delegate's routes merged under the root route's match
// conditions and settings. The result lists VirtualServices without
// delegation first, then roots, each group oldest first (Istio's order).
func (s *Snapshot) buildVirtualServices(objs []*config.Object) ([]*VirtualService, []Note) {
	delegates := map[config.Key]*config.Object{}
	var plain, roots []*config.Object
	for _, obj := range objs {
		spec := obj.Spec.(*networking.VirtualService)
		switch {
		case len(spec.Hosts) == 0:
			delegates[obj.Key()] = obj
		case isRoot(spec):
			roots = append(roots, obj)
		default:
			plain = append(plain, obj)
		}
	}
	out := make([]*VirtualService, 0, len(plain)+len(roots))
	for _, obj := range plain {
		out = append(out, s.resolveVirtualService(obj, obj.Spec.(*networking.VirtualService)))
	}
	var notes []Note
	for _, obj := range roots {
		spec, keys, n := s.expandRoot(obj, delegates)
		vs := s.resolveVirtualService(obj, spec)
		vs.Delegates = keys
		out = append(out, vs)
		notes = append(notes, n...)
	}
	return out, notes
}

func isRoot(vs *networking.VirtualService) bool {
	return slices.ContainsFunc(vs.Http, func(r *networking.HTTPRoute) bool { return r.Delegate != nil })
}

// expandRoot returns a copy of a root's spec with its delegating routes
// replaced, the delegates it names, and notes for what was dropped.
func (s *Snapshot) expandRoot(root *config.Object, delegates map[config.Key]*config.Object) (*networking.VirtualService, []config.Key, []Note) {
	spec := proto.Clone(root.Spec).(*networking.VirtualService)
	resolveMatchGateways(spec.Http, root.Meta.Namespace)
	var routes []*networking.HTTPRoute
	var keys []config.Key
	var notes []Note
	for i, r := range spec.Http {
		if r.Delegate == nil {
			routes = append(routes, r)
			continue
		}
		key := config.Key{Kind: config.VirtualService, Namespace: cmpOr(r.Delegate.Namespace, root.Meta.Namespace), Name: r.Delegate.Name}
		keys = append(keys, key)
		d := delegates[key]
		switch {
		case d == nil:
			notes = append(notes, Note{Object: root.Key(), Reason: fmt.Sprintf(
				"http[%d] is ignored: delegate %s/%s not found (a delegate is a VirtualService without hosts)", i, key.Namespace, key.Name)})
			continue
		case !visibleTo(d.Meta.Namespace, d.Spec.(*networking.VirtualService).ExportTo, s.Mesh.DefaultVirtualServiceExportTo, root.Meta.Namespace):
			notes = append(notes, Note{Object: root.Key(), By: key, Reason: fmt.Sprintf(
				"http[%d] is ignored: delegate %s/%s is not exported to namespace %s", i, key.Namespace, key.Name, root.Meta.Namespace)})
			continue
		}
		merged, dropped := s.mergeDelegate(r, d)
		routes = append(routes, merged...)
		for _, j := range dropped {
			notes = append(notes, Note{Object: key, By: root.Key(), Reason: fmt.Sprintf(
				"http[%d] is ignored under %s http[%d]: its match conflicts with the root's match", j, root.Key(), i)})
		}
	}
	spec.Http = routes
	return spec, keys, notes
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// mergeDelegate merges each route of delegate d under root route r; it
// returns the merged routes and the indexes of the delegate routes dropped
// for conflicting matches.
func (s *Snapshot) mergeDelegate(r *networking.HTTPRoute, d *config.Object) ([]*networking.HTTPRoute, []int) {
	dspec := d.Spec.(*networking.VirtualService)
	var out []*networking.HTTPRoute
	var dropped []int
	for j, dr := range dspec.Http {
		leaf := proto.Clone(dr).(*networking.HTTPRoute)
		s.resolveDelegateRoute(leaf, d.Meta.Namespace)
		if merged := mergeHTTPRoute(r, leaf); merged != nil {
			out = append(out, merged)
		} else {
			dropped = append(dropped, j)
		}
	}
	return out, dropped
}

// resolveDelegateRoute qualifies the short names of a delegate's route in
// the delegate's namespace, since after expansion the route belongs to the
// root, whose namespace may differ.
func (s *Snapshot) resolveDelegateRoute(r *networking.HTTPRoute, ns string) {
	resolveMatchGateways([]*networking.HTTPRoute{r}, ns)
	for _, d := range r.Route {
		if d.Destination != nil {
			d.Destination.Host = hostname.Resolve(d.Destination.Host, ns, s.DomainSuffix)
		}
	}
	if r.Mirror != nil {
		r.Mirror.Host = hostname.Resolve(r.Mirror.Host, ns, s.DomainSuffix)
	}
	for _, m := range r.Mirrors {
		if m.Destination != nil {
			m.Destination.Host = hostname.Resolve(m.Destination.Host, ns, s.DomainSuffix)
		}
	}
}

// resolveMatchGateways qualifies the gateway names of routes' matches.
func resolveMatchGateways(routes []*networking.HTTPRoute, ns string) {
	for _, r := range routes {
		for _, m := range r.Match {
			for i, g := range m.Gateways {
				m.Gateways[i] = ResolveGateway(g, ns)
			}
		}
	}
}

// mergeHTTPRoute merges a delegate route (owned by the caller) under a root
// route, or returns nil when their matches conflict. The delegate's own
// settings win; the root fills in those the delegate leaves unset.
func mergeHTTPRoute(root, leaf *networking.HTTPRoute) *networking.HTTPRoute {
	matches, conflict := mergeHTTPMatches(root.Match, leaf.Match)
	if conflict {
		return nil
	}
	leaf.Match = matches
	leaf.Name = joinNames(root.Name, leaf.Name)
	if leaf.Rewrite == nil {
		leaf.Rewrite = root.Rewrite
	}
	if leaf.Timeout == nil {
		leaf.Timeout = root.Timeout
	}
	if leaf.Retries == nil {
		leaf.Retries = root.Retries
	}
	if leaf.Fault == nil {
		leaf.Fault = root.Fault
	}
	if leaf.Mirror == nil {
		leaf.Mirror = root.Mirror
	}
	if leaf.MirrorPercent == nil { // deprecated, still honoured by Istio
		leaf.MirrorPercent = root.MirrorPercent
	}
	if leaf.MirrorPercentage == nil {
		leaf.MirrorPercentage = root.MirrorPercentage
	}
	if leaf.CorsPolicy == nil {
		leaf.CorsPolicy = root.CorsPolicy
	}
	if leaf.Headers == nil {
		leaf.Headers = root.Headers
	}
	return leaf
}

// joinNames names a merged route or match "<root>-<delegate>", or whichever
// is set.
func joinNames(root, leaf string) string {
	switch {
	case leaf == "":
		return root
	case root == "":
		return leaf
	}
	return root + "-" + leaf
}

// mergeHTTPMatches intersects the root's and the delegate's matches: every
// delegate match must fit under at least one root match, and yields one
// merged match per root match it fits under; otherwise the route conflicts.
func mergeHTTPMatches(root, leaf []*networking.HTTPMatchRequest) ([]*networking.HTTPMatchRequest, bool) {
	if len(root) == 0 {
		return leaf, false
	}
	if len(leaf) == 0 {
		return root, false
	}
	var out []*networking.HTTPMatchRequest
	for _, lm := range leaf {
		found := false
		for _, rm := range root {
			if matchConflict(rm, lm) {
				continue
			}
			out = append(out, mergeHTTPMatch(rm, lm))
			found = true
		}
		if !found {
			return nil, true
		}
	}
	return out, len(out) == 0
}

// mergeHTTPMatch fills a delegate match with the root match's conditions it
// does not set itself; maps are unions where the delegate's entries win.
func mergeHTTPMatch(root, leaf *networking.HTTPMatchRequest) *networking.HTTPMatchRequest {
	out := proto.Clone(leaf).(*networking.HTTPMatchRequest)
	out.Name = joinNames(root.Name, leaf.Name)
	for _, f := range []struct{ dst, src **networking.StringMatch }{
		{&out.Uri, &root.Uri}, {&out.Scheme, &root.Scheme}, {&out.Method, &root.Method}, {&out.Authority, &root.Authority},
	} {
		if *f.dst == nil {
			*f.dst = *f.src
		}
	}
	out.Headers = unionMatches(root.Headers, leaf.Headers)
	out.WithoutHeaders = unionMatches(root.WithoutHeaders, leaf.WithoutHeaders)
	out.QueryParams = unionMatches(root.QueryParams, leaf.QueryParams)
	if out.Port == 0 {
		out.Port = root.Port
	}
	if len(root.SourceLabels)+len(leaf.SourceLabels) > 0 {
		out.SourceLabels = map[string]string{}
		for k, v := range root.SourceLabels {
			out.SourceLabels[k] = v
		}
		for k, v := range leaf.SourceLabels {
			out.SourceLabels[k] = v
		}
	}
	if out.SourceNamespace == "" {
		out.SourceNamespace = root.SourceNamespace
	}
	if len(out.Gateways) == 0 {
		out.Gateways = root.Gateways
	}
	return out
}

func unionMatches(root, leaf map[string]*networking.StringMatch) map[string]*networking.StringMatch {
	if len(root)+len(leaf) == 0 {
		return nil
	}
	out := make(map[string]*networking.StringMatch, len(root)+len(leaf))
	for k, v := range root {
		out[k] = v
	}
	for k, v := range leaf {
		out[k] = v
	}
	return out
}

// matchConflict reports whether a delegate match cannot be narrowed under a
// root match (Istio's rules): a URI, scheme, method, authority, header or
// query condition that is not a refinement of the root's, a different
// ignoreUriCase, port or sourceNamespace, a different value for a shared
// source label, or gateways that are not a subset of the root's.
func matchConflict(root, leaf *networking.HTTPMatchRequest) bool {
	pairs := [][2]*networking.StringMatch{
		{root.Uri, leaf.Uri}, {root.Scheme, leaf.Scheme}, {root.Method, leaf.Method}, {root.Authority, leaf.Authority},
	}
	for k, v := range leaf.Headers {
		pairs = append(pairs, [2]*networking.StringMatch{root.Headers[k], v})
	}
	for k, v := range leaf.WithoutHeaders {
		pairs = append(pairs, [2]*networking.StringMatch{root.WithoutHeaders[k], v})
	}
	for k, v := range leaf.QueryParams {
		pairs = append(pairs, [2]*networking.StringMatch{root.QueryParams[k], v})
	}
	for _, p := range pairs {
		if stringMatchConflict(p[0], p[1]) {
			return true
		}
	}
	switch {
	case root.IgnoreUriCase != leaf.IgnoreUriCase,
		root.Port > 0 && leaf.Port > 0 && root.Port != leaf.Port,
		root.SourceNamespace != "" && leaf.SourceNamespace != root.SourceNamespace:
		return true
	}
	for k, v := range leaf.SourceLabels {
		if rv, ok := root.SourceLabels[k]; ok && rv != v {
			return true
		}
	}
	if len(root.Gateways) > 0 && len(leaf.Gateways) > 0 {
		for _, g := range leaf.Gateways {
			if !slices.Contains(root.Gateways, g) {
				return true
			}
		}
	}
	return false
}

// stringMatchConflict: no conflict when either side is unset; regex only
// combines with an unset side; under an exact root the delegate must be the
// same exact value; under a prefix root it must be a longer (or equal)
// prefix or an exact value within it.
func stringMatchConflict(root, leaf *networking.StringMatch) bool {
	if root == nil || leaf == nil {
		return false
	}
	if root.GetRegex() != "" || leaf.GetRegex() != "" {
		return true
	}
	if exact := root.GetExact(); exact != "" {
		return leaf.GetPrefix() != "" || leaf.GetExact() != exact
	}
	if prefix := root.GetPrefix(); prefix != "" {
		switch {
		case leaf.GetPrefix() != "":
			return !strings.HasPrefix(leaf.GetPrefix(), prefix)
		case leaf.GetExact() != "":
			return !strings.HasPrefix(leaf.GetExact(), prefix)
		}
	}
	return true
}
