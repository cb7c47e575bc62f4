package charts

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/a-h/templ"
)

// dollars formats like a user's "1,234.56" number format, enough to see Format used.
func dollars(minor int64) string {
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	return fmt.Sprintf("%s%d.%02d", sign, minor/100, minor%100)
}

func render(t *testing.T, c templ.Component) *goquery.Document {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Render(context.Background(), &buf); err != nil {
		t.Fatalf("render: %v", err)
	}
	doc, err := goquery.NewDocumentFromReader(&buf)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return doc
}

func months(n int) []string {
	names := []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
	labels := make([]string, n)
	for i := range labels {
		labels[i] = names[i%12] + " " + strconv.Itoa(2025+i/12)
	}
	return labels
}

func series(name, class string, values ...int64) Series {
	s := Series{Name: name, Class: class}
	for i, v := range values {
		s.Points = append(s.Points, Point{Value: v, Href: fmt.Sprintf("/transactions?series=%s&i=%d", name, i)})
	}
	return s
}

func spending() Chart {
	return Chart{
		Title:  "Spending by category per month",
		Labels: months(3),
		Series: []Series{
			series("Home", "c1", 120000, 120000, 120000),
			series("Food", "c2", 45000, 0, 38000),
			// A month of refunds larger than the spending: it stacks below zero.
			series("Shopping", "c3", 9000, -15000, 2000),
		},
		Format: dollars,
	}
}

// checkSVG asserts what every drawn chart has: one accessible, scalable SVG without styles.
func checkSVG(t *testing.T, doc *goquery.Document, title string) *goquery.Selection {
	t.Helper()
	svg := doc.Find("figure.chart > svg")
	if svg.Length() != 1 {
		t.Fatalf("want one svg in figure.chart, found %d", svg.Length())
	}
	if role, _ := svg.Attr("role"); role != "img" {
		t.Errorf("svg role = %q, want img", role)
	}
	if label, _ := svg.Attr("aria-label"); label != title {
		t.Errorf("svg aria-label = %q, want %q", label, title)
	}
	if vb, ok := svg.Attr("viewBox"); !ok || len(strings.Fields(vb)) != 4 {
		t.Errorf("svg viewBox = %q (present: %v), want four numbers", vb, ok)
	}
	for _, attr := range []string{"width", "height"} {
		if v, ok := svg.Attr(attr); ok {
			t.Errorf("svg has a fixed %s=%q; it should scale by its viewBox", attr, v)
		}
	}
	if n := doc.Find("[style]").Length(); n > 0 {
		t.Errorf("%d elements have a style attribute; the CSP forbids them", n)
	}
	if n := doc.Find("script, style").Length(); n > 0 {
		t.Errorf("%d script or style elements", n)
	}
	return svg
}

// checkMarks asserts the marks and that each has its title and, if given, its link.
func checkMarks(t *testing.T, marks *goquery.Selection, titles, hrefs []string) {
	t.Helper()
	if marks.Length() != len(titles) {
		t.Fatalf("%d marks, want %d", marks.Length(), len(titles))
	}
	marks.Each(func(i int, m *goquery.Selection) {
		if got := m.ChildrenFiltered("title").Text(); got != titles[i] {
			t.Errorf("mark %d title = %q, want %q", i, got, titles[i])
		}
		a := m.Parent()
		href, linked := a.Attr("href")
		switch {
		case hrefs[i] == "" && goquery.NodeName(a) == "a":
			t.Errorf("mark %d is linked to %q; it has no Href", i, href)
		case hrefs[i] != "" && (goquery.NodeName(a) != "a" || href != hrefs[i]):
			t.Errorf("mark %d links to %q (linked: %v), want %q", i, href, linked, hrefs[i])
		case hrefs[i] != "" && a.AttrOr("tabindex", "") != "-1":
			t.Errorf("mark %d's link is in the tab order; the table under the chart has its link", i)
		}
	})
}

func attrFloat(t *testing.T, s *goquery.Selection, name string) float64 {
	t.Helper()
	v, _ := s.Attr(name)
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, v, err)
	}
	return f
}

