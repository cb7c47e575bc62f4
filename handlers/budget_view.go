package handlers

import (
	"slices"
	"strconv"
	"strings"

	"tally/models/ledger"
	"tally/views"
)

// The budget page's view: the book's lines laid out by group and currency, with words for
// people beside the numbers.

// currencyCodes are the currencies of the user's accounts, the main one first (that of the most
// open accounts; on a tie, of the oldest), then in code order.
func (v *reportView) currencyCodes() []string {
	count := map[string]int{}
	first := map[string]uint{}
	for _, a := range v.accounts {
		if _, seen := count[a.Currency]; !seen || a.ID < first[a.Currency] {
			first[a.Currency] = a.ID
		}
		count[a.Currency] += btoi(!a.Closed)
	}
	codes := make([]string, 0, len(count))
	for code := range count {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	main := ""
	for _, code := range codes {
		if main == "" || count[code] > count[main] || (count[code] == count[main] && first[code] < first[main]) {
			main = code
		}
	}
	if main != "" {
		i := slices.Index(codes, main)
		codes = append([]string{main}, append(codes[:i:i], codes[i+1:]...)...)
	}
	return codes
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// budgetData lays a month's budget out for the page: income categories at the top, spending
// ones below, by group; each category in every currency it has an amount or rows in (in the
// main currency when neither), the rows without a category last; totals per group and currency.
func (v *reportView) budgetData(rep *ledger.BudgetReport, thisMonth string, st budgetState) views.BudgetData {
	month := rep.From
	prev, next := ledger.AddMonths(month, -1), ledger.AddMonths(month, 1)
	codes := v.currencyCodes()
	d := views.BudgetData{Month: month, MonthLabel: longMonthLabel(month), Notice: st.notice,
		MultiCurrency: len(codes) > 1, NoAccounts: len(codes) == 0}
	d.Prev = views.MonthLink{URL: budgetURL(prev), Label: longMonthLabel(prev)}
	d.Next = views.MonthLink{URL: budgetURL(next), Label: longMonthLabel(next)}
	if month != thisMonth {
		d.ThisMonth = budgetURL(thisMonth)
	}
	for _, code := range codes {
		d.Choices.Currencies = append(d.Choices.Currencies, views.Option{Value: code, Label: code})
	}
	if d.NoAccounts {
		return d
	}
	lines := map[uint][]ledger.BudgetLine{}
	for _, l := range rep.Lines {
		lines[l.CategoryID] = append(lines[l.CategoryID], l)
	}
	var order []string // row ids in page order, for the focus after a save
	add := func(groups []views.BudgetGroup, groupName string, row views.BudgetRow) []views.BudgetGroup {
		if n := len(groups); n == 0 || groups[n-1].Name != groupName {
			groups = append(groups, views.BudgetGroup{Name: groupName})
		}
		g := &groups[len(groups)-1]
		g.Rows = append(g.Rows, row)
		order = append(order, row.ID)
		return groups
	}
	for _, cat := range v.categories {
		ls := lines[cat.ID]
		if len(ls) == 0 && cat.Hidden {
			continue
		}
		if !cat.Hidden {
			d.Choices.Categories = append(d.Choices.Categories, views.Option{Value: idString(cat.ID), Label: cat.Group + ": " + cat.Name})
		}
		if len(ls) == 0 {
			ls = []ledger.BudgetLine{{CategoryID: cat.ID, Currency: codes[0]}}
		}
		for _, l := range ls {
			row := v.budgetRow(l, cat.Name, cat.IsIncome, month)
			if cat.IsIncome {
				d.Income = add(d.Income, cat.Group, row)
			} else {
				d.Spending = add(d.Spending, cat.Group, row)
			}
		}
	}
	for _, l := range lines[0] {
		d.Spending = add(d.Spending, "No category", v.budgetRow(l, "No category", false, month))
	}
	v.applyState(&d, order, st)
	d.Income = v.groupTotals(d.Income, lines)
	d.Spending = v.groupTotals(d.Spending, lines)
	d.Summary = v.budgetSummary(rep, codes)
	return d
}

// budgetRow is one category's line in one currency.
func (v *reportView) budgetRow(l ledger.BudgetLine, name string, income bool, month string) views.BudgetRow {
	code := l.Currency
	got := l.Spent()
	if income {
		got = l.Activity
	}
	left := l.Budgeted - got
	r := views.BudgetRow{ID: budgetRowID(l.CategoryID, code), CategoryID: l.CategoryID, Name: name, Currency: code,
		Income: income, Budgeted: v.m.Amount(l.Budgeted, code), HasBudget: l.HasBudget, Spent: v.m.Amount(got, code),
		Left: v.m.Amount(left, code)}
	if l.Activity != 0 {
		r.TxURL = v.txLink(l.CategoryID, month, month, code)
	}
	if l.HasBudget {
		r.Input = v.m.Input(l.Budgeted, code)
	}
	abs := v.m.Amount(max(left, -left), code).Text
	switch {
	case !l.HasBudget && got == 0:
	case !l.HasBudget && income:
		r.Status = "Not expected"
	case !l.HasBudget:
		r.Status = "No budget"
	case income && left > 0:
		r.Status = abs + " to come"
	case income && left < 0:
		r.Status = abs + " more than expected"
	case income:
		r.Status = "All received"
	case left < 0:
		r.Over, r.Status = true, "Overspent by "+abs
	default:
		r.Status = abs + " left"
	}
	return r
}

// applyState puts a refused form's value and error on its row (or on the form for another
// currency), and the focus on the row after the one just saved.
func (v *reportView) applyState(d *views.BudgetData, order []string, st budgetState) {
	focus := ""
	if i := slices.Index(order, st.focus); i >= 0 {
		focus = order[min(i+1, len(order)-1)]
	}
	var errorRow string
	if f := st.form; f != nil {
		id, _ := formID(f.CategoryID)
		errorRow = budgetRowID(id, f.Currency)
		if f.Other || !slices.Contains(order, errorRow) {
			d.Other, errorRow = *f, ""
			d.MultiCurrency = d.MultiCurrency || !f.Valid()
		}
	}
	for _, groups := range [][]views.BudgetGroup{d.Income, d.Spending} {
		for gi := range groups {
			for ri := range groups[gi].Rows {
				r := &groups[gi].Rows[ri]
				r.Focus = r.ID == focus
				if r.ID == errorRow {
					r.Input = st.form.Amount
					r.Error = firstError(st.form.Form)
				}
			}
		}
	}
}

// firstError is one message of a form: a row has room for one.
func firstError(f views.Form) string {
	for _, field := range []string{"amount", "currency", "category_id", "month"} {
		if msg := f.Err(field); msg != "" {
			return msg
		}
	}
	return f.NonFieldError
}

// groupTotals adds each group's totals per currency, from the book's lines (a row's words are
// for people; sums come from the numbers).
func (v *reportView) groupTotals(groups []views.BudgetGroup, lines map[uint][]ledger.BudgetLine) []views.BudgetGroup {
	for gi := range groups {
		g := &groups[gi]
		type sums struct {
			budgeted, got int64
			set           bool
		}
		byCode := map[string]*sums{}
		var codes []string
		for _, r := range g.Rows {
			for _, l := range lines[r.CategoryID] {
				if l.Currency != r.Currency {
					continue
				}
				s := byCode[l.Currency]
				if s == nil {
					s = &sums{}
					byCode[l.Currency] = s
					codes = append(codes, l.Currency)
				}
				s.budgeted += l.Budgeted
				s.set = s.set || l.HasBudget
				if r.Income {
					s.got += l.Activity
				} else {
					s.got += l.Spent()
				}
			}
		}
		slices.Sort(codes)
		for _, code := range codes {
			s := byCode[code]
			left := s.budgeted - s.got
			g.Totals = append(g.Totals, views.BudgetTotal{Currency: code, Budgeted: v.m.Amount(s.budgeted, code),
				Spent: v.m.Amount(s.got, code), Left: v.m.Amount(left, code), NoBudget: !s.set,
				Over: left < 0 && s.set && !g.Rows[0].Income})
		}
	}
	return groups
}

// budgetSummary is each currency's month: income received against expected, spending against
// budgeted (the rows without a category count as spending).
func (v *reportView) budgetSummary(rep *ledger.BudgetReport, codes []string) []views.BudgetSummary {
	type sums struct {
		expected, received, budgeted, spent int64
		income, expecting, budgeting, used  bool
	}
	byCode := map[string]*sums{}
	for _, code := range codes {
		byCode[code] = &sums{}
	}
	for _, l := range rep.Lines {
		s := byCode[l.Currency]
		if s == nil {
			continue
		}
		s.used = true
		if c := v.categoryBy[l.CategoryID]; c != nil && c.IsIncome {
			s.expected += l.Budgeted
			s.received += l.Activity
			s.income = true
			s.expecting = s.expecting || l.HasBudget
		} else {
			s.budgeted += l.Budgeted
			s.spent += l.Spent()
			s.budgeting = s.budgeting || l.HasBudget
		}
	}
	var out []views.BudgetSummary
	for i, code := range codes {
		s := byCode[code]
		if !s.used && i > 0 {
			continue
		}
		left, toCome := s.budgeted-s.spent, s.expected-s.received
		sum := views.BudgetSummary{Currency: code, HasIncome: s.income, HasExpected: s.expecting, Expected: v.m.Amount(s.expected, code),
			Received: v.m.Amount(s.received, code), Budgeted: v.m.Amount(s.budgeted, code), Spent: v.m.Amount(s.spent, code),
			Left: v.m.Amount(left, code), Over: left < 0 && s.budgeting}
		abs := func(n int64) string { return v.m.Amount(max(n, -n), code).Text + " " + code }
		switch {
		case !s.budgeting:
			sum.LeftText = "Nothing budgeted yet: set amounts below."
		case sum.Over:
			sum.LeftText = "Overspent by " + abs(left)
		default:
			sum.LeftText = abs(left) + " left"
		}
		switch {
		case !s.expecting:
			sum.IncomeText = "Set the income you expect below."
		case toCome > 0:
			sum.IncomeText = abs(toCome) + " to come"
		case toCome < 0:
			sum.IncomeText = abs(toCome) + " more than expected"
		default:
			sum.IncomeText = "all received"
		}
		out = append(out, sum)
	}
	slices.SortFunc(out, func(a, b views.BudgetSummary) int { return strings.Compare(a.Currency, b.Currency) })
	return out
}

// budgetProgress is a month's spending against its budget per currency, for the dashboard: the
// currencies the month budgets spending in, with the categories over their amount.
func budgetProgress(m moneyFmt, rep *ledger.BudgetReport, isIncome func(uint) bool, name func(uint) string) []views.BudgetProgress {
	type sums struct {
		budgeted, spent int64
		budgeting       bool
		over            []string
	}
	byCode := map[string]*sums{}
	var codes []string
	for _, l := range rep.Lines {
		if isIncome(l.CategoryID) {
			continue
		}
		s := byCode[l.Currency]
		if s == nil {
			s = &sums{}
			byCode[l.Currency] = s
			codes = append(codes, l.Currency)
		}
		s.budgeted += l.Budgeted
		s.spent += l.Spent()
		s.budgeting = s.budgeting || l.HasBudget
		if l.HasBudget && l.Spent() > l.Budgeted {
			s.over = append(s.over, name(l.CategoryID)+" by "+m.Amount(l.Spent()-l.Budgeted, l.Currency).Text)
		}
	}
	slices.Sort(codes)
	var out []views.BudgetProgress
	for _, code := range codes {
		s := byCode[code]
		if !s.budgeting {
			continue
		}
		left := s.budgeted - s.spent
		p := views.BudgetProgress{Currency: code, Spent: m.Amount(s.spent, code), Budgeted: m.Amount(s.budgeted, code),
			Value: strconv.FormatInt(min(max(s.spent, 0), s.budgeted), 10), Max: strconv.FormatInt(max(s.budgeted, 1), 10),
			Over: left < 0, Overspent: s.over}
		if p.Over {
			p.Status = "Overspent by " + m.Amount(-left, code).Text + " " + code
		} else {
			p.Status = m.Amount(left, code).Text + " " + code + " left"
		}
		out = append(out, p)
	}
	return out
}
