package xdsclient

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
)

// Decoder turns one xDS resource into its slim struct from package resource.
type Decoder interface {
	// Decode returns the resource name and value. Errors are *FieldError
	// relative to the resource.
	Decode(d *Decoders, a *anypb.Any) (name string, value any, err error)
}

// DecoderFunc adapts a function to Decoder.
type DecoderFunc func(d *Decoders, a *anypb.Any) (string, any, error)

// Decode calls f.
func (f DecoderFunc) Decode(d *Decoders, a *anypb.Any) (string, any, error) { return f(d, a) }

// FilterDecoder decodes the typed_config of an HTTP filter or of its per-route
// override (typed_per_filter_config).
type FilterDecoder func(a *anypb.Any) (any, error)

// NetworkDecoder decodes a network filter's typed_config into the chain.
type NetworkDecoder func(d *Decoders, a *anypb.Any, fc *resource.FilterChain) error

// Decoders is the registry of decoders, each keyed by an xDS type URL: the
// resource types, the network filters, the HTTP filters and their per-route
// configs. Anything without a registered decoder is NACKed.
type Decoders struct {
	resources map[string]Decoder
	network   map[string]NetworkDecoder
	http      map[string]FilterDecoder
	perRoute  map[string]FilterDecoder
}

// NewDecoders returns a registry with everything docs/xds.md lists that this
// proxy implements.
func NewDecoders() *Decoders {
	d := &Decoders{
		resources: map[string]Decoder{},
		network:   map[string]NetworkDecoder{},
		http:      map[string]FilterDecoder{},
		perRoute:  map[string]FilterDecoder{},
	}
	d.Register(resource.ListenerType, DecoderFunc(decodeListener))
	d.Register(resource.RouteType, DecoderFunc(decodeRouteConfigAny))
	d.Register(resource.ClusterType, DecoderFunc(decodeCluster))
	d.Register(resource.EndpointType, DecoderFunc(decodeLoadAssignment))
	d.Register(resource.SecretType, DecoderFunc(decodeSecret))
	d.RegisterNetworkFilter(hcmTypeURL, decodeHCM)
	d.RegisterNetworkFilter(tcpProxyTypeURL, decodeTCPProxy)
	registerHTTPFilters(d)
	registerIstioFilters(d)
	return d
}

// Register sets the decoder of a resource type.
func (d *Decoders) Register(typeURL string, dec Decoder) { d.resources[typeURL] = dec }

// RegisterNetworkFilter sets the decoder of a network filter type.
func (d *Decoders) RegisterNetworkFilter(typeURL string, dec NetworkDecoder) {
	d.network[typeURL] = dec
}

// RegisterHTTPFilter sets the decoder of an HTTP filter type.
func (d *Decoders) RegisterHTTPFilter(typeURL string, dec FilterDecoder) { d.http[typeURL] = dec }

// RegisterPerRoute sets the decoder of a per-route filter config type.
func (d *Decoders) RegisterPerRoute(typeURL string, dec FilterDecoder) { d.perRoute[typeURL] = dec }

// Types returns whether a resource type has a decoder.
func (d *Decoders) Has(typeURL string) bool { return d.resources[typeURL] != nil }

// decode decodes one resource of typeURL. The error names the resource.
func (d *Decoders) decode(typeURL string, a *anypb.Any, index int) (string, any, error) {
	kind := shortType(typeURL)
	dec := d.resources[typeURL]
	if dec == nil {
		return "", nil, fmt.Errorf("%s: resource type not supported by lateen-proxy", typeURL)
	}
	if a.GetTypeUrl() != typeURL {
		return "", nil, fmt.Errorf("%s[%d]: type URL %q in a %s response", kind, index, a.GetTypeUrl(), kind)
	}
	name, v, err := dec.Decode(d, a)
	if err != nil {
		if name == "" {
			return "", nil, fmt.Errorf("%s[%d]: %w", kind, index, err)
		}
		return name, nil, fmt.Errorf("%s %q: %w", kind, name, err)
	}
	return name, v, nil
}

// unpack unmarshals a into m keeping unknown fields, then checks that only
// allowlisted fields are set.
func unpack(a *anypb.Any, m proto.Message) error {
	if err := a.UnmarshalTo(m); err != nil {
		return fieldErr("", "cannot decode %s: %v", a.GetTypeUrl(), err)
	}
	return checkFields(m.ProtoReflect(), "")
}

// duration converts a proto duration, rejecting negative values.
func duration(d *durationpb.Duration, path string) (time.Duration, error) {
	if d == nil {
		return 0, nil
	}
	if err := d.CheckValid(); err != nil {
		return 0, fieldErr(path, "%v", err)
	}
	v := d.AsDuration()
	if v < 0 {
		return 0, fieldErr(path, "negative duration")
	}
	return v, nil
}
