// Package validate applies Istio's semantic validation rules to decoded
// configuration objects: the checks Istio's admission webhook makes beyond the
// schema (hosts, ports, durations, mutually exclusive settings, ...), written
// down here for Lateen. It also rejects fields Lateen does not implement yet
// (see support.go), so that such configuration is refused rather than ignored.
//
// Every problem is reported with the full path of the field from the object
// root, using the JSON (camelCase) field names, e.g.
// "spec.http[0].route[1].weight".
package validate

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	security "istio.io/api/security/v1beta1"

	"github.com/lateenmesh/lateen/internal/config"
)

// checker collects the problems found in one object.
type checker struct {
	errs config.FieldErrors
	// namespace of the object, for rules that refer to "the same namespace".
	namespace string
}

func (c *checker) errorf(p path, format string, args ...any) {
	c.errs.Add(string(p), format, args...)
}

// specValidator checks the spec of one kind; root is where the spec sits in
// the object ("spec", or "data.mesh" for the mesh ConfigMap).
type specValidator func(c *checker, root path, spec proto.Message)

// validators is the closed set of kinds Lateen validates.
var validators = map[config.Kind]specValidator{
	config.VirtualService:        typed(validateVirtualService),
	config.DestinationRule:       typed(validateDestinationRule),
	config.Gateway:               typed(validateGateway),
	config.ServiceEntry:          typed(validateServiceEntry),
	config.WorkloadEntry:         typed(validateWorkloadEntry),
	config.WorkloadGroup:         typed(validateWorkloadGroup),
	config.Sidecar:               typed(validateSidecar),
	config.PeerAuthentication:    typed(validatePeerAuthentication),
	config.AuthorizationPolicy:   typed(validateAuthorizationPolicy),
	config.RequestAuthentication: typed(validateRequestAuthentication),
	config.Telemetry:             typed(validateTelemetry),
	config.MeshConfigMap:         typed(validateMeshConfig),
}

// typed adapts a validator of one concrete spec type. A nil spec is checked
// as an empty one; a spec of another type is reported.
func typed[T proto.Message](f func(*checker, path, T)) specValidator {
	return func(c *checker, root path, spec proto.Message) {
		msg, ok := spec.(T)
		if spec == nil {
			msg, ok = msg.ProtoReflect().New().Interface().(T)
		}
		if !ok {
			var want T
			c.errorf(root, "spec is a %T, expected a %T", spec, want)
			return
		}
		if !msg.ProtoReflect().IsValid() {
			msg = msg.ProtoReflect().New().Interface().(T)
		}
		f(c, root, msg)
	}
}

// Object validates one object. It returns nil, or an error listing every
// problem: a config.FieldErrors when all problems are plain validation
// errors; when some fields are valid but not supported yet, the returned
// error also wraps config.ErrNotSupported (test with errors.Is) and still
// unwraps to the config.FieldErrors (errors.As) when there are any.
func Object(o *config.Object) error {
	if o == nil {
		return config.FieldErrors{{Msg: "no object"}}
	}
	return combine(rules(o), checkUnsupported(o, unsupported))
}

// rules applies Istio's validation rules only, without the gate on what
// Lateen does not implement yet.
func rules(o *config.Object) config.FieldErrors {
	validate, ok := validators[o.Kind]
	if !ok {
		return config.FieldErrors{{Path: "kind", Msg: fmt.Sprintf("kind %q is not one Lateen validates", o.Kind.Name)}}
	}
	c := &checker{namespace: o.Meta.Namespace}
	validateMeta(c, o)
	validate(c, specRoot(o.Kind), o.Spec)
	return c.errs
}

// MeshConfig validates a MeshConfig; at prefixes the field paths in errors
// (e.g. "data.mesh" for the istio ConfigMap, "" for a standalone mesh file).
// Unset fields take Istio's defaults and are not checked. The result is
// shaped as Object's.
func MeshConfig(at string, mc *meshv1alpha1.MeshConfig) error {
	c := &checker{}
	validateMeshConfig(c, path(at), mc)
	return combine(c.errs, gate(config.MeshConfigMap, path(at), mc, unsupported))
}

func specRoot(k config.Kind) path {
	if k == config.MeshConfigMap {
		return meshRoot
	}
	return "spec"
}

// meshRoot is where the MeshConfig sits in the istio ConfigMap.
const meshRoot path = "data.mesh"

// dryRunAnnotation may only be used on AuthorizationPolicy.
const dryRunAnnotation = "istio.io/dry-run"

func validateMeta(c *checker, o *config.Object) {
	m := o.Meta
	switch {
	case m.Name == "":
		c.errorf("metadata.name", "name is required")
	case o.Kind == config.Gateway && !isDNSLabel(m.Name):
		c.errorf("metadata.name", "gateway name %q must be a lowercase RFC 1123 label (no dots)", m.Name)
	case !isDNSSubdomain(m.Name):
		c.errorf("metadata.name", "name %q must be a lowercase RFC 1123 subdomain", m.Name)
	}
	if m.Namespace != "" && !isDNSLabel(m.Namespace) {
		c.errorf("metadata.namespace", "namespace %q must be a lowercase RFC 1123 label", m.Namespace)
	}
	v, ok := m.Annotations[dryRunAnnotation]
	if !ok {
		return
	}
	ap := path("metadata.annotations").key(dryRunAnnotation)
	if o.Kind != config.AuthorizationPolicy {
		c.errorf(ap, "the %s annotation is only supported on AuthorizationPolicy", dryRunAnnotation)
		return
	}
	if spec, ok := o.Spec.(*security.AuthorizationPolicy); ok {
		switch spec.GetAction() {
		case security.AuthorizationPolicy_ALLOW, security.AuthorizationPolicy_DENY:
		default:
			c.errorf(ap, "dry-run is only supported for action ALLOW or DENY")
		}
	}
	if v != "true" && v != "false" {
		c.errorf(ap, "must be \"true\" or \"false\", got %q", v)
	}
}

// combined is returned when some problems are unsupported fields: it reads
// like a FieldErrors and unwraps to the FieldErrors and to each
// UnsupportedError (which wraps config.ErrNotSupported).
type combined struct {
	fields      config.FieldErrors
	unsupported []*UnsupportedError
}

func combine(fields config.FieldErrors, gated []*UnsupportedError) error {
	if len(gated) == 0 {
		return fields.Err()
	}
	return &combined{fields: fields, unsupported: gated}
}

func (e *combined) Error() string {
	parts := make([]string, 0, len(e.fields)+len(e.unsupported))
	for _, f := range e.fields {
		parts = append(parts, f.Error())
	}
	for _, u := range e.unsupported {
		parts = append(parts, u.Error())
	}
	return strings.Join(parts, "; ")
}

func (e *combined) Unwrap() []error {
	var out []error
	if len(e.fields) > 0 {
		out = append(out, e.fields)
	}
	for _, u := range e.unsupported {
		out = append(out, u)
	}
	return out
}

var _ interface{ Unwrap() []error } = (*combined)(nil)
