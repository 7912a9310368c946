package validate

import (
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/lateenmesh/lateen/internal/config"
)

// Unsupported names a field (or one value of a field) that is valid Istio
// configuration but not implemented by Lateen yet. Objects that set it are
// rejected with an error wrapping config.ErrNotSupported, never silently
// accepted.
type Unsupported struct {
	Kind config.Kind
	// Path is a pattern over JSON field names from the object root, "[]"
	// standing for any list index or map key: "spec.http[].mirrors",
	// "spec.trafficPolicy.tunnel". It starts with "spec", or with
	// "data.mesh" for config.MeshConfigMap (which also covers standalone
	// mesh files).
	Path string
	// Value, when set, restricts the entry to the field having this value:
	// an enum value name ("DNS"), a string, a number or "true"/"false". A
	// scalar field that is not written counts as its default value.
	// Without Value, the entry matches when the field is set: a message or
	// scalar present, a list or map not empty.
	Value  string
	Reason string
}

// unsupported lists what Lateen does not implement yet. Keep it in sync with
// the translation code: an entry is removed when its feature lands.
var unsupported = []Unsupported{}

// UnsupportedError reports one use of an unsupported field.
type UnsupportedError struct {
	Path   string
	Reason string
}

func (e *UnsupportedError) Error() string {
	return e.Path + ": " + e.Reason + ": " + config.ErrNotSupported.Error()
}

// Unwrap makes errors.Is(err, config.ErrNotSupported) hold.
func (e *UnsupportedError) Unwrap() error { return config.ErrNotSupported }

// unsupportedKinds are kinds Lateen reads but does not enforce at all yet;
// any object of such a kind is rejected.
var unsupportedKinds = map[config.Kind]string{}

// checkUnsupported reports every field of o that matches an entry of table,
// or the whole object when its kind is not enforced yet.
func checkUnsupported(o *config.Object, table []Unsupported) []*UnsupportedError {
	if o == nil || o.Spec == nil {
		return nil
	}
	if reason, ok := unsupportedKinds[o.Kind]; ok {
		return []*UnsupportedError{{Path: "kind", Reason: reason}}
	}
	return gate(o.Kind, specRoot(o.Kind), o.Spec, table)
}

// gate matches the entries of table for kind against msg, which sits at
// root in the object.
func gate(kind config.Kind, root path, msg proto.Message, table []Unsupported) []*UnsupportedError {
	m := msg.ProtoReflect()
	if !m.IsValid() {
		return nil
	}
	var out []*UnsupportedError
	for _, u := range table {
		if u.Kind != kind {
			continue
		}
		segs, ok := patternSegments(kind, u.Path)
		if !ok {
			continue
		}
		for _, p := range matchFields(m, root, segs, u.Value) {
			out = append(out, &UnsupportedError{Path: string(p), Reason: u.Reason})
		}
	}
	return out
}

// segment is one step of a pattern: a field name, and whether it is
// followed by "[]".
type segment struct {
	name string
	each bool
}

// patternSegments splits a pattern after its root ("spec." or "data.mesh.").
func patternSegments(kind config.Kind, pattern string) ([]segment, bool) {
	rest, ok := strings.CutPrefix(pattern, string(specRoot(kind))+".")
	if !ok || rest == "" {
		return nil, false
	}
	var segs []segment
	for _, s := range strings.Split(rest, ".") {
		name, each := strings.CutSuffix(s, "[]")
		if name == "" || strings.ContainsAny(name, "[]") {
			return nil, false
		}
		segs = append(segs, segment{name: name, each: each})
	}
	return segs, true
}

func fieldByName(md protoreflect.MessageDescriptor, name string) protoreflect.FieldDescriptor {
	fields := md.Fields()
	if fd := fields.ByJSONName(name); fd != nil {
		return fd
	}
	return fields.ByTextName(name)
}

// matchFields returns the concrete paths in m (at p) that segs selects and
// that are set (or have value, when value is given).
func matchFields(m protoreflect.Message, p path, segs []segment, value string) []path {
	seg := segs[0]
	fd := fieldByName(m.Descriptor(), seg.name)
	if fd == nil {
		return nil
	}
	fp := p.field(fd.JSONName())
	last := len(segs) == 1
	switch {
	case fd.IsList():
		return matchList(m.Get(fd).List(), fd, fp, seg, segs[1:], value)
	case fd.IsMap():
		return matchMap(m.Get(fd).Map(), fd, fp, seg, segs[1:], value)
	case seg.each:
		return nil
	case last:
		if fieldMatches(m, fd, value) {
			return []path{fp}
		}
		return nil
	case fd.Message() != nil && m.Has(fd):
		return matchFields(m.Get(fd).Message(), fp, segs[1:], value)
	}
	return nil
}

func matchList(l protoreflect.List, fd protoreflect.FieldDescriptor, p path, seg segment, rest []segment, value string) []path {
	if !seg.each {
		if len(rest) == 0 && l.Len() > 0 && (value == "" || anyEqual(l, fd, value)) {
			return []path{p}
		}
		return nil
	}
	var out []path
	for i := 0; i < l.Len(); i++ {
		out = append(out, matchElem(l.Get(i), fd, p.index(i), rest, value)...)
	}
	return out
}

func anyEqual(l protoreflect.List, fd protoreflect.FieldDescriptor, value string) bool {
	for i := 0; i < l.Len(); i++ {
		if valueString(fd, l.Get(i)) == value {
			return true
		}
	}
	return false
}

func matchMap(mp protoreflect.Map, fd protoreflect.FieldDescriptor, p path, seg segment, rest []segment, value string) []path {
	if !seg.each {
		if len(rest) == 0 && mp.Len() > 0 && value == "" {
			return []path{p}
		}
		return nil
	}
	vals := map[string]protoreflect.Value{}
	mp.Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
		vals[k.String()] = v
		return true
	})
	var out []path
	for _, k := range sortedKeys(vals) {
		out = append(out, matchElem(vals[k], fd.MapValue(), p.key(k), rest, value)...)
	}
	return out
}

// matchElem matches one list element or map value (described by fd).
func matchElem(v protoreflect.Value, fd protoreflect.FieldDescriptor, p path, rest []segment, value string) []path {
	if len(rest) == 0 {
		if value == "" || valueString(fd, v) == value {
			return []path{p}
		}
		return nil
	}
	if fd.Message() == nil {
		return nil
	}
	return matchFields(v.Message(), p, rest, value)
}

// fieldMatches reports whether a singular field is set, or has value.
func fieldMatches(m protoreflect.Message, fd protoreflect.FieldDescriptor, value string) bool {
	if value == "" {
		return m.Has(fd)
	}
	if od := fd.ContainingOneof(); od != nil && !m.Has(fd) {
		return false
	}
	if fd.Message() != nil {
		if !m.Has(fd) {
			return false
		}
		inner := fd.Message().Fields().ByName("value")
		return inner != nil && valueString(inner, m.Get(fd).Message().Get(inner)) == value
	}
	return valueString(fd, m.Get(fd)) == value
}

// valueString renders a scalar for comparison with Unsupported.Value.
func valueString(fd protoreflect.FieldDescriptor, v protoreflect.Value) string {
	if fd.Kind() == protoreflect.EnumKind {
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return string(ev.Name())
		}
	}
	if fd.Message() != nil {
		return ""
	}
	return v.String()
}
