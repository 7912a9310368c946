package report

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

func TestChartsArePNG(t *testing.T) {
	dir := t.TempDir()
	bars := filepath.Join(dir, "bars.png")
	err := Bars(bars, "latency", "ms", []string{"p50", "p99"}, []Series{
		{Name: "a", Values: []float64{1, 2}},
		{Name: "b", Values: []float64{1.5, math.NaN()}},
	})
	if err != nil {
		t.Fatal(err)
	}
	lines := filepath.Join(dir, "lines.png")
	err = Lines(lines, "rss", "services", "MB", []float64{10, 100, 1000}, []Series{
		{Name: "full", Values: []float64{10, 20, 40}},
		{Name: "narrow", Values: []float64{10, math.NaN(), 12}},
	}, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{bars, lines} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, pngMagic) {
			t.Fatalf("%s is not a PNG", p)
		}
	}
}

func TestTable(t *testing.T) {
	tb := Table{Header: []string{"name", "value"}}
	tb.Add("a|b", Num(1.234, 2))
	tb.Add("c", Num(math.NaN(), 1))
	want := "| name | value |\n|---|---:|\n| a\\|b | 1.23 |\n| c | – |\n"
	if got := tb.String(); got != want {
		t.Fatalf("table:\n%s\nwant:\n%s", got, want)
	}
	if got := Ratio(3, 2); got != "×1.50" {
		t.Fatalf("ratio %q", got)
	}
	if Check(math.NaN(), true) != Pending || Check(1, false) != Missed || Check(1, true) != Met {
		t.Fatal("verdicts")
	}
}

func TestDescribe(t *testing.T) {
	m := Describe()
	if m.Cores <= 0 || m.Go == "" {
		t.Fatalf("machine %+v", m)
	}
	if !strings.Contains(m.Markdown(), "cores") {
		t.Fatal(m.Markdown())
	}
}
