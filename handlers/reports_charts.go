package handlers

import (
	"slices"
	"strings"

	"tally/models/ledger"
	"tally/views"
	"tally/views/charts"
)

// The reports' charts and tables, one per currency, made from the book's reports. A table
// holds exactly the numbers its chart draws; cells and marks link to the same filtered lists.

// title is a mark's <title>: "Food: Groceries, Mar 2026: 12.34 USD".
func (r *reportView) title(series, label string, v int64, code string) string {
	return series + ", " + label + ": " + r.m.Amount(v, code).Text + " " + code
}

// cell is a table cell of v, linked to href unless v is 0.
func (r *reportView) cell(v int64, code, href string) views.ReportCell {
	if v == 0 {
		href = ""
	}
	return views.ReportCell{Amount: r.m.Amount(v, code), Href: href}
}

func (r *reportView) cells(vs []int64, code string) []views.ReportCell {
	out := make([]views.ReportCell, len(vs))
	for i, v := range vs {
		out[i] = r.cell(v, code, "")
	}
	return out
}

func sum(vs []int64) int64 {
	var s int64
	for _, v := range vs {
		s += v
	}
	return s
}

func allZero(vs []int64) bool { return !slices.ContainsFunc(vs, func(v int64) bool { return v != 0 }) }

// spendingCharts stack each month's spending by category, one colour per category group, with
// a table of categories by month, group subtotals and totals.
func (r *reportView) spendingCharts(rep *ledger.CategoryReport) []views.ReportChart {
	series := rep.Spending(r.categories)
	labels := monthLabels(rep.Months)
	classes := r.groupClasses()
	var codes []string
	for _, s := range series {
		if !allZero(s.Totals) {
			codes = appendCode(codes, s.Currency)
		}
	}
	slices.Sort(codes)
	var out []views.ReportChart
	for _, code := range codes {
		c := views.ReportChart{Currency: code, ID: chartID("spending", code), Kind: "stacked",
			Chart: charts.Chart{Title: "Spending by category per month in " + code + ", " + rangeLabel(rep.From, rep.To),
				Labels: labels, Format: r.format(code)},
			Table: views.ReportTable{Caption: "Spending by category per month in " + code, Corner: "Category",
				Head: append(slices.Clone(labels), "Total")}}
		total := make([]int64, len(rep.Months))
		var group []int64
		groupID, groupName := uint(0), ""
		closeGroup := func() {
			if group != nil {
				c.Table.Rows = append(c.Table.Rows, views.ReportRow{Head: groupName + " total", Class: "group-total",
					Cells: r.cells(append(group, sum(group)), code)})
			}
			group = nil
		}
		for _, s := range series {
			if s.Currency != code || allZero(s.Totals) {
				continue
			}
			name, class := r.categoryName(s.CategoryID), "muted"
			if cat := r.categoryBy[s.CategoryID]; cat != nil {
				class = classes[cat.GroupID]
				if cat.GroupID != groupID || group == nil {
					closeGroup()
					groupID, groupName, group = cat.GroupID, cat.Group, make([]int64, len(rep.Months))
				}
			} else {
				closeGroup()
			}
			cs := charts.Series{Name: name, Class: class}
			row := views.ReportRow{Head: name}
			for i, v := range s.Totals {
				href := r.txLink(s.CategoryID, rep.Months[i], rep.Months[i], code)
				cs.Points = append(cs.Points, charts.Point{Value: v, Title: r.title(name, labels[i], v, code), Href: href})
				row.Cells = append(row.Cells, r.cell(v, code, href))
				total[i] += v
				if group != nil {
					group[i] += v
				}
			}
			row.Cells = append(row.Cells, r.cell(sum(s.Totals), code, r.txLink(s.CategoryID, rep.From, rep.To, code)))
			c.Chart.Series = append(c.Chart.Series, cs)
			c.Table.Rows = append(c.Table.Rows, row)
		}
		closeGroup()
		// Spending in all is the cash flow's expense.
		totalRow := views.ReportRow{Head: "Total", Class: "total"}
		for i, v := range total {
			totalRow.Cells = append(totalRow.Cells, r.cell(v, code, r.flowLink(ledger.FlowExpense, rep.Months[i], rep.Months[i], code)))
		}
		totalRow.Cells = append(totalRow.Cells, r.cell(sum(total), code, r.flowLink(ledger.FlowExpense, rep.From, rep.To, code)))
		c.Table.Rows = append(c.Table.Rows, totalRow)
		out = append(out, c)
	}
	return out
}

