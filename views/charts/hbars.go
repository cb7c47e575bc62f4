package charts

import "math"

// Horizontal bars give each label a row: its name across the top of the row, its bars under
// it. Every label shows however many there are, and long names keep the full width; the chart
// grows taller with the rows instead.
const (
	barThickness = 12 // each series' bar within a row
	rowLabel     = roomFont + 5
	rowGap       = 8
	sidePad      = 8
)

// hbarsFrame puts each label's bars, one per series, under one another in a row from zero.
func hbarsFrame(c Chart) frame {
	if !c.hasNonZero() {
		return frame{empty: true}
	}
	n, k := len(c.Labels), max(len(c.Series), 1)
	row := rowLabel + float64(k)*barThickness + rowGap
	f := frame{Kind: "chart-hbars", W: width, Top: padTop}
	f.Bottom = f.Top + float64(n)*row
	f.H = f.Bottom + padBottom

	var lo, hi int64
	for _, s := range c.Series {
		for _, p := range c.points(s) {
			lo, hi = min(lo, p.Value), max(hi, p.Value)
		}
	}
	// Tick labels stand side by side under the plot, centred on their ticks: fewer ticks until
	// they fit, and room at both ends for half of one.
	var values []int64
	var labels []string
	for want := wantTicks; ; want-- {
		var widest float64
		values, labels, widest = ticks(c, lo, hi, want)
		f.Left, f.Right = max(sidePad, widest/2), width-max(padRight, widest/2)
		if want <= 1 || (f.Right-f.Left)/float64(len(values)-1) >= widest+8 {
			break
		}
	}
	x := NewScale(values[0], values[len(values)-1], f.Left, f.Right)
	f.Values = axisText{Anchor: "middle"}
	for i, v := range values {
		at := x.At(v)
		f.Grid = append(f.Grid, segment{at, f.Top, at, f.Bottom})
		f.Values.Labels = append(f.Values.Labels, label{X: at, Y: f.Bottom + 18, Text: labels[i]})
		if v == 0 {
			f.Zero = &segment{at, f.Top, at, f.Bottom}
		}
	}

	f.Categories = axisText{Anchor: "start"}
	maxRunes := int((f.Right - f.Left) / charWidth)
	for i, l := range c.Labels {
		text, full := shorten(l, maxRunes), ""
		if text != l {
			full = l
		}
		f.Categories.Labels = append(f.Categories.Labels, label{X: f.Left, Y: f.Top + float64(i)*row + rowLabel - 5, Text: text, Full: full})
	}
	for j, s := range c.Series {
		bs := barSeries{Class: s.Class}
		for i, p := range c.points(s) {
			if p.Value == 0 {
				continue
			}
			a, b := x.At(0), x.At(p.Value)
			y := f.Top + float64(i)*row + rowLabel + float64(j)*barThickness
			// One unit less than the slot leaves a hairline between a row's bars.
			bs.Bars = append(bs.Bars, bar{X: math.Min(a, b), Y: y, W: math.Abs(a - b), H: barThickness - 1, Title: c.title(s, i, p), Href: p.Href})
		}
		f.Bars = append(f.Bars, bs)
		f.Legend = append(f.Legend, legendItem{Name: s.Name, Class: s.Class})
	}
	return f
}

// shorten cuts s to at most n runes, ending in "…" when it cut.
func shorten(s string, n int) string {
	if runes(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
