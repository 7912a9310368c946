package config

import (
	"slices"

	"google.golang.org/protobuf/proto"
	networking "istio.io/api/networking/v1alpha3"
	security "istio.io/api/security/v1beta1"
	telemetry "istio.io/api/telemetry/v1alpha1"
)

// Kind names one configuration kind by API group and kind name. The set of
// kinds Lateen reads is closed and listed in Kinds.
type Kind struct {
	Group string
	Name  string
}

func (k Kind) String() string { return k.Name }

// IsZero reports whether k is unset.
func (k Kind) IsZero() bool { return k.Name == "" }

const (
	groupNetworking = "networking.istio.io"
	groupSecurity   = "security.istio.io"
	groupTelemetry  = "telemetry.istio.io"
)

// The kinds Lateen reads.
var (
	VirtualService        = Kind{groupNetworking, "VirtualService"}
	DestinationRule       = Kind{groupNetworking, "DestinationRule"}
	Gateway               = Kind{groupNetworking, "Gateway"}
	ServiceEntry          = Kind{groupNetworking, "ServiceEntry"}
	WorkloadEntry         = Kind{groupNetworking, "WorkloadEntry"}
	WorkloadGroup         = Kind{groupNetworking, "WorkloadGroup"}
	Sidecar               = Kind{groupNetworking, "Sidecar"}
	PeerAuthentication    = Kind{groupSecurity, "PeerAuthentication"}
	AuthorizationPolicy   = Kind{groupSecurity, "AuthorizationPolicy"}
	RequestAuthentication = Kind{groupSecurity, "RequestAuthentication"}
	Telemetry             = Kind{groupTelemetry, "Telemetry"}
	// MeshConfigMap is the ConfigMap (core group) named "istio" in the root
	// namespace whose data key "mesh" holds the MeshConfig, as on Kubernetes.
	MeshConfigMap = Kind{"", "ConfigMap"}
)

// KindInfo describes how one kind is read.
type KindInfo struct {
	Kind     Kind
	Versions []string
	// NewSpec returns an empty istio.io/api message for the spec; nil for
	// kinds whose content is not a proto spec (the mesh ConfigMap).
	NewSpec func() proto.Message
}

var kindInfos = []KindInfo{
	{VirtualService, networkingVersions, func() proto.Message { return &networking.VirtualService{} }},
	{DestinationRule, networkingVersions, func() proto.Message { return &networking.DestinationRule{} }},
	{Gateway, networkingVersions, func() proto.Message { return &networking.Gateway{} }},
	{ServiceEntry, networkingVersions, func() proto.Message { return &networking.ServiceEntry{} }},
	{WorkloadEntry, networkingVersions, func() proto.Message { return &networking.WorkloadEntry{} }},
	{WorkloadGroup, networkingVersions, func() proto.Message { return &networking.WorkloadGroup{} }},
	{Sidecar, networkingVersions, func() proto.Message { return &networking.Sidecar{} }},
	{PeerAuthentication, securityVersions, func() proto.Message { return &security.PeerAuthentication{} }},
	{AuthorizationPolicy, securityVersions, func() proto.Message { return &security.AuthorizationPolicy{} }},
	{RequestAuthentication, securityVersions, func() proto.Message { return &security.RequestAuthentication{} }},
	{Telemetry, []string{"v1", "v1alpha1"}, func() proto.Message { return &telemetry.Telemetry{} }},
	{MeshConfigMap, []string{"v1"}, nil},
}

var (
	networkingVersions = []string{"v1", "v1beta1", "v1alpha3"}
	securityVersions   = []string{"v1", "v1beta1"}
)

// Kinds returns every kind Lateen reads, in a stable order.
func Kinds() []Kind {
	out := make([]Kind, len(kindInfos))
	for i, ki := range kindInfos {
		out[i] = ki.Kind
	}
	return out
}

// LookupKind finds a kind by apiVersion ("group/version" or "version") and
// kind name. ok is false when the pair is not one Lateen reads; known then
// says whether the kind name exists under another version.
func LookupKind(apiVersion, kind string) (info KindInfo, ok bool, known bool) {
	group, version := splitAPIVersion(apiVersion)
	for _, ki := range kindInfos {
		if ki.Kind.Name != kind || ki.Kind.Group != group {
			continue
		}
		if slices.Contains(ki.Versions, version) {
			return ki, true, true
		}
		return ki, false, true
	}
	return KindInfo{}, false, false
}

func splitAPIVersion(apiVersion string) (group, version string) {
	for i := len(apiVersion) - 1; i >= 0; i-- {
		if apiVersion[i] == '/' {
			return apiVersion[:i], apiVersion[i+1:]
		}
	}
	return "", apiVersion
}
