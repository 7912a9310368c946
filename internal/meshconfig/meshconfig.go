// Package meshconfig holds Istio's MeshConfig defaults and merges a user's
// mesh configuration over them.
package meshconfig

import (
	"encoding/json"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	networking "istio.io/api/networking/v1alpha3"
)

// Defaults used by Istio when MeshConfig leaves a field unset.
const (
	DefaultRootNamespace = "istio-system"
	DefaultTrustDomain   = "cluster.local"
	DefaultDomainSuffix  = "cluster.local"
)

// Default returns a MeshConfig with Istio's defaults.
func Default() *meshv1alpha1.MeshConfig {
	return &meshv1alpha1.MeshConfig{
		ProxyListenPort:        15001,
		ProxyInboundListenPort: 15006,
		ConnectTimeout:         durationpb.New(10 * time.Second),
		IngressClass:           "istio",
		IngressService:         "istio-ingressgateway",
		EnableTracing:          true,
		AccessLogEncoding:      meshv1alpha1.MeshConfig_TEXT,
		DefaultConfig:          defaultProxyConfig(),
		OutboundTrafficPolicy: &meshv1alpha1.MeshConfig_OutboundTrafficPolicy{
			Mode: meshv1alpha1.MeshConfig_OutboundTrafficPolicy_ALLOW_ANY,
		},
		InboundTrafficPolicy: &meshv1alpha1.MeshConfig_InboundTrafficPolicy{
			Mode: meshv1alpha1.MeshConfig_InboundTrafficPolicy_PASSTHROUGH,
		},
		EnableAutoMtls:                 wrapperspb.Bool(true),
		TrustDomain:                    DefaultTrustDomain,
		RootNamespace:                  DefaultRootNamespace,
		DnsRefreshRate:                 durationpb.New(60 * time.Second),
		LocalityLbSetting:              &networking.LocalityLoadBalancerSetting{Enabled: wrapperspb.Bool(true)},
		DefaultServiceExportTo:         []string{"*"},
		DefaultVirtualServiceExportTo:  []string{"*"},
		DefaultDestinationRuleExportTo: []string{"*"},
		H2UpgradePolicy:                meshv1alpha1.MeshConfig_DO_NOT_UPGRADE,
		EnablePrometheusMerge:          wrapperspb.Bool(true),
		ProtocolDetectionTimeout:       durationpb.New(0),
		VerifyCertificateAtClient:      wrapperspb.Bool(true),
		IngressControllerMode:          meshv1alpha1.MeshConfig_STRICT,
		IngressSelector:                "ingressgateway",
	}
}

func defaultProxyConfig() *meshv1alpha1.ProxyConfig {
	return &meshv1alpha1.ProxyConfig{
		ConfigPath:               "./etc/istio/proxy",
		DrainDuration:            durationpb.New(45 * time.Second),
		TerminationDrainDuration: durationpb.New(5 * time.Second),
		DiscoveryAddress:         "istiod.istio-system.svc:15012",
		ProxyAdminPort:           15000,
		StatusPort:               15020,
		ControlPlaneAuthPolicy:   meshv1alpha1.AuthenticationPolicy_MUTUAL_TLS,
		Concurrency:              wrapperspb.Int32(2),
		Tracing: &meshv1alpha1.Tracing{
			Sampling: 1.0,
		},
	}
}

// Effective returns Istio's defaults with each layer merged over them in
// order, as Istio merges mesh files: objects merge key by key, lists and
// scalars replace. Layers are MeshConfig JSON as config.DecodeMeshConfig
// returns it (canonical field names), already validated; merging at the
// JSON level keeps fields written with their zero value (an enum's first
// value, a 0 sampling rate), which a proto merge would lose.
func Effective(layers ...[]byte) (*meshv1alpha1.MeshConfig, error) {
	base, err := protojson.Marshal(Default())
	if err != nil {
		return nil, err
	}
	var merged map[string]any
	if err := json.Unmarshal(base, &merged); err != nil {
		return nil, err
	}
	for i, l := range layers {
		if len(l) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			return nil, fmt.Errorf("mesh config layer %d: %w", i, err)
		}
		merged = mergeJSON(merged, m)
	}
	out, err := json.Marshal(merged)
	if err != nil {
		return nil, err
	}
	mc := &meshv1alpha1.MeshConfig{}
	if err := protojson.Unmarshal(out, mc); err != nil {
		return nil, fmt.Errorf("mesh config: %w", err)
	}
	return mc, nil
}

func mergeJSON(dst, src map[string]any) map[string]any {
	for k, v := range src {
		sub, isObj := v.(map[string]any)
		cur, curObj := dst[k].(map[string]any)
		if isObj && curObj {
			dst[k] = mergeJSON(cur, sub)
			continue
		}
		dst[k] = v
	}
	return dst
}

// Apply returns Istio's defaults with user's fields merged over them; user
// may be nil. Prefer Effective, which keeps explicit zero values.
func Apply(user *meshv1alpha1.MeshConfig) *meshv1alpha1.MeshConfig {
	if user == nil {
		return Default()
	}
	return Merge(Default(), user)
}

// Merge returns base with over's set fields merged over it, as Istio merges
// mesh files: messages merge field by field, lists and maps are replaced.
// Neither input is modified.
func Merge(base, over *meshv1alpha1.MeshConfig) *meshv1alpha1.MeshConfig {
	out := proto.Clone(base).(*meshv1alpha1.MeshConfig)
	mergeReplace(out.ProtoReflect(), over.ProtoReflect())
	return out
}

func mergeReplace(dst, src protoreflect.Message) {
	src.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() || fd.IsMap():
			dst.Set(fd, cloneValue(dst, fd, v))
		case fd.Message() != nil && !isWellKnown(fd.Message()) && dst.Has(fd):
			mergeReplace(dst.Mutable(fd).Message(), v.Message())
		case fd.Message() != nil:
			dst.Set(fd, protoreflect.ValueOfMessage(proto.Clone(v.Message().Interface()).ProtoReflect()))
		default:
			dst.Set(fd, v)
		}
		return true
	})
}

func cloneValue(dst protoreflect.Message, fd protoreflect.FieldDescriptor, v protoreflect.Value) protoreflect.Value {
	tmp := dst.New()
	tmp.Set(fd, v)
	return proto.Clone(tmp.Interface()).ProtoReflect().Get(fd)
}

// isWellKnown reports whether md is a google.protobuf type, which is replaced
// as a whole rather than merged.
func isWellKnown(md protoreflect.MessageDescriptor) bool {
	return md.ParentFile().Package() == "google.protobuf"
}
