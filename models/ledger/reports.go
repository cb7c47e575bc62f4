package ledger

import (
	"sort"
	"time"

	"tally/money"
)

// Reports count the rows of ReportRows that are neither a transfer between the user's accounts
// nor an opening balance: what was earned and spent. Amounts are never added across currencies:
// every total is per currency, the currency of the row's account.

// reportFlow is the condition (on a transactions row aliased t) of the rows reports and budgets
// count.
const reportFlow = ReportRows + " AND t.transfer_id IS NULL AND NOT t.is_opening"

// MaxReportMonths bounds a report's range (50 years), so one request's work is bounded.
const MaxReportMonths = 600

// ParseMonth checks a calendar month written YYYY-MM.
func ParseMonth(s string) (time.Time, bool) {
	m, err := time.Parse("2006-01", s)
	return m, err == nil && m.Year() >= 1000 && m.Format("2006-01") == s
}

// AddMonths is month (YYYY-MM, valid) moved by n months.
func AddMonths(month string, n int) string {
	m, _ := time.Parse("2006-01", month)
	return m.AddDate(0, n, 0).Format("2006-01")
}

// MonthStart and MonthEnd are the first and last days of month (YYYY-MM), as YYYY-MM-DD.
func MonthStart(month string) string { return month + "-01" }

func MonthEnd(month string) string {
	m, _ := time.Parse("2006-01", month)
	return m.AddDate(0, 1, -1).Format(time.DateOnly)
}

// Months lists the months from from to to, inclusive (both YYYY-MM; none when to is before
// from).
func Months(from, to string) []string {
	var out []string
	for m := from; m <= to && len(out) < MaxReportMonths; m = AddMonths(m, 1) {
		out = append(out, m)
	}
	return out
}

// CheckRange validates a range of months (YYYY-MM, inclusive): a ValidationError names the field
// (from or to) to correct.
func CheckRange(from, to string) error {
	var p problems
	f, okFrom := ParseMonth(from)
	t, okTo := ParseMonth(to)
	if !okFrom {
		p.add("from", "Enter a month like 2024-03.")
	}
	if !okTo {
		p.add("to", "Enter a month like 2024-03.")
	}
	if okFrom && okTo {
		switch n := (t.Year()-f.Year())*12 + int(t.Month()-f.Month()) + 1; {
		case n < 1:
			p.add("to", "The end of the range comes before its start.")
		case n > MaxReportMonths:
			p.add("from", "Choose a range of at most 50 years.")
		}
	}
	return p.err()
}

// CategorySeries is one category's report rows in one currency, summed month by month: Totals
// has one signed sum (minor units; negative = money out) per month of the report's range.
type CategorySeries struct {
	CategoryID uint // 0 for the rows without a category
	Currency   string
	Totals     []int64
}

// CategoryReport holds the report rows of a range of months, per category, currency and month:
// what the spending, cash-flow and budget reports are drawn from.
type CategoryReport struct {
	From, To string   // YYYY-MM, inclusive
	Months   []string // From to To
	// Series come in the user's category order (groups, then categories), the rows without a
	// category last, each category's currencies in code order. Only series with rows appear.
	Series []CategorySeries
}

// categoryMonthsQuery reads the totals of report rows of from to to (YYYY-MM) per month,
// account and category from category_months, optionally of one account.
func (b *Book) categoryMonthsQuery(from, to string, accountID uint) query {
	where := b.categoryMonthsWhere(from, to, accountID)
	return query{`SELECT month, category_id, account_id, total FROM category_months` + where.sql, where.args}
}

// categoryMonthsWhere is the WHERE clause of categoryMonthsQuery.
func (b *Book) categoryMonthsWhere(from, to string, accountID uint) query {
	q := query{` WHERE user_id = ? AND month >= ? AND month <= ? AND total <> 0`, []any{b.userID, from, to}}
	if accountID != 0 {
		q.sql += ` AND account_id = ?`
		q.args = append(q.args, accountID)
	}
	return q
}

// categoryMonth is one row of categoryMonthsQuery.
type categoryMonth struct {
	Month      string
	CategoryID uint
	AccountID  uint
	Total      int64
}

// categoryMonths runs categoryMonthsQuery.
func (b *Book) categoryMonths(from, to string, accountID uint) ([]categoryMonth, error) {
	q := b.categoryMonthsQuery(from, to, accountID)
	var cells []categoryMonth
	err := b.scan(q, func(scan func(...any) error) error {
		var c categoryMonth
		err := scan(&c.Month, &c.CategoryID, &c.AccountID, &c.Total)
		cells = append(cells, c)
		return err
	})
	return cells, err
}

