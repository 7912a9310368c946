package xdsclient

import (
	udpatypev1 "github.com/cncf/xds/go/udpa/type/v1"
	xdstypev3 "github.com/cncf/xds/go/xds/type/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// TypedStruct type URLs: extensions whose config types are not Envoy's
// own (Istio's istio.stats, istio.metadata_exchange) travel as a
// TypedStruct holding their type URL and a Struct value.
const (
	TypedStructTypeURL     = "type.googleapis.com/xds.type.v3.TypedStruct"
	UDPATypedStructTypeURL = "type.googleapis.com/udpa.type.v1.TypedStruct"
)

// configTypeURL is the type URL a typed_config is registered under: the
// one inside a TypedStruct, else its own.
func configTypeURL(a *anypb.Any) string {
	if u, _, err := UnpackTypedStruct(a); err == nil {
		return u
	}
	return a.GetTypeUrl()
}

// UnpackTypedStruct returns the type URL and value of a TypedStruct (xds
// or udpa); it fails for any other type.
func UnpackTypedStruct(a *anypb.Any) (string, *structpb.Struct, error) {
	switch a.GetTypeUrl() {
	case TypedStructTypeURL:
		var ts xdstypev3.TypedStruct
		if err := a.UnmarshalTo(&ts); err != nil {
			return "", nil, fieldErr("", "cannot decode %s: %v", a.GetTypeUrl(), err)
		}
		return ts.GetTypeUrl(), ts.GetValue(), nil
	case UDPATypedStructTypeURL:
		var ts udpatypev1.TypedStruct
		if err := a.UnmarshalTo(&ts); err != nil {
			return "", nil, fieldErr("", "cannot decode %s: %v", a.GetTypeUrl(), err)
		}
		return ts.GetTypeUrl(), ts.GetValue(), nil
	}
	return "", nil, fieldErr("", "%s is not a TypedStruct", a.GetTypeUrl())
}
