// Package accesslog writes Envoy-style access logs: formats compiled once
// from Envoy's substitution format strings (text, or JSON objects of
// format strings), optional CEL filters, and a writer that never blocks
// request handling (a bounded queue drained by one goroutine; a full queue
// drops the line and counts access_log.dropped). HTTP requests are logged
// by an observer of the connection manager, TCP connections by a hook of
// the TCP proxy.
package accesslog

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Format is a compiled access log format: a text format string or a JSON
// object whose leaves are format strings. It is immutable and safe for
// concurrent use.
type Format struct {
	text      []segment // text format
	json      *jsonNode // JSON format (nil for text)
	omitEmpty bool
}

// segment is a literal or one command operator.
type segment struct {
	literal string
	op      *operator
}

// operator is one compiled command operator, e.g. %REQ(X-REQUEST-ID):10%.
type operator struct {
	eval   func(*Entry) value
	maxLen int // 0: no truncation
}

type valueKind uint8

const (
	absent valueKind = iota // rendered "-" in text (nothing when omitting empty values), null in JSON
	str
	num
)

// value is what an operator yields; numbers stay numbers in JSON.
type value struct {
	kind valueKind
	s    string
	n    int64
}

func strValue(s string) value {
	if s == "" {
		return value{}
	}
	return value{kind: str, s: s}
}

func numValue(n int64) value { return value{kind: num, n: n} }

// CompileText compiles an Envoy text format string. Unknown command
// operators are errors, as in Envoy.
func CompileText(format string, omitEmpty bool, env Env) (*Format, error) {
	segs, err := parse(format, env)
	if err != nil {
		return nil, err
	}
	return &Format{text: segs, omitEmpty: omitEmpty}, nil
}

// CompileJSON compiles a JSON format: an object whose string leaves are
// format strings (a leaf that is exactly one operator keeps its type:
// numbers stay numbers, a missing value is null); other leaves are copied.
func CompileJSON(obj map[string]any, omitEmpty bool, env Env) (*Format, error) {
	n, err := compileJSONObject(obj, env, "")
	if err != nil {
		return nil, err
	}
	return &Format{json: n, omitEmpty: omitEmpty}, nil
}

// Env is what operators that do not depend on the request read.
type Env struct {
	Hostname string // %HOSTNAME%
}

// parse splits a format string into literals and operators.
func parse(format string, env Env) ([]segment, error) {
	var segs []segment
	var lit strings.Builder
	for i := 0; i < len(format); {
		c := format[i]
		if c != '%' {
			lit.WriteByte(c)
			i++
			continue
		}
		if i+1 < len(format) && format[i+1] == '%' {
			lit.WriteByte('%')
			i += 2
			continue
		}
		op, n, err := parseOperator(format[i:], env)
		if err != nil {
			return nil, fmt.Errorf("format %q at position %d: %w", format, i, err)
		}
		if lit.Len() > 0 {
			segs = append(segs, segment{literal: lit.String()})
			lit.Reset()
		}
		segs = append(segs, segment{op: op})
		i += n
	}
	if lit.Len() > 0 {
		segs = append(segs, segment{literal: lit.String()})
	}
	return segs, nil
}

// parseOperator reads "%NAME(arg):N%" at the start of s and returns the
// operator and the bytes it took.
func parseOperator(s string, env Env) (*operator, int, error) {
	i := 1
	for i < len(s) && (s[i] >= 'A' && s[i] <= 'Z' || s[i] >= '0' && s[i] <= '9' || s[i] == '_') {
		i++
	}
	name := s[1:i]
	if name == "" {
		return nil, 0, fmt.Errorf("no valid command operator after %%")
	}
	var arg string
	hasArg := false
	if i < len(s) && s[i] == '(' {
		end := strings.IndexByte(s[i:], ')')
		if end < 0 {
			return nil, 0, fmt.Errorf("%%%s: missing )", name)
		}
		arg, hasArg = s[i+1:i+end], true
		i += end + 1
	}
	maxLen := 0
	if i < len(s) && s[i] == ':' {
		j := i + 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		n, err := strconv.Atoi(s[i+1 : j])
		if err != nil || n <= 0 {
			return nil, 0, fmt.Errorf("%%%s: invalid length %q", name, s[i+1:j])
		}
		maxLen, i = n, j
	}
	if i >= len(s) || s[i] != '%' {
		return nil, 0, fmt.Errorf("%%%s: missing closing %%", name)
	}
	eval, err := lookupOperator(name, arg, hasArg, env)
	if err != nil {
		return nil, 0, err
	}
	return &operator{eval: eval, maxLen: maxLen}, i + 1, nil
}

