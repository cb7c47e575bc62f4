// Package charts draws reports as server-rendered SVG that passes the strict CSP: no script, no
// style attributes, every colour from a CSS class in app.css. The geometry (ticks, scales,
// paths, layout) is pure Go computed from int64 minor units; the templ components only place it.
//
// One chart shows one currency. Each mark carries a <title> and, when its Point has an Href, a
// link to the transactions behind it; the page puts a table of the same numbers under the chart
// for anyone who prefers them.
package charts

import (
	"strconv"
	"unicode/utf8"
)

// Point is one value of a series at one label.
type Point struct {
	Value int64  // minor units
	Title string // the mark's <title>: label and formatted value; "" for "Series, Label: value"
	Href  string // where the mark links (a filtered /transactions URL); "" for none
}

// Series is one coloured set of marks.
type Series struct {
	Name string
	// Class colours the series: "c1".."c8" (the categorical palette), "income", "expense",
	// "net", or "muted" (a quiet grey) for the plan drawn against actual spending.
	Class  string
	Points []Point // one per label, in the chart's Labels order; missing ones draw nothing
}

// Chart is the data of one chart: a single currency, labels along x, one or more series.
type Chart struct {
	Title  string   // the SVG's aria-label (role="img")
	Labels []string // x labels, e.g. "Jan 2026"
	Series []Series
	// Format writes tick labels and default titles in the user's number format;
	// nil writes plain minor units.
	Format func(minor int64) string
	// Empty is said instead of a chart when there is nothing to draw; "" means
	// "No data for this period".
	Empty string
}

func (c Chart) format(v int64) string {
	if c.Format == nil {
		return strconv.FormatInt(v, 10)
	}
	return c.Format(v)
}

func (c Chart) emptyText() string {
	if c.Empty == "" {
		return "No data for this period"
	}
	return c.Empty
}

// points is the series' points that have a label; extra points are ignored.
func (c Chart) points(s Series) []Point {
	return s.Points[:min(len(s.Points), len(c.Labels))]
}

// title is the mark's <title>, made from the series, label and value when the caller gave none.
func (c Chart) title(s Series, i int, p Point) string {
	if p.Title != "" {
		return p.Title
	}
	t := c.Labels[i] + ": " + c.format(p.Value)
	if s.Name != "" {
		t = s.Name + ", " + t
	}
	return t
}

// hasNonZero reports whether any series has a value other than zero: bars of nothing are no
// chart at all.
func (c Chart) hasNonZero(extra ...Series) bool {
	for _, group := range [][]Series{c.Series, extra} {
		for _, s := range group {
			for _, p := range c.points(s) {
				if p.Value != 0 {
					return true
				}
			}
		}
	}
	return false
}

// hasPoints reports whether any series has a point: a line at zero is still a line.
func (c Chart) hasPoints() bool {
	for _, s := range c.Series {
		if len(c.points(s)) > 0 {
			return true
		}
	}
	return false
}

func runes(s string) int { return utf8.RuneCountInString(s) }
