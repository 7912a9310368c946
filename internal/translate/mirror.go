package translate

import (
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/lateenmesh/lateen/internal/mesh"
)

// mirrorPolicies converts a route's mirrors as Istio does: mirror with
// mirrorPercentage (or the legacy integer mirrorPercent; 100% when neither
// is set), then each of mirrors with its own percentage. An explicit 0%
// mirrors nothing.
func (b *builder) mirrorPolicies(vs *mesh.VirtualService, hr *networking.HTTPRoute, rc routeContext) []*routev3.RouteAction_RequestMirrorPolicy {
	var out []*routev3.RouteAction_RequestMirrorPolicy
	if hr.Mirror != nil {
		if f := mirrorFraction(hr); f != nil {
			out = append(out, b.mirrorPolicy(vs, hr.Mirror, rc, f))
		}
	}
	for _, m := range hr.Mirrors {
		if f := policyFraction(m.Percentage); f != nil && m.Destination != nil {
			out = append(out, b.mirrorPolicy(vs, m.Destination, rc, f))
		}
	}
	return out
}

func (b *builder) mirrorPolicy(vs *mesh.VirtualService, d *networking.Destination, rc routeContext, f *typev3.FractionalPercent) *routev3.RouteAction_RequestMirrorPolicy {
	return &routev3.RouteAction_RequestMirrorPolicy{
		Cluster:         b.destinationCluster(vs, d, rc),
		RuntimeFraction: &corev3.RuntimeFractionalPercent{DefaultValue: f},
		TraceSampled:    wrapperspb.Bool(false),
	}
}

func mirrorFraction(hr *networking.HTTPRoute) *typev3.FractionalPercent {
	switch {
	case hr.MirrorPercentage != nil:
		return policyFraction(hr.MirrorPercentage)
	case hr.MirrorPercent != nil:
		if v := hr.MirrorPercent.GetValue(); v > 0 {
			return &typev3.FractionalPercent{Numerator: v, Denominator: typev3.FractionalPercent_HUNDRED}
		}
		return nil
	}
	return &typev3.FractionalPercent{Numerator: 100, Denominator: typev3.FractionalPercent_HUNDRED}
}

// policyFraction is a mirror's share: 100% when unset, none when 0.
func policyFraction(p *networking.Percent) *typev3.FractionalPercent {
	switch {
	case p == nil:
		return &typev3.FractionalPercent{Numerator: 100, Denominator: typev3.FractionalPercent_HUNDRED}
	case p.GetValue() > 0:
		return percentToFraction(p)
	}
	return nil
}