// scan runs q and calls row for each of its rows, with the row's Scan: the reports' rows are
// few columns of plain types, and GORM's reflective Scan took a third of a report view's CPU
// (docs/performance.md).
func (b *Book) scan(q query, row func(scan func(...any) error) error) error {
	rows, err := b.db.Raw(q.sql, q.args...).Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// CategoryReport sums the report rows from from to to (YYYY-MM, inclusive) per category,
// currency and month; accountID, when not 0, narrows it to one account.
func (b *Book) CategoryReport(from, to string, accountID uint) (*CategoryReport, error) {
	if err := CheckRange(from, to); err != nil {
		return nil, err
	}
	accounts, err := b.currencies(accountID)
	if err != nil {
		return nil, wrap("category report", err)
	}
	cells, err := b.categoryMonths(from, to, accountID)
	if err != nil {
		return nil, wrap("category report", err)
	}
	order, err := b.categoryOrder()
	if err != nil {
		return nil, wrap("category report", err)
	}
	r := &CategoryReport{From: from, To: to, Months: Months(from, to)}
	index := make(map[string]int, len(r.Months))
	for i, m := range r.Months {
		index[m] = i
	}
	type key struct {
		category uint
		currency string
	}
	series := map[key]*CategorySeries{}
	for _, c := range cells {
		k := key{c.CategoryID, accounts[c.AccountID]}
		s := series[k]
		if s == nil {
			s = &CategorySeries{CategoryID: k.category, Currency: k.currency, Totals: make([]int64, len(r.Months))}
			series[k] = s
		}
		s.Totals[index[c.Month]] += c.Total
	}
	for _, s := range series {
		r.Series = append(r.Series, *s)
	}
	sort.Slice(r.Series, func(i, j int) bool {
		a, b := r.Series[i], r.Series[j]
		if oa, ob := order.of(a.CategoryID), order.of(b.CategoryID); oa != ob {
			return oa < ob
		}
		return a.Currency < b.Currency
	})
	return r, nil
}

// known is what a book was told of the user's accounts and categories (see Knowing).
type known struct {
	currencies map[uint]string
	order      categoryRank
}

// Knowing is b with the user's accounts (all of them, closed ones too) and categories (all,
// in any order) as the caller has read them: the reports and the budget then take the
// accounts' currencies and the categories' order from these instead of reading them again. A
// page that holds them, read after the ledger version it shows, gives them here and its report
// costs one statement; on Postgres every statement is a round trip to another process. Entries
// of another user are left out, so their ids stay ErrNotFound.
func (b *Book) Knowing(accounts []Account, categories []Category) *Book {
	k := &known{currencies: make(map[uint]string, len(accounts))}
	for _, a := range accounts {
		if a.UserID == b.userID {
			k.currencies[a.ID] = a.Currency
		}
	}
	cs := make([]Category, 0, len(categories))
	for _, c := range categories {
		if c.UserID == b.userID {
			cs = append(cs, c)
		}
	}
	SortCategories(cs)
	k.order = make(categoryRank, len(cs))
	for i, c := range cs {
		k.order[c.ID] = i
	}
	kb := *b
	kb.known = k
	return &kb
}

// currencies maps the user's account ids to their currencies; with accountID, that account
// must be the user's.
func (b *Book) currencies(accountID uint) (map[uint]string, error) {
	out := map[uint]string{}
	if b.known != nil {
		out = b.known.currencies
	} else {
		var as []Account
		if err := b.scoped("accounts").Select("id, currency").Find(&as).Error; err != nil {
			return nil, err
		}
		for _, a := range as {
			out[a.ID] = a.Currency
		}
	}
	if _, ok := out[accountID]; accountID != 0 && !ok {
		return nil, ErrNotFound
	}
	return out, nil
}

// categoryRank orders category ids as the user ordered their categories; 0 (no category) and
// unknown ids come last.
type categoryRank map[uint]int

func (r categoryRank) of(id uint) int {
	if n, ok := r[id]; ok {
		return n
	}
	return len(r) + int(min(id, 1<<20))
}

func (b *Book) categoryOrder() (categoryRank, error) {
	if b.known != nil {
		return b.known.order, nil
	}
	var ids []uint
	err := b.db.Raw(`SELECT c.id FROM categories c JOIN category_groups g ON g.user_id = c.user_id AND g.id = c.group_id
		WHERE c.user_id = ? ORDER BY g.position, g.id, c.position, c.id`, b.userID).Scan(&ids).Error
	r := make(categoryRank, len(ids))
	for i, id := range ids {
		r[id] = i
	}
	return r, err
}

// Spending is the series of the categories that are not income (and of the rows without a
// category), with their totals turned into spending: what went out, net of refunds, so money
// out counts positive.
func (r *CategoryReport) Spending(categories []Category) []CategorySeries {
	income := incomeCategories(categories)
	var out []CategorySeries
	for _, s := range r.Series {
		if income[s.CategoryID] {
			continue
		}
		spent := CategorySeries{CategoryID: s.CategoryID, Currency: s.Currency, Totals: make([]int64, len(s.Totals))}
		for i, v := range s.Totals {
			spent.Totals[i] = -v
		}
		out = append(out, spent)
	}
	return out
}

func incomeCategories(categories []Category) map[uint]bool {
	income := make(map[uint]bool, len(categories))
	for _, c := range categories {
		if c.IsIncome {
			income[c.ID] = true
		}
	}
	return income
}

// CashFlow is one currency's money in and out, month by month: Income is what the income
// categories received, Expense what every other category (and the rows without one) spent,
// net of refunds. Net is Income - Expense: the sum of every report row.
type CashFlow struct {
	Currency             string
	Income, Expense, Net []int64
}

// CashFlow sums the report per currency into income and expense, in currency code order.
func (r *CategoryReport) CashFlow(categories []Category) []CashFlow {
	income := incomeCategories(categories)
	byCode := map[string]*CashFlow{}
	var out []*CashFlow
	for _, s := range r.Series {
		cf := byCode[s.Currency]
		if cf == nil {
			n := len(r.Months)
			cf = &CashFlow{Currency: s.Currency, Income: make([]int64, n), Expense: make([]int64, n), Net: make([]int64, n)}
			byCode[s.Currency] = cf
			out = append(out, cf)
		}
		for i, v := range s.Totals {
			if income[s.CategoryID] {
				cf.Income[i] += v
			} else {
				cf.Expense[i] -= v
			}
			cf.Net[i] += v
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Currency < out[j].Currency })
	flows := make([]CashFlow, len(out))
	for i, cf := range out {
		flows[i] = *cf
	}
	return flows
}

// BalanceSeries is one currency's net worth at the end of each month of a range: the sum of its
// accounts' balances (closed accounts too).
type BalanceSeries struct {
	Currency string
	Balances []int64
}

// NetWorthReport is the net worth over a range of months, one series per currency.
type NetWorthReport struct {
	From, To string
	Months   []string
	Series   []BalanceSeries // currency code order
}

// netWorthQuery reads the month totals of the user's accounts (or one account) up to month to.
func (b *Book) netWorthQuery(to string, accountID uint) query {
	q := query{`SELECT account_id, month, total FROM account_months WHERE user_id = ? AND month <= ?`, []any{b.userID, to}}
	if accountID != 0 {
		q.sql += ` AND account_id = ?`
		q.args = append(q.args, accountID)
	}
	return q
}

// NetWorthReport is the user's net worth at the end of each month from from to to (YYYY-MM,
// inclusive), per currency, from the month totals the triggers keep; accountID, when not 0, is
// that account's balance alone. A currency shows once one of its accounts has a row by to.
func (b *Book) NetWorthReport(from, to string, accountID uint) (*NetWorthReport, error) {
	if err := CheckRange(from, to); err != nil {
		return nil, err
	}
	accounts, err := b.currencies(accountID)
	if err != nil {
		return nil, wrap("net worth report", err)
	}
	type monthTotal struct {
		AccountID uint
		Month     string
		Total     int64
	}
	var totals []monthTotal
	err = b.scan(b.netWorthQuery(to, accountID), func(scan func(...any) error) error {
		var t monthTotal
		err := scan(&t.AccountID, &t.Month, &t.Total)
		totals = append(totals, t)
		return err
	})
	if err != nil {
		return nil, wrap("net worth report", err)
	}
	r := &NetWorthReport{From: from, To: to, Months: Months(from, to)}
	index := make(map[string]int, len(r.Months))
	for i, m := range r.Months {
		index[m] = i
	}
	// Each currency's changes per month of the range; what came before from is the start.
	type sums struct {
		start  int64
		change []int64
	}
	byCode := map[string]*sums{}
	for _, t := range totals {
		code := accounts[t.AccountID]
		s := byCode[code]
		if s == nil {
			s = &sums{change: make([]int64, len(r.Months))}
			byCode[code] = s
		}
		if i, ok := index[t.Month]; ok {
			s.change[i] += t.Total
		} else {
			s.start += t.Total
		}
	}
	for code, s := range byCode {
		series := BalanceSeries{Currency: code, Balances: make([]int64, len(r.Months))}
		balance := s.start
		for i, c := range s.change {
			balance += c
			series.Balances[i] = balance
		}
		r.Series = append(r.Series, series)
	}
	sort.Slice(r.Series, func(i, j int) bool { return r.Series[i].Currency < r.Series[j].Currency })
	return r, nil
}

// firstMonthQuery is the month of the user's (or one account's) earliest balance row.
func (b *Book) firstMonthQuery(accountID uint) query {
	q := query{`SELECT COALESCE(MIN(month), '') FROM account_months WHERE user_id = ?`, []any{b.userID}}
	if accountID != 0 {
		q.sql += ` AND account_id = ?`
		q.args = append(q.args, accountID)
	}
	return q
}

// FirstMonth is the month (YYYY-MM) of the user's earliest transaction, or of one account's
// when accountID is not 0; "" when there is none. It starts a report of "all" months.
func (b *Book) FirstMonth(accountID uint) (string, error) {
	if accountID != 0 {
		if err := b.first("accounts", accountID, &Account{}); err != nil {
			return "", wrap("first month", err)
		}
	}
	q := b.firstMonthQuery(accountID)
	var month string
	err := b.db.Raw(q.sql, q.args...).Scan(&month).Error
	return month, wrap("first month", err)
}

// checkCurrency requires a currency the money package knows.
func checkCurrency(code string) (string, error) {
	cur, ok := money.Lookup(code)
	if !ok {
		return "", invalid("currency", "Choose a currency.")
	}
	return cur.Code, nil
}
