package charts

import "math"

// Sizes in viewBox units. The SVG scales to its container, so they set proportions and the text
// size relative to the plot, not pixels on a screen.
const (
	width, height = 480, 270
	fontSize      = 12
	// Text is measured as if it were roomFont: app.css draws the axes' text that large when the
	// chart is narrow (a phone), where 12 units would shrink below 8px. The server cannot
	// measure text, so charWidth is a generous average glyph width of a system sans-serif.
	roomFont  = 15
	charWidth = 0.6 * roomFont
	padTop    = 10
	padRight  = 16
	padBottom = 28
	wantTicks = 5

	sparkWidth, sparkHeight, sparkPad = 160, 40, 4
)

// frame is a chart laid out: everything the templ component places, in viewBox units.
type frame struct {
	empty bool
	Kind  string // the figure's modifier class
	W, H  float64
	// The plot's edges: value labels sit left of Left (or below Bottom for horizontal bars).
	Left, Right, Top, Bottom float64
	Grid                     []segment // a line across the plot at each value tick
	Zero                     *segment  // the baseline, when the value axis includes 0
	Values                   axisText  // the tick labels
	Categories               axisText  // the chart's labels, thinned or shortened to fit
	Bars                     []barSeries
	Lines                    []lineMark
	Legend                   []legendItem
}

type segment struct{ X1, Y1, X2, Y2 float64 }

// axisText is one axis's labels; Anchor is their text-anchor, and Central says y is their
// middle rather than their baseline.
type axisText struct {
	Anchor  string
	Central bool
	Labels  []label
}

type label struct {
	X, Y float64
	Text string
	Full string // the whole label when Text is shortened, for its <title>; "" otherwise
}

type barSeries struct {
	Class string
	Bars  []bar
}

type bar struct {
	X, Y, W, H  float64
	Title, Href string
}

type lineMark struct {
	Class string
	D     string // the path through the points
	R     float64
	Dots  []dot
}

type dot struct {
	X, Y        float64
	Title, Href string
	Last        bool
}

type legendItem struct {
	Name, Class string
	Line        bool // drawn as a line, not a bar
}

// axes lays out a plot with values up the y axis from lo to hi and the chart's labels along x:
// the nice ticks and the scale through them, the plot's edges (the left one wide enough for
// the widest tick label) and the x labels, thinned so they do not overlap.
func axes(c Chart, kind string, lo, hi int64) (frame, Scale) {
	f := frame{Kind: kind, W: width, H: height, Top: padTop, Right: width - padRight, Bottom: height - padBottom}
	values, labels, widest := ticks(c, lo, hi, wantTicks)
	f.Left = max(widest+8, 24)
	y := NewScale(values[0], values[len(values)-1], f.Bottom, f.Top)
	f.Values = axisText{Anchor: "end", Central: true}
	for i, v := range values {
		at := y.At(v)
		f.Grid = append(f.Grid, segment{f.Left, at, f.Right, at})
		f.Values.Labels = append(f.Values.Labels, label{X: f.Left - 6, Y: at, Text: labels[i]})
		if v == 0 {
			f.Zero = &segment{f.Left, at, f.Right, at}
		}
	}

	n := len(c.Labels)
	widestLabel := 0
	for _, l := range c.Labels {
		widestLabel = max(widestLabel, runes(l))
	}
	every := labelEvery(n, f.band(n), float64(widestLabel)*charWidth)
	f.Categories = axisText{Anchor: "middle"}
	for i, l := range c.Labels {
		if i%every == 0 {
			f.Categories.Labels = append(f.Categories.Labels, label{X: f.center(i, n), Y: f.Bottom + 18, Text: l})
		}
	}
	return f, y
}

// ticks is NiceTicks from lo to hi with their labels and the width of the widest.
func ticks(c Chart, lo, hi int64, want int) (values []int64, labels []string, widest float64) {
	values = NiceTicks(lo, hi, want)
	labels = make([]string, len(values))
	for i, v := range values {
		labels[i] = c.format(v)
		widest = max(widest, float64(runes(labels[i]))*charWidth)
	}
	return values, labels, widest
}

// band is the width each label gets along x.
func (f frame) band(n int) float64 { return (f.Right - f.Left) / float64(max(n, 1)) }

// center is the middle of label i's band, where its bars and points are centred.
func (f frame) center(i, n int) float64 { return f.Left + (float64(i)+0.5)*f.band(n) }

// dotRadius keeps points apart when many labels share the width.
func (f frame) dotRadius(n int) float64 { return math.Min(math.Max(f.band(n)*0.3, 1.5), 4) }

// newBar is the rectangle between the values from and to, x wide from x.
func newBar(y Scale, x, w float64, from, to int64, title, href string) bar {
	a, b := y.At(from), y.At(to)
	return bar{X: x, Y: math.Min(a, b), W: w, H: math.Abs(a - b), Title: title, Href: href}
}

// stackedFrame stacks each label's positive values upwards from zero and its negative values
// (refunds) downwards, in series order.
func stackedFrame(c Chart) frame {
	if !c.hasNonZero() {
		return frame{empty: true}
	}
	n := len(c.Labels)
	up, down := make([]int64, n), make([]int64, n)
	for _, s := range c.Series {
		for i, p := range c.points(s) {
			if p.Value > 0 {
				up[i] = addSat(up[i], p.Value)
			} else {
				down[i] = addSat(down[i], p.Value)
			}
		}
	}
	f, y := axes(c, "chart-stacked", minOf(down), maxOf(up))

	w := f.band(n) * 0.64
	clear(up)
	clear(down)
	for _, s := range c.Series {
		bs := barSeries{Class: s.Class}
		for i, p := range c.points(s) {
			if p.Value == 0 {
				continue
			}
			base := &up[i]
			if p.Value < 0 {
				base = &down[i]
			}
			next := addSat(*base, p.Value)
			bs.Bars = append(bs.Bars, newBar(y, f.center(i, n)-w/2, w, *base, next, c.title(s, i, p), p.Href))
			*base = next
		}
		f.Bars = append(f.Bars, bs)
		f.Legend = append(f.Legend, legendItem{Name: s.Name, Class: s.Class})
	}
	return f
}

