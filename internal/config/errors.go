package config

import (
	"errors"
	"fmt"
	"strings"
)

// FieldError is a problem with one field, named by its path from the object
// root, e.g. "spec.http[0].route[1].weight".
type FieldError struct {
	Path string
	Msg  string
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// FieldErrors collects every problem found in one object.
type FieldErrors []*FieldError

func (fe FieldErrors) Error() string {
	parts := make([]string, len(fe))
	for i, e := range fe {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// Add records a problem at path.
func (fe *FieldErrors) Add(path, format string, args ...any) {
	*fe = append(*fe, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// Err returns fe as an error, or nil when it is empty.
func (fe FieldErrors) Err() error {
	if len(fe) == 0 {
		return nil
	}
	return fe
}

// Rejection is an object (or a whole document or file) that was not accepted.
// Key is zero when the input was too broken to tell which object it was.
type Rejection struct {
	Origin Origin
	Key    Key
	Err    error
	// KeptLastGood is set when an earlier valid version of Key stays in force.
	KeptLastGood bool
}

func (r *Rejection) Error() string {
	var b strings.Builder
	b.WriteString(r.Origin.String())
	if r.Key.Kind.Name != "" {
		b.WriteString(": ")
		b.WriteString(r.Key.String())
	}
	b.WriteString(": ")
	b.WriteString(r.Err.Error())
	return b.String()
}

func (r *Rejection) Unwrap() error { return r.Err }

// ErrNotSupported marks a field or value that is valid Istio configuration but
// not enforced by Lateen yet; such configuration is rejected, never ignored.
var ErrNotSupported = errors.New("not supported yet")
