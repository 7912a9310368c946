package config

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// checkMessage walks a decoded JSON value against a proto message descriptor
// and records, with field paths, every unknown field, wrong type and bad enum
// value. It returns the value normalised for protojson (durations written as
// Go durations, e.g. "15m", become "900s"). Checking first gives errors that
// name the field, which protojson alone does not.
func checkMessage(path string, v any, md protoreflect.MessageDescriptor, errs *FieldErrors) any {
	if v == nil {
		return nil
	}
	switch md.FullName() {
	case "google.protobuf.Duration":
		return checkDuration(path, v, errs)
	case "google.protobuf.Struct":
		if _, ok := v.(map[string]any); !ok {
			errs.Add(path, "expected an object, got %s", jsonKind(v))
		}
		return v
	case "google.protobuf.Value", "google.protobuf.ListValue":
		return v
	case "google.protobuf.Timestamp", "google.protobuf.FieldMask":
		return checkString(path, v, errs)
	}
	if isWrapper(md) {
		return checkScalar(path, v, md.Fields().ByName("value"), errs)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		errs.Add(path, "expected an object, got %s", jsonKind(v))
		return v
	}
	fields := md.Fields()
	oneofSeen := map[protoreflect.FullName]string{}
	for _, name := range sortedKeys(obj) {
		fd := fields.ByJSONName(name)
		if fd == nil {
			fd = fields.ByTextName(name)
		}
		fpath := joinPath(path, name)
		if fd == nil {
			errs.Add(fpath, "unknown field %q", name)
			continue
		}
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() && obj[name] != nil {
			if other, dup := oneofSeen[od.FullName()]; dup {
				errs.Add(fpath, "only one of %q and %q may be set", other, name)
			}
			oneofSeen[od.FullName()] = name
		}
		v := checkField(fpath, obj[name], fd, errs)
		if jn := fd.JSONName(); jn != name {
			// Canonical (camelCase) keys let layers of configuration be
			// merged as JSON.
			if _, dup := obj[jn]; dup {
				errs.Add(fpath, "field set twice, as %q and %q", name, jn)
			}
			delete(obj, name)
			obj[jn] = v
			continue
		}
		obj[name] = v
	}
	return obj
}

func checkField(path string, v any, fd protoreflect.FieldDescriptor, errs *FieldErrors) any {
	if v == nil {
		return nil
	}
	switch {
	case fd.IsMap():
		obj, ok := v.(map[string]any)
		if !ok {
			errs.Add(path, "expected an object (map), got %s", jsonKind(v))
			return v
		}
		for _, k := range sortedKeys(obj) {
			kpath := fmt.Sprintf("%s[%s]", path, k)
			checkMapKey(kpath, k, fd.MapKey(), errs)
			obj[k] = checkSingular(kpath, obj[k], fd.MapValue(), errs)
		}
		return obj
	case fd.IsList():
		list, ok := v.([]any)
		if !ok {
			errs.Add(path, "expected a list, got %s", jsonKind(v))
			return v
		}
		for i := range list {
			list[i] = checkSingular(fmt.Sprintf("%s[%d]", path, i), list[i], fd, errs)
		}
		return list
	default:
		return checkSingular(path, v, fd, errs)
	}
}

func checkSingular(path string, v any, fd protoreflect.FieldDescriptor, errs *FieldErrors) any {
	if v == nil {
		return nil
	}
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return checkMessage(path, v, fd.Message(), errs)
	case protoreflect.EnumKind:
		return checkEnum(path, v, fd.Enum(), errs)
	default:
		return checkScalar(path, v, fd, errs)
	}
}

func checkEnum(path string, v any, ed protoreflect.EnumDescriptor, errs *FieldErrors) any {
	switch x := v.(type) {
	case string:
		if ed.Values().ByName(protoreflect.Name(x)) == nil {
			errs.Add(path, "invalid value %q (valid: %s)", x, enumNames(ed))
		}
	case json.Number:
		n, err := x.Int64()
		if err != nil || ed.Values().ByNumber(protoreflect.EnumNumber(n)) == nil {
			errs.Add(path, "invalid value %s (valid: %s)", x, enumNames(ed))
		}
	default:
		errs.Add(path, "expected one of %s, got %s", enumNames(ed), jsonKind(v))
	}
	return v
}

