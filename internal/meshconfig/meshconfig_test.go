package meshconfig

import (
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
)

func TestApplyKeepsDefaultsAndReplacesLists(t *testing.T) {
	user := &meshv1alpha1.MeshConfig{
		AccessLogFile:          "/dev/stdout",
		DefaultServiceExportTo: []string{"."},
		EnableAutoMtls:         wrapperspb.Bool(false),
		DefaultConfig:          &meshv1alpha1.ProxyConfig{Tracing: &meshv1alpha1.Tracing{Sampling: 50}},
	}
	mc := Apply(user)
	if mc.AccessLogFile != "/dev/stdout" {
		t.Errorf("accessLogFile = %q", mc.AccessLogFile)
	}
	if mc.TrustDomain != DefaultTrustDomain || mc.RootNamespace != DefaultRootNamespace {
		t.Errorf("defaults lost: trustDomain %q rootNamespace %q", mc.TrustDomain, mc.RootNamespace)
	}
	if got := mc.DefaultServiceExportTo; len(got) != 1 || got[0] != "." {
		t.Errorf("defaultServiceExportTo = %v, want [.]", got)
	}
	if mc.EnableAutoMtls.GetValue() {
		t.Error("enableAutoMtls should be false")
	}
	if mc.DefaultConfig.Tracing.Sampling != 50 || mc.DefaultConfig.ProxyAdminPort != 15000 {
		t.Errorf("defaultConfig not merged field by field: %v", mc.DefaultConfig)
	}
	if Default().AccessLogFile != "" {
		t.Error("Apply modified the defaults")
	}
}

func TestEffectiveKeepsExplicitZeroValues(t *testing.T) {
	file := []byte(`{"accessLogFile":"/dev/stdout","defaultConfig":{"tracing":{"sampling":0}}}`)
	cm := []byte(`{"outboundTrafficPolicy":{"mode":"REGISTRY_ONLY"},"defaultServiceExportTo":["."]}`)
	mc, err := Effective(file, cm)
	if err != nil {
		t.Fatal(err)
	}
	if mc.OutboundTrafficPolicy.Mode != meshv1alpha1.MeshConfig_OutboundTrafficPolicy_REGISTRY_ONLY {
		t.Errorf("outboundTrafficPolicy.mode = %v, want REGISTRY_ONLY (the enum's zero value, over the ALLOW_ANY default)", mc.OutboundTrafficPolicy.Mode)
	}
	if mc.DefaultConfig.Tracing.Sampling != 0 || mc.DefaultConfig.ProxyAdminPort != 15000 {
		t.Errorf("defaultConfig: sampling %v (want 0), admin port %d (want the default 15000)", mc.DefaultConfig.Tracing.Sampling, mc.DefaultConfig.ProxyAdminPort)
	}
	if mc.AccessLogFile != "/dev/stdout" || mc.TrustDomain != DefaultTrustDomain {
		t.Errorf("accessLogFile %q trustDomain %q", mc.AccessLogFile, mc.TrustDomain)
	}
	if got := mc.DefaultServiceExportTo; len(got) != 1 || got[0] != "." {
		t.Errorf("defaultServiceExportTo = %v", got)
	}
}
