package charts

import (
	"math"
	"strconv"
	"strings"
	"testing"
)

func TestHBars(t *testing.T) {
	names := []string{"Groceries", "Rent", "Restaurants, takeaway meals and coffee with friends after work", "Fun", "Health", "Transport", "Gifts", "Clothes", "Holidays", "Phone", "Insurance", "Other"}
	c := Chart{Title: "Budget against actual", Labels: names, Format: dollars}
	budget, actual := Series{Name: "Budget", Class: "muted"}, Series{Name: "Actual", Class: "c1"}
	for i := range names {
		budget.Points = append(budget.Points, Point{Value: int64(10000 * (i + 1))})
		actual.Points = append(actual.Points, Point{Value: int64(9000*(i+1) - 30000), Href: "/transactions?category=" + strconv.Itoa(i)})
	}
	c.Series = []Series{budget, actual}
	doc := render(t, HBars(c))
	checkSVG(t, doc, c.Title)

	// Every category is labelled, however many; a very long one shortened, whole in its tooltip.
	labels := doc.Find(".chart-labels text")
	if labels.Length() != len(names) {
		t.Fatalf("%d category labels, want all %d", labels.Length(), len(names))
	}
	long := labels.Eq(2)
	text := long.Contents().Not("title").Text()
	if !strings.HasSuffix(text, "…") || !strings.HasPrefix(names[2], strings.TrimSuffix(text, "…")) || runes(text) < 30 || long.Find("title").Text() != names[2] {
		t.Errorf("long label = %q with title %q", text, long.Find("title").Text())
	}
	if x := attrFloat(t, long, "x"); x+float64(runes(text))*charWidth > width {
		t.Errorf("the shortened label runs from %v past the chart's width", x)
	}
	if labels.Eq(0).Find("title").Length() != 0 {
		t.Error("a short label has a tooltip")
	}
	// Rows go down the chart and the chart grows to hold them.
	if y0, y1 := attrFloat(t, labels.Eq(0), "y"), attrFloat(t, labels.Eq(1), "y"); y1 <= y0 {
		t.Errorf("second row at y=%v, first at %v", y1, y0)
	}
	vb := strings.Fields(doc.Find("svg").AttrOr("viewBox", ""))
	if h, _ := strconv.ParseFloat(vb[3], 64); h < float64(len(names))*2*barThickness {
		t.Errorf("viewBox height %v too short for %d rows", h, len(names))
	}

	// Actual for Groceries is 9000-30000 < 0: it goes left of zero; the others right.
	zero := attrFloat(t, doc.Find("line.chart-zero"), "x1")
	bars := doc.Find(".chart-series.c1 rect.chart-bar")
	if bars.Length() != len(names) {
		t.Fatalf("%d actual bars, want %d", bars.Length(), len(names))
	}
	if x, w := attrFloat(t, bars.Eq(0), "x"), attrFloat(t, bars.Eq(0), "width"); x+w > zero+0.01 {
		t.Errorf("the negative bar spans %v..%v, right of zero at %v", x, x+w, zero)
	}
	if x := attrFloat(t, bars.Eq(5), "x"); math.Abs(x-zero) > 0.01 {
		t.Errorf("a positive bar starts at %v, not at zero %v", x, zero)
	}
	checkMarks(t, bars.Slice(0, 2), []string{"Actual, Groceries: -210.00", "Actual, Rent: -120.00"}, []string{"/transactions?category=0", "/transactions?category=1"})

	// The value ticks along the bottom do not overlap.
	ticks := doc.Find(".chart-values text")
	if ticks.Length() < 2 {
		t.Fatalf("%d value ticks", ticks.Length())
	}
	for i := 1; i < ticks.Length(); i++ {
		gap := attrFloat(t, ticks.Eq(i), "x") - attrFloat(t, ticks.Eq(i-1), "x")
		if need := float64(runes(ticks.Eq(i).Text())) * charWidth; gap < need {
			t.Errorf("ticks %q and %q are %v apart, need %v", ticks.Eq(i-1).Text(), ticks.Eq(i).Text(), gap, need)
		}
	}
	checkLegend(t, doc, []string{"Budget", "Actual"}, []string{"muted", "c1"})
}
