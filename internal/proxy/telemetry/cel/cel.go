// Package cel compiles CEL expressions over Istio's attributes (package
// attrs) once, at configuration time, and evaluates them per request or
// connection: Telemetry API tag override values and access log filters.
//
// The variables are Envoy's attribute roots — request, response, source,
// destination, connection, upstream, xds — plus Istio's node (this
// proxy's node metadata) and the peers found by metadata exchange,
// downstream_peer and upstream_peer. Attribute values are produced lazily:
// an expression pays only for the attributes it reads.
package cel

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	celgo "cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"

	"github.com/lateenmesh/lateen/internal/proxy/telemetry/attrs"
)

// Roots are the variables an expression may read.
var Roots = []string{"request", "response", "source", "destination", "connection", "upstream", "xds",
	"node", "downstream_peer", "upstream_peer"}

var env = mustEnv()

func mustEnv() *celgo.Env {
	opts := make([]celgo.EnvOption, 0, len(Roots))
	for _, r := range Roots {
		opts = append(opts, celgo.Variable(r, celgo.DynType))
	}
	e, err := celgo.NewEnv(opts...)
	if err != nil {
		panic(err)
	}
	return e
}

// Expr is a compiled expression. It is safe for concurrent use.
type Expr struct {
	src string
	prg celgo.Program
}

// Compile parses and checks src against the attribute roots.
func Compile(src string) (*Expr, error) {
	ast, iss := env.Compile(src)
	if iss.Err() != nil {
		return nil, fmt.Errorf("CEL expression %q: %w", src, iss.Err())
	}
	prg, err := env.Program(ast, celgo.EvalOptions(celgo.OptOptimize))
	if err != nil {
		return nil, fmt.Errorf("CEL expression %q: %w", src, err)
	}
	return &Expr{src: src, prg: prg}, nil
}

// Check reports whether src compiles (for validation).
func Check(src string) error {
	_, err := Compile(src)
	return err
}

// String returns the expression's source.
func (e *Expr) String() string { return e.src }

// Eval evaluates the expression over b.
func (e *Expr) Eval(b *attrs.Bag) (ref.Val, error) {
	out, _, err := e.prg.Eval(&activation{bag: b})
	if err != nil {
		return nil, err
	}
	if types.IsError(out) {
		return nil, fmt.Errorf("%v", out)
	}
	return out, nil
}

// Bool evaluates a predicate: false when the result is not true (an error
// included), as Envoy's CEL filters do.
func (e *Expr) Bool(b *attrs.Bag) bool {
	v, err := e.Eval(b)
	return err == nil && v == types.True
}

// Text evaluates the expression and prints its value as Envoy's CEL
// printer does (strings as is, numbers in decimal, durations and
// timestamps in their CEL string form); ok is false on an error, which
// telemetry reports as "unknown".
func (e *Expr) Text(b *attrs.Bag) (string, bool) {
	v, err := e.Eval(b)
	if err != nil {
		return "", false
	}
	return Print(v), true
}

// Print renders a CEL value as text.
func Print(v ref.Val) string {
	switch x := v.(type) {
	case types.String:
		return string(x)
	case types.Int:
		return strconv.FormatInt(int64(x), 10)
	case types.Uint:
		return strconv.FormatUint(uint64(x), 10)
	case types.Double:
		return strconv.FormatFloat(float64(x), 'g', -1, 64)
	case types.Bool:
		return strconv.FormatBool(bool(x))
	case types.Bytes:
		return string(x)
	case types.Duration:
		return x.Duration.String()
	case types.Timestamp:
		return x.Time.UTC().Format(time.RFC3339Nano)
	case types.Null:
		return "null"
	}
	if s, ok := v.ConvertToType(types.StringType).(types.String); ok {
		return string(s)
	}
	return strings.TrimSpace(fmt.Sprint(v.Value()))
}

// activation resolves the roots over one bag.
type activation struct{ bag *attrs.Bag }

func (a *activation) ResolveName(name string) (any, bool) {
	v := resolve(a.bag, name)
	return v, v != nil
}

func (a *activation) Parent() interpreter.Activation { return nil }