func TestStackedBars(t *testing.T) {
	c := spending()
	c.Series[0].Points[1].Title = "Home, Feb 2025: 1,200.00"
	c.Series[1].Points[0].Href = ""
	doc := render(t, StackedBars(c))
	checkSVG(t, doc, "Spending by category per month")

	// The zero Food in February draws nothing; titles default to "Series, Label: value".
	checkMarks(t, doc.Find("rect.chart-bar"),
		[]string{
			"Home, Jan 2025: 1200.00", "Home, Feb 2025: 1,200.00", "Home, Mar 2025: 1200.00",
			"Food, Jan 2025: 450.00", "Food, Mar 2025: 380.00",
			"Shopping, Jan 2025: 90.00", "Shopping, Feb 2025: -150.00", "Shopping, Mar 2025: 20.00",
		},
		[]string{
			"/transactions?series=Home&i=0", "/transactions?series=Home&i=1", "/transactions?series=Home&i=2",
			"", "/transactions?series=Food&i=2",
			"/transactions?series=Shopping&i=0", "/transactions?series=Shopping&i=1", "/transactions?series=Shopping&i=2",
		})

	zero := attrFloat(t, doc.Find("line.chart-zero"), "y1")
	doc.Find("rect.chart-bar").Each(func(i int, r *goquery.Selection) {
		top, bottom := attrFloat(t, r, "y"), attrFloat(t, r, "y")+attrFloat(t, r, "height")
		refund := strings.Contains(r.ChildrenFiltered("title").Text(), "-150.00")
		if refund && top < zero-0.01 {
			t.Errorf("the refund starts at y=%v, above zero at %v", top, zero)
		}
		if !refund && bottom > zero+0.01 {
			t.Errorf("mark %d ends at y=%v, below zero at %v", i, bottom, zero)
		}
	})
	// Segments of one month touch: Food in January starts where Home ends.
	home, food := doc.Find("rect.chart-bar").Eq(0), doc.Find("rect.chart-bar").Eq(3)
	if got, want := attrFloat(t, food, "y")+attrFloat(t, food, "height"), attrFloat(t, home, "y"); got != want {
		t.Errorf("Food ends at %v, Home starts at %v: the stack has a gap", got, want)
	}

	if got := doc.Find(".chart-series").Map(func(_ int, s *goquery.Selection) string { return s.AttrOr("class", "") }); strings.Join(got, "|") != "chart-series c1|chart-series c2|chart-series c3" {
		t.Errorf("series classes = %v", got)
	}
	ticks := doc.Find(".chart-values text").Map(func(_ int, s *goquery.Selection) string { return s.Text() })
	if len(ticks) < 3 || ticks[0] != "-500.00" || !contains(ticks, "0.00") || ticks[len(ticks)-1] != "2000.00" {
		t.Errorf("tick labels = %v, want formatted nice ticks from -500.00 through 0.00 to 2000.00", ticks)
	}
	checkLegend(t, doc, []string{"Home", "Food", "Shopping"}, []string{"c1", "c2", "c3"})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func checkLegend(t *testing.T, doc *goquery.Document, names, classes []string) {
	t.Helper()
	items := doc.Find("figure.chart > ul.chart-legend > li")
	if items.Length() != len(names) {
		t.Fatalf("%d legend items, want %d", items.Length(), len(names))
	}
	items.Each(func(i int, li *goquery.Selection) {
		if got := strings.TrimSpace(li.Text()); got != names[i] {
			t.Errorf("legend %d = %q, want %q", i, got, names[i])
		}
		swatch := li.Find("span.chart-swatch")
		if !swatch.HasClass(classes[i]) || swatch.AttrOr("aria-hidden", "") != "true" {
			t.Errorf("legend %d swatch class = %q, want %s and aria-hidden", i, swatch.AttrOr("class", ""), classes[i])
		}
	})
}

func TestBars(t *testing.T) {
	c := Chart{
		Title:  "Budget against actual, March 2026",
		Labels: []string{"Groceries", "Rent", "Fun"},
		Series: []Series{
			series("Budget", "muted", 40000, 120000, 10000),
			series("Actual", "c1", 45250, 120000, 0),
		},
		Format: dollars,
	}
	doc := render(t, Bars(c))
	checkSVG(t, doc, c.Title)
	marks := doc.Find("rect.chart-bar")
	checkMarks(t, marks,
		[]string{"Budget, Groceries: 400.00", "Budget, Rent: 1200.00", "Budget, Fun: 100.00", "Actual, Groceries: 452.50", "Actual, Rent: 1200.00"},
		[]string{"/transactions?series=Budget&i=0", "/transactions?series=Budget&i=1", "/transactions?series=Budget&i=2", "/transactions?series=Actual&i=0", "/transactions?series=Actual&i=1"})
	// Side by side: Actual's Rent bar is right of Budget's and as tall.
	budget, actual := marks.Eq(1), marks.Eq(4)
	if attrFloat(t, actual, "x") <= attrFloat(t, budget, "x")+attrFloat(t, budget, "width")-0.01 {
		t.Errorf("the Actual bar overlaps the Budget bar")
	}
	if attrFloat(t, actual, "height") != attrFloat(t, budget, "height") {
		t.Errorf("equal values, unequal bars")
	}
	checkLegend(t, doc, []string{"Budget", "Actual"}, []string{"muted", "c1"})
}

func TestBarsWithLine(t *testing.T) {
	c := Chart{
		Title:  "Income and expense per month",
		Labels: months(4),
		Series: []Series{
			series("Income", "income", 500000, 500000, 520000, 0),
			series("Expense", "expense", 350000, 610000, 400000, 0),
		},
		Format: dollars,
	}
	net := series("Net", "net", 150000, -110000, 120000, 0)
	doc := render(t, BarsWithLine(c, net))
	checkSVG(t, doc, c.Title)
	if n := doc.Find("rect.chart-bar").Length(); n != 6 {
		t.Errorf("%d bars, want 6 (the last month is empty)", n)
	}
	line := doc.Find(".chart-series.net")
	if d := line.Find("path.chart-line").AttrOr("d", ""); strings.Count(d, "L") != 3 || !strings.HasPrefix(d, "M ") {
		t.Errorf("net line d = %q, want four points", d)
	}
	// Every point of the line is a mark, a month of zero too.
	checkMarks(t, line.Find("circle.chart-dot"),
		[]string{"Net, Jan 2025: 1500.00", "Net, Feb 2025: -1100.00", "Net, Mar 2025: 1200.00", "Net, Apr 2025: 0.00"},
		[]string{"/transactions?series=Net&i=0", "/transactions?series=Net&i=1", "/transactions?series=Net&i=2", "/transactions?series=Net&i=3"})
	zero := attrFloat(t, doc.Find("line.chart-zero"), "y1")
	if y := attrFloat(t, line.Find("circle").Eq(1), "cy"); y <= zero {
		t.Errorf("the negative net is drawn at y=%v, not below zero at %v", y, zero)
	}
	checkLegend(t, doc, []string{"Income", "Expense", "Net"}, []string{"income", "expense", "net"})
	if !doc.Find(".chart-legend li").Last().Find(".chart-swatch").HasClass("chart-swatch-line") {
		t.Error("the line's legend swatch is not drawn as a line")
	}
}

func TestLines(t *testing.T) {
	c := Chart{
		Title:  "Net worth, EUR",
		Labels: months(5),
		Series: []Series{
			{Name: "EUR", Class: "c1", Points: []Point{{Value: 10_000_000}, {Value: 10_250_000}, {Value: 11_000_000}, {Value: 10_900_000}, {Value: 12_000_000}}},
		},
		Format: dollars,
	}
	doc := render(t, Lines(c))
	checkSVG(t, doc, c.Title)
	checkMarks(t, doc.Find("circle.chart-dot"),
		[]string{"EUR, Jan 2025: 100000.00", "EUR, Feb 2025: 102500.00", "EUR, Mar 2025: 110000.00", "EUR, Apr 2025: 109000.00", "EUR, May 2025: 120000.00"},
		[]string{"", "", "", "", ""})
	if n := doc.Find("a").Length(); n != 0 {
		t.Errorf("%d links without any Href", n)
	}
	// The axis fits the values instead of starting at zero.
	if ticks := doc.Find(".chart-values text"); ticks.First().Text() == "0.00" {
		t.Errorf("the axis starts at zero: %v", ticks.Map(func(_ int, s *goquery.Selection) string { return s.Text() }))
	}
	if doc.Find("line.chart-zero").Length() != 0 {
		t.Error("a zero line outside the axis")
	}
}

func TestLinesAllZeroIsStillALine(t *testing.T) {
	c := Chart{Title: "Net worth", Labels: months(3), Series: []Series{series("USD", "c1", 0, 0, 0)}}
	doc := render(t, Lines(c))
	checkSVG(t, doc, "Net worth")
	if n := doc.Find("circle.chart-dot").Length(); n != 3 {
		t.Errorf("%d points, want 3", n)
	}
}

func TestSinglePoint(t *testing.T) {
	c := Chart{Title: "Net worth", Labels: months(1), Series: []Series{series("USD", "c1", 123456)}, Format: dollars}
	for name, chart := range map[string]templ.Component{"lines": Lines(c), "sparkline": Sparkline(c), "bars": Bars(c), "hbars": HBars(c), "stacked": StackedBars(c)} {
		t.Run(name, func(t *testing.T) {
			doc := render(t, chart)
			checkSVG(t, doc, "Net worth")
			if n := doc.Find("circle.chart-dot, rect.chart-bar").Length(); n != 1 {
				t.Errorf("%d marks, want 1", n)
			}
		})
	}
}

func TestSparkline(t *testing.T) {
	c := Chart{Title: "Net worth, last 12 months", Labels: months(12), Series: []Series{series("USD", "net", 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)}}
	doc := render(t, Sparkline(c))
	svg := checkSVG(t, doc, c.Title)
	if n := doc.Find(".chart-axis, .chart-grid, .chart-legend").Length(); n != 0 {
		t.Errorf("a sparkline with %d axes or legends", n)
	}
	if n := svg.Find("circle.chart-dot").Length(); n != 12 {
		t.Errorf("%d points, want 12", n)
	}
	if n := svg.Find("circle.chart-dot-last").Length(); n != 1 {
		t.Errorf("%d last points, want 1", n)
	}
}

func TestEmptyCharts(t *testing.T) {
	labels := months(3)
	tests := []struct {
		name  string
		chart templ.Component
		say   string
	}{
		{"no labels", StackedBars(Chart{Title: "t", Series: []Series{series("a", "c1", 5)}}), "No data for this period"},
		{"no series", Bars(Chart{Title: "t", Labels: labels}), "No data for this period"},
		{"horizontal, all zero", HBars(Chart{Title: "t", Labels: labels, Series: []Series{series("a", "c1", 0, 0, 0)}}), "No data for this period"},
		{"all zero bars", StackedBars(Chart{Title: "t", Labels: labels, Series: []Series{series("a", "c1", 0, 0, 0)}}), "No data for this period"},
		{"all zero with a zero line", BarsWithLine(Chart{Title: "t", Labels: labels, Series: []Series{series("a", "income", 0, 0, 0)}}, series("n", "net", 0, 0, 0)), "No data for this period"},
		{"no points", Lines(Chart{Title: "t", Labels: labels, Series: []Series{{Name: "a"}}}), "No data for this period"},
		{"sparkline", Sparkline(Chart{Title: "t"}), "No data for this period"},
		{"the caller's words", Lines(Chart{Title: "t", Empty: "No accounts yet"}), "No accounts yet"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := render(t, tc.chart)
			if doc.Find("svg").Length() != 0 {
				t.Error("an empty chart drew an svg")
			}
			if got := doc.Find("figure.chart.chart-empty .chart-empty-text").Text(); got != tc.say {
				t.Errorf("empty chart says %q, want %q", got, tc.say)
			}
		})
	}
}

