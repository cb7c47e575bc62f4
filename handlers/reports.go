package handlers

import (
	"net/url"
	"slices"

	"github.com/gofiber/fiber/v2"

	"tally/models/ledger"
	"tally/views"
)

// The four reports, in the order of their tabs. Every chart has a table of the same numbers
// under it, and every mark of rows (all but a budget's planned amounts) links to /transactions
// filtered to exactly them.
var reportKinds = []struct{ kind, tab, title, intro string }{
	{"spending", "Spending", "Spending by category", "What each category spent per month, net of refunds; transfers between your accounts are not spending."},
	{"cashflow", "Income and expense", "Income and expense", "Money in through income categories against money out, per month, with the net as a line."},
	{"networth", "Net worth", "Net worth", "The balances of all your accounts at the end of each month, one line per currency."},
	{"budget", "Budget against actual", "Budget against actual", "What you planned per category against what it spent (or received) in the range."},
}

// Date range presets: the months they cover, from the current month.
const (
	presetThisMonth = "month"
	presetThisYear  = "this-year"
	presetLastYear  = "last-year"
	preset12Months  = "12m"
	presetAll       = "all"
)

// reportQuery is a report's range and account, read and checked.
type reportQuery struct {
	from, to  string
	accountID uint
	preset    string
}

// ReportsPage is one of the four reports; /reports is the first.
func (h *Handlers) ReportsPage(c *fiber.Ctx) error {
	kind := c.Params("kind", "spending")
	i := slices.IndexFunc(reportKinds, func(k struct{ kind, tab, title, intro string }) bool { return k.kind == kind })
	if i < 0 {
		return fiber.ErrNotFound
	}
	var f views.ReportFilter
	if err := c.QueryParser(&f); err != nil {
		return fiber.ErrBadRequest
	}
	f = views.ReportFilter{From: clean(f.From), To: clean(f.To), AccountID: clean(f.AccountID), Range: clean(f.Range)}
	v, err := h.reportView(c)
	if err != nil {
		return err
	}
	q, err := h.reportQuery(v, &f, kind)
	if err != nil {
		return err
	}
	d := views.ReportsData{Kind: kind, Title: reportKinds[i].title, Intro: reportKinds[i].intro, Filter: f,
		Empty: "Nothing was recorded in this range."}
	for _, k := range reportKinds {
		d.Tabs = append(d.Tabs, views.NavLink{Label: k.tab, URL: reportURL(k.kind, f, q), Current: k.kind == kind})
	}
	d.Presets = h.presetLinks(kind, f, q)
	for _, a := range v.accounts {
		d.Accounts = append(d.Accounts, views.Option{Value: idString(a.ID), Label: a.Name})
	}
	status := fiber.StatusOK
	if !f.Valid() {
		status = fiber.StatusUnprocessableEntity
	} else {
		d.RangeLabel = rangeLabel(q.from, q.to)
		v.q = q
		if d.Charts, err = v.charts(kind); err != nil {
			return err
		}
	}
	return h.render(c, page{Title: d.Title, Status: status, Body: views.ReportsPage(d)})
}

// reportQuery reads a report's range: a preset, or from and to (YYYY-MM), defaulting to the
// last 12 months (the budget report: this month). What cannot be read is marked on f.
func (h *Handlers) reportQuery(v *reportView, f *views.ReportFilter, kind string) (reportQuery, error) {
	var q reportQuery
	id, ok := formID(f.AccountID)
	if !ok || (id != 0 && v.accountBy[id] == nil) {
		f.AddError("account_id", "Choose an account from the list.")
	}
	q.accountID = id
	thisMonth := h.now().Format("2006-01")
	switch {
	case f.Range != "":
		q.preset = f.Range
	case f.From == "" && f.To == "" && kind == "budget":
		q.preset = presetThisMonth
	case f.From == "" && f.To == "":
		q.preset = preset12Months
	}
	if q.preset != "" {
		from, to, ok := presetRange(q.preset, thisMonth)
		if !ok {
			f.AddError("from", "Choose a range from the list.")
			return q, nil
		}
		if q.preset == presetAll && f.Valid() {
			first, err := v.b.FirstMonth(q.accountID)
			if err != nil {
				return q, err
			}
			if first != "" && first < to {
				from = first
			}
		}
		q.from, q.to = from, to
		f.From, f.To = from, to
		return q, nil
	}
	q.from, q.to = f.From, f.To
	if q.to == "" {
		q.to = thisMonth
	}
	if _, valid := ledger.ParseMonth(q.to); valid && q.from == "" {
		q.from = ledger.AddMonths(q.to, -11)
	}
	f.From, f.To = q.from, q.to
	for _, p := range []struct{ field, value string }{{"from", q.from}, {"to", q.to}} {
		if _, valid := ledger.ParseMonth(p.value); !valid {
			f.AddError(p.field, "Enter a month like 2026-03.")
		}
	}
	if f.Valid() {
		if err := fieldErrors(ledger.CheckRange(q.from, q.to), &f.Form, nil); err != nil {
			return q, err
		}
	}
	return q, nil
}

