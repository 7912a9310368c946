package report

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Series is one named set of values: one value per category in a bar
// chart, one per X in a line chart.
type Series struct {
	Name   string
	Values []float64
}

// palette is colour-blind friendly (Okabe–Ito).
var palette = []color.Color{
	color.RGBA{0, 114, 178, 255},   // blue
	color.RGBA{230, 159, 0, 255},   // orange
	color.RGBA{0, 158, 115, 255},   // green
	color.RGBA{204, 121, 167, 255}, // purple
	color.RGBA{86, 180, 233, 255},  // sky
	color.RGBA{213, 94, 0, 255},    // vermillion
	color.RGBA{240, 228, 66, 255},  // yellow
	color.RGBA{0, 0, 0, 255},       // black
}

// Bars draws a grouped bar chart: one group per category, one bar per
// series in each group. NaN values draw no bar.
func Bars(path, title, yLabel string, categories []string, series []Series) error {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = yLabel
	p.Legend.Top = true
	width := vg.Points(min(60/float64(max(len(series), 1)), 18))
	for i, s := range series {
		values := make(plotter.Values, len(categories))
		for j := range categories {
			if j < len(s.Values) && !math.IsNaN(s.Values[j]) {
				values[j] = s.Values[j]
			}
		}
		bars, err := plotter.NewBarChart(values, width)
		if err != nil {
			return fmt.Errorf("report: %s: %w", path, err)
		}
		bars.LineStyle.Width = 0
		bars.Color = palette[i%len(palette)]
		bars.Offset = vg.Length(float64(i)-float64(len(series)-1)/2) * width
		p.Add(bars)
		p.Legend.Add(s.Name, bars)
	}
	p.NominalX(categories...)
	p.Add(plotter.NewGrid())
	headroom(p, series)
	return save(p, path, vg.Length(max(6, 1.2*float64(len(categories))))*vg.Inch, 4*vg.Inch)
}

// Lines draws one line with points per series over xs. A NaN value breaks
// nothing: the point is left out. logX uses a log scale on X.
func Lines(path, title, xLabel, yLabel string, xs []float64, series []Series, logX bool) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.Y.Min = 0
	p.Legend.Top = true
	p.Legend.Left = true
	if logX {
		p.X.Scale = plot.LogScale{}
	}
	ticks := make(plot.ConstantTicks, len(xs))
	for i, x := range xs {
		ticks[i] = plot.Tick{Value: x, Label: strconv.FormatFloat(x, 'f', -1, 64)}
	}
	p.X.Tick.Marker = ticks
	for i, s := range series {
		var pts plotter.XYs
		for j, x := range xs {
			if j < len(s.Values) && !math.IsNaN(s.Values[j]) {
				pts = append(pts, plotter.XY{X: x, Y: s.Values[j]})
			}
		}
		if len(pts) == 0 {
			continue
		}
		line, points, err := plotter.NewLinePoints(pts)
		if err != nil {
			return fmt.Errorf("report: %s: %w", path, err)
		}
		c := palette[i%len(palette)]
		line.Color, points.Color = c, c
		line.Width = vg.Points(2)
		points.Shape = draw.CircleGlyph{}
		p.Add(line, points)
		p.Legend.Add(s.Name, line, points)
	}
	p.Add(plotter.NewGrid())
	headroom(p, series)
	return save(p, path, 7*vg.Inch, 4*vg.Inch)
}

// headroom raises the Y axis so that the legend, drawn in the top corner,
// sits above the data.
func headroom(p *plot.Plot, series []Series) {
	top := 0.0
	for _, s := range series {
		for _, v := range s.Values {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				top = max(top, v)
			}
		}
	}
	if top > 0 {
		p.Y.Max = max(p.Y.Max, top*(1.1+0.09*float64(len(series))))
	}
}

func save(p *plot.Plot, path string, w, h vg.Length) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := p.Save(w, h, path); err != nil {
		return fmt.Errorf("report: %s: %w", path, err)
	}
	return nil
}