// groupedFrame puts the series' bars side by side in each label's band, each from zero, with
// an optional line across the bands (the net of income and expense).
func groupedFrame(c Chart, kind string, line *Series) frame {
	extra := []Series{}
	if line != nil {
		extra = append(extra, *line)
	}
	if !c.hasNonZero(extra...) {
		return frame{empty: true}
	}
	var lo, hi int64
	for _, s := range append(extra, c.Series...) {
		for _, p := range c.points(s) {
			lo, hi = min(lo, p.Value), max(hi, p.Value)
		}
	}
	f, y := axes(c, kind, lo, hi)

	n, k := len(c.Labels), max(len(c.Series), 1)
	group := f.band(n) * 0.8
	if k == 1 {
		group = f.band(n) * 0.6
	}
	slot := group / float64(k)
	w := slot - math.Min(2, slot*0.15) // a hairline between neighbours
	for j, s := range c.Series {
		bs := barSeries{Class: s.Class}
		for i, p := range c.points(s) {
			if p.Value == 0 {
				continue
			}
			x := f.center(i, n) - group/2 + float64(j)*slot + (slot-w)/2
			bs.Bars = append(bs.Bars, newBar(y, x, w, 0, p.Value, c.title(s, i, p), p.Href))
		}
		f.Bars = append(f.Bars, bs)
		f.Legend = append(f.Legend, legendItem{Name: s.Name, Class: s.Class})
	}
	if line != nil {
		f.Lines = append(f.Lines, newLine(c, *line, y, func(i int) float64 { return f.center(i, n) }, f.dotRadius(n)))
		f.Legend = append(f.Legend, legendItem{Name: line.Name, Class: line.Class, Line: true})
	}
	return f
}

// linesFrame draws one line per series; the y axis spans the values (0 only when they cross
// it or all are one value), so a balance that moves between 100,000 and 120,000 is readable.
func linesFrame(c Chart) frame {
	if !c.hasPoints() {
		return frame{empty: true}
	}
	lo, hi := valueRange(c)
	f, y := axes(c, "chart-lines", lo, hi)
	n := len(c.Labels)
	for _, s := range c.Series {
		f.Lines = append(f.Lines, newLine(c, s, y, func(i int) float64 { return f.center(i, n) }, f.dotRadius(n)))
		f.Legend = append(f.Legend, legendItem{Name: s.Name, Class: s.Class, Line: true})
	}
	return f
}

// sparkFrame is a line edge to edge in a small box: no axes, no legend, the last point marked.
func sparkFrame(c Chart) frame {
	if !c.hasPoints() {
		return frame{empty: true}
	}
	lo, hi := valueRange(c)
	f := frame{Kind: "chart-spark", W: sparkWidth, H: sparkHeight}
	y := NewScale(lo, hi, sparkHeight-sparkPad, sparkPad)
	n := len(c.Labels)
	x := func(i int) float64 {
		if n == 1 {
			return sparkWidth / 2
		}
		return sparkPad + float64(i)*(sparkWidth-2*sparkPad)/float64(n-1)
	}
	for _, s := range c.Series {
		f.Lines = append(f.Lines, newLine(c, s, y, x, 2))
	}
	return f
}

// newLine is the series' path with a dot (the mark with its title and link) at each point.
func newLine(c Chart, s Series, y Scale, x func(int) float64, r float64) lineMark {
	pts := c.points(s)
	l := lineMark{Class: s.Class, R: r}
	xs, ys := make([]float64, len(pts)), make([]float64, len(pts))
	for i, p := range pts {
		xs[i], ys[i] = x(i), y.At(p.Value)
		l.Dots = append(l.Dots, dot{X: xs[i], Y: ys[i], Title: c.title(s, i, p), Href: p.Href, Last: i == len(pts)-1})
	}
	l.D = LinePath(xs, ys)
	return l
}

// valueRange is the smallest and largest value of all points (the chart has some).
func valueRange(c Chart) (lo, hi int64) {
	lo, hi = math.MaxInt64, math.MinInt64
	for _, s := range c.Series {
		for _, p := range c.points(s) {
			lo, hi = min(lo, p.Value), max(hi, p.Value)
		}
	}
	return lo, hi
}

// minOf and maxOf start from zero: bars always stand on a zero baseline.
func minOf(vs []int64) int64 {
	m := int64(0)
	for _, v := range vs {
		m = min(m, v)
	}
	return m
}

func maxOf(vs []int64) int64 {
	m := int64(0)
	for _, v := range vs {
		m = max(m, v)
	}
	return m
}

// addSat adds without wrapping around: sums of absurd values stop at the int64 limits.
func addSat(a, b int64) int64 {
	s := a + b
	switch {
	case b > 0 && s < a:
		return math.MaxInt64
	case b < 0 && s > a:
		return math.MinInt64
	}
	return s
}

func (f frame) viewBox() string { return "0 0 " + num(f.W) + " " + num(f.H) }
