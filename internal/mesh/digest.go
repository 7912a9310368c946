package mesh

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"
)

// Digest is a 128-bit content hash. Two values with the same digest are
// treated as equal by every cache of the control plane, so a digest must
// cover all of what it names (see digester).
type Digest [16]byte

func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// Combine hashes a sequence of digests (and labels) into one.
func Combine(parts ...Digest) Digest {
	buf := make([]byte, 0, 16*len(parts))
	for _, p := range parts {
		buf = append(buf, p[:]...)
	}
	return sum(buf)
}

func sum(b []byte) Digest {
	full := sha256.Sum256(b)
	var d Digest
	copy(d[:], full[:16])
	return d
}

// DigestOf hashes any value by walking it with reflection: every field of
// every struct (exported or not), slices in order, maps by sorted key,
// pointers by what they point to, protos by their deterministic encoding,
// times as instants. Adding a field to a hashed struct needs nothing
// more: it is part of the digest. Cycles are not supported.
func DigestOf(vals ...any) Digest {
	e := encoders.Get().(*encoder)
	e.buf = e.buf[:0]
	for _, v := range vals {
		e.value(reflect.ValueOf(v))
	}
	d := sum(e.buf)
	encoders.Put(e)
	return d
}

var (
	protoType = reflect.TypeFor[proto.Message]()
	timeType  = reflect.TypeFor[time.Time]()
	encoders  = sync.Pool{New: func() any { return &encoder{buf: make([]byte, 0, 4096)} }}
	// typeInfos caches, per type, what the encoder needs to know of it.
	typeInfos  sync.Map // reflect.Type → *typeInfo
	nextTypeID atomic.Uint64
)

// typeInfo is a type's number in this process (digests are compared
// within one process only) and whether it is a proto message or a time.
type typeInfo struct {
	id            uint64
	proto, isTime bool
}

func infoOf(t reflect.Type) *typeInfo {
	if ti, ok := typeInfos.Load(t); ok {
		return ti.(*typeInfo)
	}
	ti := &typeInfo{id: nextTypeID.Add(1), proto: t.Kind() == reflect.Pointer && t.Implements(protoType), isTime: t == timeType}
	actual, _ := typeInfos.LoadOrStore(t, ti)
	return actual.(*typeInfo)
}

// encoder appends an unambiguous encoding of values to buf.
type encoder struct{ buf []byte }

func (e *encoder) uint(n uint64) { e.buf = binary.AppendUvarint(e.buf, n) }

func (e *encoder) str(s string) {
	e.uint(uint64(len(s)))
	e.buf = append(e.buf, s...)
}

func (e *encoder) value(v reflect.Value) {
	if !v.IsValid() {
		e.buf = append(e.buf, 0)
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Struct:
		switch ti := infoOf(v.Type()); {
		case ti.isTime:
			e.time(v)
			return
		case ti.proto:
			e.proto(v)
			return
		}
	}
	switch v.Kind() {
	case reflect.Bool:
		e.buf = append(e.buf, 1, boolByte(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.buf = append(e.buf, 2)
		e.uint(uint64(v.Int()))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.buf = append(e.buf, 3)
		e.uint(v.Uint())
	case reflect.Float32, reflect.Float64:
		e.buf = append(e.buf, 4)
		e.uint(math.Float64bits(v.Float()))
	case reflect.String:
		e.buf = append(e.buf, 5)
		e.str(v.String())
	default:
		e.composite(v)
	}
}

func (e *encoder) composite(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			e.buf = append(e.buf, 6)
			return
		}
		e.buf = append(e.buf, 7)
		if v.Kind() == reflect.Interface {
			e.uint(infoOf(v.Elem().Type()).id)
		}
		e.value(v.Elem())
	case reflect.Slice, reflect.Array:
		e.buf = append(e.buf, 8)
		e.uint(uint64(v.Len()))
		for i := range v.Len() {
			e.value(v.Index(i))
		}
	case reflect.Map:
		e.mapValue(v)
	case reflect.Struct:
		e.buf = append(e.buf, 10)
		e.uint(infoOf(v.Type()).id)
		for i := range v.NumField() {
			e.value(v.Field(i))
		}
	default:
		panic(fmt.Sprintf("mesh: cannot digest a %s", v.Type()))
	}
}

func (e *encoder) mapValue(v reflect.Value) {
	if v.IsNil() {
		e.buf = append(e.buf, 6)
		return
	}
	if v.Type().Key().Kind() == reflect.String {
		e.stringKeyedMap(v)
		return
	}
	keys := v.MapKeys()
	enc := make([]string, len(keys))
	for i, k := range keys {
		var ke encoder
		ke.value(k)
		enc[i] = string(ke.buf)
	}
	order := make([]int, len(keys))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		switch {
		case enc[a] < enc[b]:
			return -1
		case enc[a] > enc[b]:
			return 1
		}
		return 0
	})
	e.buf = append(e.buf, 9)
	e.uint(uint64(len(keys)))
	for _, i := range order {
		e.str(enc[i])
		e.value(v.MapIndex(keys[i]))
	}
}

// stringKeyedMap encodes a map by its sorted string keys.
func (e *encoder) stringKeyedMap(v reflect.Value) {
	keys := make([]string, 0, v.Len())
	iter := v.MapRange()
	for iter.Next() {
		keys = append(keys, iter.Key().String())
	}
	slices.Sort(keys)
	e.buf = append(e.buf, 9)
	e.uint(uint64(len(keys)))
	for _, k := range keys {
		e.str(k)
		e.value(v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key())))
	}
}

func (e *encoder) time(v reflect.Value) {
	if !v.CanInterface() {
		panic("mesh: cannot digest an unexported time.Time")
	}
	t := v.Interface().(time.Time)
	e.buf = append(e.buf, 11, boolByte(t.IsZero()))
	e.uint(uint64(t.UnixNano()))
}

func (e *encoder) proto(v reflect.Value) {
	if v.IsNil() {
		e.buf = append(e.buf, 6)
		return
	}
	if !v.CanInterface() {
		panic(fmt.Sprintf("mesh: cannot digest an unexported %s", v.Type()))
	}
	e.buf = append(e.buf, 12)
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(v.Interface().(proto.Message))
	if err != nil {
		panic(err) // generated messages always marshal
	}
	e.str(string(b))
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}