func TestCrowdedLabelsAreThinned(t *testing.T) {
	values := make([]int64, 36)
	for i := range values {
		values[i] = int64(1000 + i*10)
	}
	doc := render(t, Bars(Chart{Title: "t", Labels: months(36), Series: []Series{series("a", "c1", values...)}}))
	shown := doc.Find(".chart-labels text")
	if shown.Length() < 4 || shown.Length() > 12 {
		t.Fatalf("%d of 36 x labels shown, want a readable few", shown.Length())
	}
	if first := shown.First().Text(); first != "Jan 2025" {
		t.Errorf("first label shown = %q, want the first label", first)
	}
	// Shown labels do not overlap, by the same estimate of their width.
	prev := -1e9
	shown.Each(func(_ int, s *goquery.Selection) {
		x := attrFloat(t, s, "x")
		if x-prev < float64(runes(s.Text()))*charWidth {
			t.Errorf("label %q at x=%v is too close to the previous at %v", s.Text(), x, prev)
		}
		prev = x
	})
	if n := doc.Find("rect.chart-bar").Length(); n != 36 {
		t.Errorf("%d bars, want all 36", n)
	}
	few := render(t, Bars(Chart{Title: "t", Labels: months(3), Series: []Series{series("a", "c1", 1, 2, 3)}}))
	if n := few.Find(".chart-labels text").Length(); n != 3 {
		t.Errorf("%d of 3 x labels shown, want all", n)
	}
}

