package xdsclient

import (
	"fmt"
	"strings"

	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

const (
	hcmTypeURL    = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
	routerTypeURL = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
)

func decodeHCM(d *Decoders, a *anypb.Any, fc *resource.FilterChain) error {
	var pb hcmv3.HttpConnectionManager
	if err := unpack(a, &pb); err != nil {
		return err
	}
	h := &resource.HTTPConnectionManager{
		StatPrefix:        pb.GetStatPrefix(),
		GenerateRequestID: pb.GetGenerateRequestId() == nil || pb.GetGenerateRequestId().GetValue(),
		UseRemoteAddress:  pb.GetUseRemoteAddress().GetValue(),
		ServerName:        pb.GetServerName(),
		NormalizePath:     pb.GetNormalizePath().GetValue(),
		MergeSlashes:      pb.GetMergeSlashes(),
		ForwardClientCert: pb.GetForwardClientCertDetails().String(),
	}
	if pb.GetCodecType() != hcmv3.HttpConnectionManager_AUTO {
		return fieldErr("codec_type", "only AUTO is supported, got %s", pb.GetCodecType())
	}
	if err := decodeHCMRoutes(d, &pb, h); err != nil {
		return err
	}
	if err := decodeHCMTimeouts(&pb, h); err != nil {
		return err
	}
	if s := pb.GetSetCurrentClientCertDetails(); s != nil {
		h.SetCurrentCertParts = certParts(s)
	}
	for i, u := range pb.GetUpgradeConfigs() {
		if len(u.GetFilters()) > 0 {
			return fieldErr(fmt.Sprintf("upgrade_configs[%d].filters", i), "field not supported by lateen-proxy")
		}
		h.UpgradeTypes = append(h.UpgradeTypes, resource.UpgradeConfig{
			Type: strings.ToLower(u.GetUpgradeType()), Enabled: u.GetEnabled() == nil || u.GetEnabled().GetValue(),
		})
	}
	if err := decodeHCMObservability(&pb, h); err != nil {
		return err
	}
	filters, err := decodeHTTPFilters(d, pb.GetHttpFilters())
	if err != nil {
		return err
	}
	h.Filters = filters
	fc.HTTP = h
	return nil
}

func decodeHCMRoutes(d *Decoders, pb *hcmv3.HttpConnectionManager, h *resource.HTTPConnectionManager) error {
	switch {
	case pb.GetRds() != nil:
		rds := pb.GetRds()
		if rds.GetConfigSource().GetAds() == nil {
			return fieldErr("rds.config_source", "only ads is supported")
		}
		if rds.GetRouteConfigName() == "" {
			return fieldErr("rds.route_config_name", "empty")
		}
		h.RDSName = rds.GetRouteConfigName()
	case pb.GetRouteConfig() != nil:
		rc, err := decodeRouteConfig(d, pb.GetRouteConfig())
		if err != nil {
			return under("route_config", err)
		}
		h.RouteConfig = rc
	default:
		return fieldErr("route_specifier", "rds or route_config is required")
	}
	return nil
}

func decodeHCMTimeouts(pb *hcmv3.HttpConnectionManager, h *resource.HTTPConnectionManager) error {
	var err error
	if h.StreamIdleTimeout, err = duration(pb.GetStreamIdleTimeout(), "stream_idle_timeout"); err != nil {
		return err
	}
	if h.RequestTimeout, err = duration(pb.GetRequestTimeout(), "request_timeout"); err != nil {
		return err
	}
	return nil
}

func certParts(s *hcmv3.HttpConnectionManager_SetCurrentClientCertDetails) []string {
	var parts []string
	if s.GetSubject().GetValue() {
		parts = append(parts, "Subject")
	}
	if s.GetCert() {
		parts = append(parts, "Cert")
	}
	if s.GetChain() {
		parts = append(parts, "Chain")
	}
	if s.GetDns() {
		parts = append(parts, "DNS")
	}
	if s.GetUri() {
		parts = append(parts, "URI")
	}
	return parts
}

func decodeHTTPFilters(d *Decoders, pbs []*hcmv3.HttpFilter) ([]resource.HTTPFilter, error) {
	if len(pbs) == 0 {
		return nil, fieldErr("http_filters", "no HTTP filter (the router is required)")
	}
	out := make([]resource.HTTPFilter, 0, len(pbs))
	for i, f := range pbs {
		path := fmt.Sprintf("http_filters[%d]", i)
		if f.GetTypedConfig() == nil {
			return nil, fieldErr(path+".typed_config", "required")
		}
		typeURL := configTypeURL(f.GetTypedConfig())
		dec := d.http[typeURL]
		if dec == nil {
			return nil, fieldErr(path+".typed_config", "HTTP filter type %q not supported by lateen-proxy", typeURL)
		}
		cfg, err := dec(f.GetTypedConfig())
		if err != nil {
			return nil, under(path+".typed_config", err)
		}
		isRouter := typeURL == routerTypeURL
		if isRouter != (i == len(pbs)-1) {
			return nil, fieldErr(path, "the router must be the last HTTP filter, and only the last")
		}
		out = append(out, resource.HTTPFilter{Name: f.GetName(), TypeURL: typeURL, Config: cfg})
	}
	return out, nil
}