// cashFlowCharts put income and expense side by side per month, the net as a line; each mark
// and cell links to the rows of its side of the flow (both for the net) in its month.
func (r *reportView) cashFlowCharts(rep *ledger.CategoryReport) []views.ReportChart {
	labels := monthLabels(rep.Months)
	var out []views.ReportChart
	for _, f := range rep.CashFlow(r.categories) {
		code := f.Currency
		c := views.ReportChart{Currency: code, ID: chartID("cashflow", code), Kind: "bars-line",
			Chart: charts.Chart{Title: "Income and expense per month in " + code + ", " + rangeLabel(rep.From, rep.To),
				Labels: labels, Format: r.format(code)},
			Table: views.ReportTable{Caption: "Income and expense per month in " + code, Corner: "Month",
				Head: []string{"Income", "Expense", "Net"}}}
		income := charts.Series{Name: "Income", Class: "income"}
		expense := charts.Series{Name: "Expense", Class: "expense"}
		c.Line = charts.Series{Name: "Net", Class: "net"}
		flows := []struct {
			flow   string
			values []int64
			series *charts.Series
		}{{ledger.FlowIncome, f.Income, &income}, {ledger.FlowExpense, f.Expense, &expense}, {ledger.FlowNet, f.Net, &c.Line}}
		for i, month := range rep.Months {
			row := views.ReportRow{Head: labels[i]}
			for _, fl := range flows {
				v, href := fl.values[i], r.flowLink(fl.flow, month, month, code)
				fl.series.Points = append(fl.series.Points, charts.Point{Value: v, Title: r.title(fl.series.Name, labels[i], v, code), Href: href})
				row.Cells = append(row.Cells, r.cell(v, code, href))
			}
			c.Table.Rows = append(c.Table.Rows, row)
		}
		c.Chart.Series = []charts.Series{income, expense}
		total := views.ReportRow{Head: "Total", Class: "total"}
		for _, fl := range flows {
			total.Cells = append(total.Cells, r.cell(sum(fl.values), code, r.flowLink(fl.flow, rep.From, rep.To, code)))
		}
		c.Table.Rows = append(c.Table.Rows, total)
		out = append(out, c)
	}
	return out
}

// netWorthCharts draw each currency's month-end net worth as a line; a point links to every row
// up to that month's end when the list can name them.
func (r *reportView) netWorthCharts(rep *ledger.NetWorthReport) []views.ReportChart {
	labels := monthLabels(rep.Months)
	var out []views.ReportChart
	for _, s := range rep.Series {
		code := s.Currency
		name := "Net worth"
		if a := r.accountBy[r.q.accountID]; a != nil {
			name = a.Name
		}
		c := views.ReportChart{Currency: code, ID: chartID("networth", code), Kind: "lines",
			Chart: charts.Chart{Title: name + " at the end of each month in " + code + ", " + rangeLabel(rep.From, rep.To),
				Labels: labels, Format: r.format(code)},
			Table: views.ReportTable{Caption: name + " at the end of each month in " + code, Corner: "Month", Head: []string{name}}}
		line := charts.Series{Name: name, Class: "net"}
		for i, v := range s.Balances {
			href := r.balanceLink(rep.Months[i], code)
			line.Points = append(line.Points, charts.Point{Value: v, Title: r.title(name, labels[i], v, code), Href: href})
			c.Table.Rows = append(c.Table.Rows, views.ReportRow{Head: labels[i], Cells: []views.ReportCell{r.cell(v, code, href)}})
		}
		c.Chart.Series = []charts.Series{line}
		out = append(out, c)
	}
	return out
}