func TestHugeValues(t *testing.T) {
	const e15 = 1_000_000_000_000_000
	c := Chart{Title: "t", Labels: months(2), Series: []Series{series("a", "c1", e15-1, -e15), series("b", "c2", e15-1, 1)}}
	charts := map[string]templ.Component{
		"stacked": StackedBars(c), "bars": Bars(c), "hbars": HBars(c), "line": BarsWithLine(c, series("n", "net", -e15, e15)),
		"lines": Lines(c), "sparkline": Sparkline(c),
	}
	for name, chart := range charts {
		t.Run(name, func(t *testing.T) {
			doc := render(t, chart)
			svg := checkSVG(t, doc, "t")
			vb := strings.Fields(svg.AttrOr("viewBox", ""))
			w, _ := strconv.ParseFloat(vb[2], 64)
			h, _ := strconv.ParseFloat(vb[3], 64)
			doc.Find("rect.chart-bar, circle.chart-dot").Each(func(i int, m *goquery.Selection) {
				for attr, limit := range map[string]float64{"x": w, "y": h, "width": w, "height": h, "cx": w, "cy": h} {
					if _, ok := m.Attr(attr); !ok {
						continue
					}
					if v := attrFloat(t, m, attr); v < 0 || v > limit {
						t.Errorf("mark %d %s=%v is outside the chart", i, attr, v)
					}
				}
			})
		})
	}
}

// TestUntrustedText checks names and titles are text, and links cannot run script.
func TestUntrustedText(t *testing.T) {
	c := Chart{
		Title:  `"><script>alert(1)</script>`,
		Labels: []string{"<b>Jan</b>"},
		Series: []Series{{Name: "<i>x</i>", Class: "c1", Points: []Point{{Value: 5, Title: "</title><script>", Href: "javascript:alert(1)"}}}},
	}
	doc := render(t, Bars(c))
	checkSVG(t, doc, c.Title)
	if got := doc.Find("rect title").Text(); got != "</title><script>" {
		t.Errorf("title = %q", got)
	}
	if href := doc.Find("a").AttrOr("href", ""); strings.HasPrefix(href, "javascript:") {
		t.Errorf("href = %q", href)
	}
	if doc.Find("b, i").Length() != 0 {
		t.Error("label markup was rendered as HTML")
	}
}