func checkScalar(path string, v any, fd protoreflect.FieldDescriptor, errs *FieldErrors) any {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		if _, ok := v.(bool); !ok {
			errs.Add(path, "expected a boolean, got %s", jsonKind(v))
		}
	case protoreflect.StringKind:
		return checkString(path, v, errs)
	case protoreflect.BytesKind:
		s, ok := v.(string)
		if _, err := base64.StdEncoding.DecodeString(s); !ok || err != nil {
			errs.Add(path, "expected base64-encoded bytes")
		}
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		if _, ok := v.(json.Number); !ok {
			errs.Add(path, "expected a number, got %s", jsonKind(v))
		}
	default:
		checkInteger(path, v, fd.Kind(), errs)
	}
	return v
}

func checkInteger(path string, v any, kind protoreflect.Kind, errs *FieldErrors) {
	var text string
	switch x := v.(type) {
	case json.Number:
		text = x.String()
	case string:
		if kind != protoreflect.Int64Kind && kind != protoreflect.Uint64Kind &&
			kind != protoreflect.Sint64Kind && kind != protoreflect.Fixed64Kind && kind != protoreflect.Sfixed64Kind {
			errs.Add(path, "expected an integer, got a string")
			return
		}
		text = x
	default:
		errs.Add(path, "expected an integer, got %s", jsonKind(v))
		return
	}
	lo, hi := integerRange(kind)
	if strings.HasPrefix(text, "-") {
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil || n < lo {
			errs.Add(path, "expected an integer >= %d, got %s", lo, text)
		}
		return
	}
	n, err := strconv.ParseUint(text, 10, 64)
	if err != nil || n > hi {
		errs.Add(path, "expected an integer <= %d, got %s", hi, text)
	}
}

func integerRange(kind protoreflect.Kind) (int64, uint64) {
	switch kind {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return math.MinInt32, math.MaxInt32
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return 0, math.MaxUint32
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return 0, math.MaxUint64
	default:
		return math.MinInt64, math.MaxInt64
	}
}

func checkMapKey(path, k string, fd protoreflect.FieldDescriptor, errs *FieldErrors) {
	switch fd.Kind() {
	case protoreflect.StringKind:
	case protoreflect.BoolKind:
		if k != "true" && k != "false" {
			errs.Add(path, "map key must be true or false")
		}
	default:
		checkInteger(path, json.Number(k), fd.Kind(), errs)
	}
}

func checkString(path string, v any, errs *FieldErrors) any {
	if _, ok := v.(string); !ok {
		errs.Add(path, "expected a string, got %s", jsonKind(v))
	}
	return v
}

// checkDuration accepts protojson's "1.5s" and Go's "1m30s" forms and
// returns the protojson form.
func checkDuration(path string, v any, errs *FieldErrors) any {
	s, ok := v.(string)
	if !ok {
		errs.Add(path, "expected a duration string such as \"5s\" or \"100ms\", got %s", jsonKind(v))
		return v
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		errs.Add(path, "invalid duration %q (use a form such as \"5s\", \"100ms\" or \"1m\")", s)
		return v
	}
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
}

func isWrapper(md protoreflect.MessageDescriptor) bool {
	return md.ParentFile().Package() == "google.protobuf" && strings.HasSuffix(string(md.Name()), "Value") &&
		md.Fields().Len() == 1 && md.Fields().Get(0).Name() == "value"
}

func enumNames(ed protoreflect.EnumDescriptor) string {
	vals := ed.Values()
	names := make([]string, vals.Len())
	for i := range names {
		names[i] = string(vals.Get(i).Name())
	}
	return strings.Join(names, ", ")
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	default:
		return fmt.Sprintf("%T", v)
	}
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