// budgetCharts set each category's planned amount beside what it spent over the range, and each
// income category's expected beside what it received: per currency, spending and income in
// charts of their own, so a salary does not dwarf the groceries.
func (r *reportView) budgetCharts(rep *ledger.BudgetReport) []views.ReportChart {
	var codes []string
	for _, l := range rep.Lines {
		codes = appendCode(codes, l.Currency)
	}
	slices.Sort(codes)
	var out []views.ReportChart
	for _, code := range codes {
		for _, income := range []bool{false, true} {
			if c, ok := r.budgetChart(rep, code, income); ok {
				out = append(out, c)
			}
		}
	}
	return out
}

func (r *reportView) budgetChart(rep *ledger.BudgetReport, code string, income bool) (views.ReportChart, bool) {
	what, id, planned, actual := "Spending", chartID("budget", code), "Budgeted", "Spent"
	if income {
		what, id, planned, actual = "Income", chartID("budget-income", code), "Expected", "Received"
	}
	title := what + " against the budget per category in " + code
	c := views.ReportChart{Currency: code, ID: id, Kind: "hbars", Heading: what + " in " + code,
		Chart: charts.Chart{Title: title + ", " + rangeLabel(rep.From, rep.To), Format: r.format(code)},
		Table: views.ReportTable{Caption: title, Corner: "Category", Head: []string{planned, actual, "Left"}}}
	plannedSeries := charts.Series{Name: planned, Class: "muted"}
	actualSeries := charts.Series{Name: actual, Class: "expense"}
	if income {
		actualSeries.Class = "income"
	}
	for _, l := range rep.Lines {
		cat := r.categoryBy[l.CategoryID]
		if l.Currency != code || (cat != nil && cat.IsIncome) != income || (l.Budgeted == 0 && l.Activity == 0) {
			continue
		}
		name := r.categoryName(l.CategoryID)
		got := l.Spent()
		if income {
			got = l.Activity
		}
		href := r.txLink(l.CategoryID, rep.From, rep.To, code)
		c.Chart.Labels = append(c.Chart.Labels, name)
		plannedSeries.Points = append(plannedSeries.Points, charts.Point{Value: l.Budgeted, Title: r.title(name, strings.ToLower(planned), l.Budgeted, code)})
		actualSeries.Points = append(actualSeries.Points, charts.Point{Value: got, Title: r.title(name, strings.ToLower(actual), got, code), Href: href})
		row := views.ReportRow{Head: name, Cells: []views.ReportCell{r.cell(l.Budgeted, code, ""), r.cell(got, code, href),
			r.cell(l.Budgeted-got, code, "")}}
		if !l.HasBudget {
			row.Cells[0].Blank, row.Cells[2].Blank = true, true
		}
		c.Table.Rows = append(c.Table.Rows, row)
	}
	c.Chart.Series = []charts.Series{plannedSeries, actualSeries}
	return c, len(c.Chart.Labels) > 0
}

// netWorthSparks are the dashboard's small lines of net worth, one per currency.
func netWorthSparks(m moneyFmt, rep *ledger.NetWorthReport) []charts.Chart {
	labels := monthLabels(rep.Months)
	var out []charts.Chart
	for _, s := range rep.Series {
		code := s.Currency
		c := charts.Chart{Title: "Net worth in " + code + " at the end of each of the last 12 months", Labels: labels,
			Format: func(v int64) string { return m.Amount(v, code).Text }}
		line := charts.Series{Name: "Net worth " + code, Class: "net"}
		for i, v := range s.Balances {
			line.Points = append(line.Points, charts.Point{Value: v, Title: "Net worth, " + labels[i] + ": " + m.Amount(v, code).Text + " " + code})
		}
		c.Series = []charts.Series{line}
		out = append(out, c)
	}
	return out
}