// presetRange is the months a preset covers, ending with the current month.
func presetRange(preset, thisMonth string) (from, to string, ok bool) {
	year := thisMonth[:4]
	switch preset {
	case presetThisMonth:
		return thisMonth, thisMonth, true
	case presetThisYear:
		return year + "-01", thisMonth, true
	case presetLastYear:
		last := ledger.AddMonths(year+"-01", -12)[:4]
		return last + "-01", last + "-12", true
	case preset12Months:
		return ledger.AddMonths(thisMonth, -11), thisMonth, true
	case presetAll:
		return ledger.AddMonths(thisMonth, -11), thisMonth, true
	}
	return "", "", false
}

// presetLinks are the range presets of a report, keeping its account.
func (h *Handlers) presetLinks(kind string, f views.ReportFilter, q reportQuery) []views.NavLink {
	presets := [][2]string{{presetThisYear, "This year"}, {presetLastYear, "Last year"}, {preset12Months, "Last 12 months"}, {presetAll, "All"}}
	if kind == "budget" {
		presets = append([][2]string{{presetThisMonth, "This month"}}, presets...)
	}
	var out []views.NavLink
	for _, p := range presets {
		u := url.Values{"range": {p[0]}}
		if f.AccountID != "" {
			u.Set("account_id", f.AccountID)
		}
		out = append(out, views.NavLink{Label: p[1], URL: "/reports/" + kind + "?" + u.Encode(), Current: q.preset == p[0]})
	}
	return out
}

// reportURL is kind's report over the same range and account.
func reportURL(kind string, f views.ReportFilter, q reportQuery) string {
	u := url.Values{}
	if q.preset != "" {
		u.Set("range", q.preset)
	} else {
		u.Set("from", f.From)
		u.Set("to", f.To)
	}
	if f.AccountID != "" {
		u.Set("account_id", f.AccountID)
	}
	return "/reports/" + kind + "?" + u.Encode()
}

// monthLabel is "Mar 2026" for 2026-03.
func monthLabel(month string) string {
	m, _ := ledger.ParseMonth(month)
	return m.Format("Jan 2006")
}

// longMonthLabel is "March 2026" for 2026-03.
func longMonthLabel(month string) string {
	m, _ := ledger.ParseMonth(month)
	return m.Format("January 2006")
}

func rangeLabel(from, to string) string {
	if from == to {
		return longMonthLabel(from)
	}
	return monthLabel(from) + " – " + monthLabel(to)
}

func monthLabels(months []string) []string {
	out := make([]string, len(months))
	for i, m := range months {
		out[i] = monthLabel(m)
	}
	return out
}

// reportView is what the reports and the budget read besides their numbers, once per request:
// the user's accounts (currencies), categories in the user's order, and the money format.
type reportView struct {
	b          *ledger.Book
	m          moneyFmt
	accounts   []ledger.Account
	accountBy  map[uint]*ledger.Account
	categories []ledger.Category
	categoryBy map[uint]*ledger.Category
	q          reportQuery
}

// reportView takes the accounts, categories and money format from the ledger pages' cache
// (ledgerView: one statement while no write has moved the ledger version) and tells the book
// of them, so a report or a budget costs one statement more: on Postgres each is a round trip.
// The accounts are the cache's, shared between requests: read them, never change them.
func (h *Handlers) reportView(c *fiber.Ctx) (*reportView, error) {
	lv, err := h.ledgerView(c)
	if err != nil {
		return nil, err
	}
	v := &reportView{m: lv.m, accounts: lv.accounts, accountBy: lv.accountsBy,
		categories: make([]ledger.Category, 0, len(lv.categories)), categoryBy: make(map[uint]*ledger.Category, len(lv.categories))}
	for _, cat := range lv.categories {
		v.categories = append(v.categories, cat)
	}
	ledger.SortCategories(v.categories)
	for i := range v.categories {
		v.categoryBy[v.categories[i].ID] = &v.categories[i]
	}
	v.b = lv.b.Knowing(v.accounts, v.categories)
	return v, nil
}

