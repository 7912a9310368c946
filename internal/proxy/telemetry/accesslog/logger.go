package accesslog

import (
	"fmt"

	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/telemetry/cel"
)

// Logger is one compiled access log: where lines go, their format and the
// filter that selects them.
type Logger struct {
	path   string
	format *Format
	filter *cel.Expr // nil: every entry
}

// Compile compiles an access log's format and filter, so that a bad one
// is rejected when the configuration is applied.
func Compile(al resource.AccessLog, env Env) (*Logger, error) {
	l := &Logger{path: al.Path}
	var err error
	if l.format, err = compileFormat(al, env); err != nil {
		return nil, fmt.Errorf("access log %q: %w", al.Name, err)
	}
	if al.Filter != "" {
		if l.filter, err = cel.Compile(al.Filter); err != nil {
			return nil, fmt.Errorf("access log %q: filter: %w", al.Name, err)
		}
	}
	return l, nil
}

func compileFormat(al resource.AccessLog, env Env) (*Format, error) {
	if al.JSON != nil {
		return CompileJSON(al.JSON, al.OmitEmptyValues, env)
	}
	return CompileText(al.Text, al.OmitEmptyValues, env)
}

// CheckFormat reports whether an access log's format compiles (for the
// xDS decoder, which NACKs a bad one).
func CheckFormat(al resource.AccessLog) error {
	_, err := compileFormat(al, Env{})
	return err
}

// Set is the compiled access logs of one connection manager or TCP proxy.
type Set struct {
	loggers []*Logger
	w       *Writer
}

// NewSet compiles cfgs (nil, nil when there are none).
func NewSet(cfgs []resource.AccessLog, w *Writer, env Env) (*Set, error) {
	if len(cfgs) == 0 {
		return nil, nil
	}
	s := &Set{w: w}
	for i, al := range cfgs {
		l, err := Compile(al, env)
		if err != nil {
			return nil, fmt.Errorf("access_log[%d]: %w", i, err)
		}
		s.loggers = append(s.loggers, l)
	}
	return s, nil
}

// Log writes e to every log whose filter selects it. It never blocks.
func (s *Set) Log(e *Entry) {
	for _, l := range s.loggers {
		if l.filter != nil && !l.filter.Bool(&e.Bag) {
			continue
		}
		s.w.Write(l.path, l.format.Append(make([]byte, 0, 512), e))
	}
}