// eval runs the operator, truncating strings to its maximum length.
func (o *operator) value(e *Entry) value {
	v := o.eval(e)
	if o.maxLen > 0 && v.kind == str && len(v.s) > o.maxLen {
		v.s = v.s[:o.maxLen]
	}
	return v
}

// Text renders the entry with a text format (AppendText appends to b).
func (f *Format) AppendText(b []byte, e *Entry) []byte {
	for _, s := range f.text {
		if s.op == nil {
			b = append(b, s.literal...)
			continue
		}
		b = appendText(b, s.op.value(e), f.omitEmpty)
	}
	return b
}

func appendText(b []byte, v value, omitEmpty bool) []byte {
	switch v.kind {
	case str:
		return append(b, v.s...)
	case num:
		return strconv.AppendInt(b, v.n, 10)
	}
	if omitEmpty {
		return b
	}
	return append(b, '-')
}

// Append renders the entry as one log line (a JSON format gets a newline;
// a text format is written as compiled).
func (f *Format) Append(b []byte, e *Entry) []byte {
	if f.json == nil {
		return f.AppendText(b, e)
	}
	b = f.json.append(b, e, f.omitEmpty)
	return append(b, '\n')
}

// jsonNode is a compiled JSON format value: an object (sorted keys), a
// format string, or a constant.
type jsonNode struct {
	keys     []string
	children []*jsonNode
	segs     []segment // format string
	single   bool      // the string is exactly one operator: typed output
	constant []byte    // non-string leaf, marshalled
}

func compileJSONObject(obj map[string]any, env Env, path string) (*jsonNode, error) {
	n := &jsonNode{keys: make([]string, 0, len(obj))}
	for k := range obj {
		n.keys = append(n.keys, k)
	}
	slices.Sort(n.keys)
	for _, k := range n.keys {
		c, err := compileJSONValue(obj[k], env, path+"."+k)
		if err != nil {
			return nil, err
		}
		n.children = append(n.children, c)
	}
	return n, nil
}

func compileJSONValue(v any, env Env, path string) (*jsonNode, error) {
	switch t := v.(type) {
	case map[string]any:
		return compileJSONObject(t, env, path)
	case string:
		segs, err := parse(t, env)
		if err != nil {
			return nil, fmt.Errorf("json_format%s: %w", path, err)
		}
		return &jsonNode{segs: segs, single: len(segs) == 1 && segs[0].op != nil}, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("json_format%s: %w", path, err)
	}
	return &jsonNode{constant: b}, nil
}

// append writes the node; an object drops keys whose value is missing when
// omitting empty values.
func (n *jsonNode) append(b []byte, e *Entry, omitEmpty bool) []byte {
	switch {
	case n.constant != nil:
		return append(b, n.constant...)
	case n.segs != nil || n.keys == nil:
		return n.appendString(b, e, omitEmpty)
	}
	b = append(b, '{')
	first := true
	for i, k := range n.keys {
		c := n.children[i]
		if omitEmpty && c.single && c.segs[0].op.value(e).kind == absent {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = c.append(b, e, omitEmpty)
	}
	return append(b, '}')
}

func (n *jsonNode) appendString(b []byte, e *Entry, omitEmpty bool) []byte {
	if n.single {
		v := n.segs[0].op.value(e)
		switch v.kind {
		case num:
			return strconv.AppendInt(b, v.n, 10)
		case str:
			return appendJSONString(b, v.s)
		}
		return append(b, "null"...)
	}
	var s []byte
	for _, seg := range n.segs {
		if seg.op == nil {
			s = append(s, seg.literal...)
			continue
		}
		s = appendText(s, seg.op.value(e), omitEmpty)
	}
	return appendJSONString(b, string(s))
}

// appendJSONString appends s as a JSON string (without HTML escaping).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