func (r *reportView) charts(kind string) ([]views.ReportChart, error) {
	switch kind {
	case "networth":
		rep, err := r.b.NetWorthReport(r.q.from, r.q.to, r.q.accountID)
		if err != nil {
			return nil, err
		}
		return r.netWorthCharts(rep), nil
	case "budget":
		rep, err := r.b.BudgetReport(r.q.from, r.q.to, r.q.accountID)
		if err != nil {
			return nil, err
		}
		return r.budgetCharts(rep), nil
	}
	rep, err := r.b.CategoryReport(r.q.from, r.q.to, r.q.accountID)
	if err != nil {
		return nil, err
	}
	if kind == "cashflow" {
		return r.cashFlowCharts(rep), nil
	}
	return r.spendingCharts(rep), nil
}

// format writes minor units of code in the user's number format, for ticks and titles.
func (r *reportView) format(code string) func(int64) string {
	return func(minor int64) string { return r.m.Amount(minor, code).Text }
}

// categoryName is "Group: Name", or what the rows without a category are called.
func (v *reportView) categoryName(id uint) string {
	if id == 0 {
		return "No category"
	}
	if c := v.categoryBy[id]; c != nil {
		return c.Group + ": " + c.Name
	}
	return "Deleted category"
}

// txLink is /transactions filtered to exactly the report rows of a category (0: the rows
// without one) from the start of month from to the end of month to, in currency code. The flow
// leaves out what the reports never count in a category: an opening balance given one.
func (r *reportView) txLink(categoryID uint, from, to, code string) string {
	q := url.Values{"category_id": {idString(categoryID)}, "flow": {ledger.FlowExpense}}
	switch c := r.categoryBy[categoryID]; {
	case categoryID == 0:
		q = url.Values{"uncategorized": {"1"}}
	case c != nil && c.IsIncome:
		q.Set("flow", ledger.FlowIncome)
	}
	return r.listLink(q, from, to, code)
}

// flowLink is /transactions filtered to the rows a side of the cash flow counts (income,
// expense, or both for the net) from the start of month from to the end of month to, in code.
func (r *reportView) flowLink(flow, from, to, code string) string {
	return r.listLink(url.Values{"flow": {flow}}, from, to, code)
}

// balanceLink is /transactions filtered to every row of code's accounts up to the end of month:
// the rows behind a month-end balance.
func (r *reportView) balanceLink(month, code string) string {
	return r.listLink(url.Values{}, "", month, code)
}

// listLink is /transactions with q, the months from (none: from the first row) to to, and the
// report's account or else code's accounts.
func (r *reportView) listLink(q url.Values, from, to, code string) string {
	if from != "" {
		q.Set("from", ledger.MonthStart(from))
	}
	q.Set("to", ledger.MonthEnd(to))
	r.addAccount(q, code)
	return "/transactions?" + q.Encode()
}

// addAccount narrows q to the report's account, or to code's accounts when the user has
// accounts in other currencies.
func (r *reportView) addAccount(q url.Values, code string) {
	if r.q.accountID != 0 {
		q.Set("account_id", idString(r.q.accountID))
		return
	}
	if slices.ContainsFunc(r.accounts, func(a ledger.Account) bool { return a.Currency != code }) {
		q.Set("currency", code)
	}
}

// appendCode adds code to codes unless it is there: currencies in order of first appearance.
func appendCode(codes []string, code string) []string {
	if !slices.Contains(codes, code) {
		codes = append(codes, code)
	}
	return codes
}

// groupClasses gives each category group a colour of the palette, in the user's group order.
func (v *reportView) groupClasses() map[uint]string {
	out := map[uint]string{}
	for _, c := range v.categories {
		if _, ok := out[c.GroupID]; !ok {
			out[c.GroupID] = "c" + idString(uint(len(out)%8+1))
		}
	}
	return out
}

// chartID is the element id of a report's chart for a currency.
func chartID(kind, code string) string { return "report-" + kind + "-" + code }
