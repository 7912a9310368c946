package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Table is a Markdown table.
type Table struct {
	Header []string
	Rows   [][]string
}

// Add appends a row.
func (t *Table) Add(cells ...string) { t.Rows = append(t.Rows, cells) }

// String renders the table; the first column is left-aligned, the others
// right-aligned (numbers).
func (t Table) String() string {
	var b strings.Builder
	row := func(cells []string) {
		b.WriteString("|")
		for _, c := range cells {
			b.WriteString(" " + strings.ReplaceAll(c, "|", `\|`) + " |")
		}
		b.WriteString("\n")
	}
	row(t.Header)
	b.WriteString("|")
	for i := range t.Header {
		if i == 0 {
			b.WriteString("---|")
		} else {
			b.WriteString("---:|")
		}
	}
	b.WriteString("\n")
	for _, r := range t.Rows {
		row(r)
	}
	return b.String()
}

// Num formats a number with the given decimals; NaN prints as "–".
func Num(v float64, decimals int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return fmt.Sprintf("%.*f", decimals, v)
}

// Ratio formats a/b as "×1.23"; "–" when either is missing, or when a
// is negative or b not positive (an added latency below zero is noise, and
// a ratio of it means nothing).
func Ratio(a, b float64) string {
	if b <= 0 || a < 0 || math.IsNaN(a) || math.IsNaN(b) {
		return "–"
	}
	return fmt.Sprintf("×%.2f", a/b)
}

// MB converts bytes to megabytes (2^20).
func MB(bytes uint64) float64 { return float64(bytes) / (1 << 20) }

// Verdict is how a measured value stands against a target.
type Verdict string

const (
	Met     Verdict = "met"
	Missed  Verdict = "missed"
	Pending Verdict = "not measured yet"
)

// Check compares value with a bound: ok reports whether value is within
// it; a NaN value is Pending.
func Check(value float64, ok bool) Verdict {
	switch {
	case math.IsNaN(value):
		return Pending
	case ok:
		return Met
	default:
		return Missed
	}
}

// Float is a float64 that is written to JSON as null when it is NaN (not
// measured), which encoding/json cannot otherwise encode.
type Float float64

// NaN is a Float not measured.
func NaN() Float { return Float(math.NaN()) }

// MarshalJSON writes null for NaN and infinities.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// UnmarshalJSON reads null as NaN.
func (f *Float) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = NaN()
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	*f = Float(v)
	return err
}
