package cel

import (
	"fmt"
	nethttp "net/http"
	"reflect"
	"strings"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"

	"github.com/lateenmesh/lateen/internal/proxy/telemetry/attrs"
)

// lazyMap is one attribute root: each field is computed when read.
type lazyMap struct {
	bag    *attrs.Bag
	fields map[string]getter
}

var _ traits.Mapper = (*lazyMap)(nil)

func (m *lazyMap) Find(key ref.Val) (ref.Val, bool) {
	k, ok := key.(types.String)
	if !ok {
		return nil, false
	}
	g := m.fields[string(k)]
	if g == nil {
		return nil, false
	}
	v := g(m.bag)
	return v, v != nil
}

// materialize builds the plain map (for iteration, printing, equality).
func (m *lazyMap) materialize() traits.Mapper {
	out := map[ref.Val]ref.Val{}
	for k, g := range m.fields {
		if v := g(m.bag); v != nil {
			out[types.String(k)] = v
		}
	}
	return types.NewRefValMap(types.DefaultTypeAdapter, out)
}

func (m *lazyMap) Get(key ref.Val) ref.Val          { return get(m, key) }
func (m *lazyMap) Contains(key ref.Val) ref.Val     { return contains(m, key) }
func (m *lazyMap) Iterator() traits.Iterator        { return m.materialize().Iterator() }
func (m *lazyMap) Size() ref.Val                    { return m.materialize().Size() }
func (m *lazyMap) Type() ref.Type                   { return types.MapType }
func (m *lazyMap) Value() any                       { return m.materialize().Value() }
func (m *lazyMap) Equal(other ref.Val) ref.Val      { return m.materialize().Equal(other) }
func (m *lazyMap) ConvertToType(t ref.Type) ref.Val { return convertMap(m, t) }
func (m *lazyMap) ConvertToNative(reflect.Type) (any, error) {
	return nil, fmt.Errorf("attribute maps do not convert to native values")
}

// headerMap is request.headers or response.headers: lower-case keys
// (lookups are case-insensitive), values joined with commas.
type headerMap struct{ h nethttp.Header }

var _ traits.Mapper = (*headerMap)(nil)

func (m *headerMap) Find(key ref.Val) (ref.Val, bool) {
	k, ok := key.(types.String)
	if !ok {
		return nil, false
	}
	vs := m.h.Values(string(k))
	if len(vs) == 0 {
		return nil, false
	}
	return types.String(strings.Join(vs, ",")), true
}

func (m *headerMap) materialize() traits.Mapper {
	out := make(map[string]string, len(m.h))
	for k, vs := range m.h {
		if !strings.HasPrefix(k, nethttp.TrailerPrefix) {
			out[strings.ToLower(k)] = strings.Join(vs, ",")
		}
	}
	return types.NewStringStringMap(types.DefaultTypeAdapter, out)
}

func (m *headerMap) Get(key ref.Val) ref.Val          { return get(m, key) }
func (m *headerMap) Contains(key ref.Val) ref.Val     { return contains(m, key) }
func (m *headerMap) Iterator() traits.Iterator        { return m.materialize().Iterator() }
func (m *headerMap) Size() ref.Val                    { return m.materialize().Size() }
func (m *headerMap) Type() ref.Type                   { return types.MapType }
func (m *headerMap) Value() any                       { return m.materialize().Value() }
func (m *headerMap) Equal(other ref.Val) ref.Val      { return m.materialize().Equal(other) }
func (m *headerMap) ConvertToType(t ref.Type) ref.Val { return convertMap(m, t) }
func (m *headerMap) ConvertToNative(typ reflect.Type) (any, error) {
	return m.materialize().ConvertToNative(typ)
}

func get(m traits.Mapper, key ref.Val) ref.Val {
	if v, ok := m.Find(key); ok {
		return v
	}
	return types.NewErrFromString(fmt.Sprintf("no such key: %v", key.Value()))
}

func contains(m traits.Mapper, key ref.Val) ref.Val {
	_, ok := m.Find(key)
	return types.Bool(ok)
}

func convertMap(m traits.Mapper, t ref.Type) ref.Val {
	switch t {
	case types.MapType:
		return m
	case types.TypeType:
		return types.MapType
	}
	return types.NewErrFromString(fmt.Sprintf("type conversion error from map to %s", t.TypeName()))
}
