package ledger

import (
	"slices"
	"strings"
	"unicode/utf8"

	"tally/models"
	"tally/money"
)

// Filter narrows the transaction list; zero fields do not filter. With a category, no category
// or a flow, a split shows when one of its parts matches, and the amounts (with a category or
// no category, the text too) apply to that part. Amounts are signed minor units (negative =
// money out). Uncategorized and Flow name the rows the reports count (see reportFlow), so a
// report's mark links to exactly its rows.
type Filter struct {
	AccountID, CategoryID uint
	// Uncategorized is the report rows without a category: no transfer, opening balance or
	// split total (which never has one).
	Uncategorized        bool
	Flow                 string // FlowIncome, FlowExpense or FlowNet: the report rows of a cash-flow side
	Currency             string // the rows of the accounts in this currency (ISO code)
	From, To             string // YYYY-MM-DD, inclusive
	Text                 string // in the payee or the memo, ignoring case
	MinAmount, MaxAmount *int64
}

// The flows of Filter: what the cash-flow report counts as income (rows in income
// categories), as expense (every other report row, the ones without a category too), and
// both (its net).
const (
	FlowIncome  = "income"
	FlowExpense = "expense"
	FlowNet     = "net"
)

// byCategory says the list walks the rows of one category (or of none), parts included.
func (f Filter) byCategory() bool { return f.CategoryID != 0 || f.Uncategorized }

// reportRows is the condition, on a row aliased $, that it is a report row of f's flow (with
// no category, when f.Uncategorized, which the category's walk of the list states); "" when f
// names neither.
func reportRows(f Filter) string {
	if !f.Uncategorized && f.Flow == "" {
		return ""
	}
	cond := "NOT $.is_split AND $.transfer_id IS NULL AND NOT $.is_opening"
	income := "COALESCE((SELECT k.is_income FROM categories k WHERE k.user_id = $.user_id AND k.id = $.category_id), FALSE)"
	switch f.Flow {
	case FlowIncome:
		return cond + " AND " + income
	case FlowExpense:
		return cond + " AND NOT " + income
	}
	return cond
}

// listQuery is a page of the filtered list of all transactions. byText starts from the rows
// whose payee or memo contains f.Text (the trigram index) and sorts them: for a text that few
// rows contain, where walking the history by date would read all of it to fill a page.
func (b *Book) listQuery(f Filter, c *cursor, limit int, byText bool) query {
	var q query
	m := "t" // the row the filters and the keyset apply to
	switch {
	case byText && !f.byCategory() && b.pg:
		// The text's ILIKE below reads the trigram index.
		q.sql = `SELECT t.id FROM transactions t WHERE t.user_id = ? AND t.parent_id IS NULL`
		q.args = []any{b.userID}
	case byText && !f.byCategory():
		// Only the ids are sorted; the page's rows are read after.
		q.sql = `SELECT t.id FROM transactions t NOT INDEXED
			WHERE t.id IN (SELECT rowid FROM transactions_text WHERE transactions_text MATCH ?)
				AND t.user_id = ? AND t.parent_id IS NULL`
		q.args = []any{textMatch(f.Text), b.userID}
	case f.byCategory():
		// m is a row in the category (or without one), a split's part or a plain row; t is
		// what the list shows, the part's parent or the row itself. A split with several parts
		// in the category shows once: for its last matching part.
		m = "m"
		category, args := "m.category_id = ?", []any{b.userID, f.CategoryID}
		if f.CategoryID == 0 {
			category, args = "m.category_id IS NULL", []any{b.userID}
		}
		q.sql = `SELECT m.id, ` + b.rowColumns() + ` FROM transactions m` + b.indexedBy("transactions_category") + `
			JOIN transactions t ON t.user_id = m.user_id AND t.id = COALESCE(m.parent_id, m.id)` + transferJoin + `
			WHERE m.user_id = ? AND ` + category + ` AND (m.parent_id IS NULL OR NOT EXISTS (SELECT 1 FROM transactions s
				WHERE s.user_id = m.user_id AND s.parent_id = m.parent_id AND s.category_id IS NOT DISTINCT FROM m.category_id
					AND s.id > m.id))`
		q.args = args
	default:
		index := "transactions_date"
		if f.AccountID != 0 {
			index = "transactions_register"
		}
		q.sql = `SELECT t.id, ` + b.rowColumns() + ` FROM transactions t` + b.indexedBy(index) + transferJoin + `
			WHERE t.user_id = ? AND t.parent_id IS NULL`
		q.args = []any{b.userID}
	}
	and := func(cond string, args ...any) {
		q.sql += " AND " + strings.ReplaceAll(cond, "$", m)
		q.args = append(q.args, args...)
	}
	if f.AccountID != 0 {
		and("$.account_id = ?", f.AccountID)
	}
	if f.Currency != "" {
		// A lookup by id per row, never a join or an IN list: either let the planner leave the
		// walk by date and sort the rows.
		and("(SELECT a.currency FROM accounts a WHERE a.user_id = $.user_id AND a.id = $.account_id) = ?", f.Currency)
	}
	// The amounts apply to the counted row: with a flow, a plain row or one of a split's parts.
	amounts, amountArgs := "", []any(nil)
	if f.MinAmount != nil {
		amounts += " AND $.amount >= ?"
		amountArgs = append(amountArgs, *f.MinAmount)
	}
	if f.MaxAmount != nil {
		amounts += " AND $.amount <= ?"
		amountArgs = append(amountArgs, *f.MaxAmount)
	}
	if flow := reportRows(f); flow != "" && m == "m" {
		and(flow)
	} else if flow != "" {
		// t is what the list shows: a plain row counts itself, a split its parts. OFFSET 0 keeps
		// Postgres from answering the EXISTS from a hash of every user's parts (a full scan of
		// transactions) instead of looking up the few parts of the splits the page meets.
		part := strings.ReplaceAll(flow+amounts, "$", "p")
		and(`CASE WHEN $.is_split THEN EXISTS (SELECT 1 FROM transactions p WHERE p.user_id = $.user_id AND p.parent_id = $.id AND `+
			part+` LIMIT 1 OFFSET 0) ELSE `+flow+amounts+` END`, append(slices.Clone(amountArgs), amountArgs...)...)
		amounts, amountArgs = "", nil
	}
	if f.From != "" {
		and("$.date >= ?", f.From)
	}
	// With a cursor, only the tighter of the two upper bounds is written: both together made
	// SQLite skip-scan the index and sort.
	if f.To != "" && (c == nil || c.date > f.To) {
		and("$.date <= ?", f.To)
		c = nil
	}
	if f.Text != "" {
		like, op := "%"+escapeLike(f.Text)+"%", models.ILike(b.db)
		if m == "t" {
			and(`($.payee `+op+` ? ESCAPE '\' OR $.memo `+op+` ? ESCAPE '\')`, like, like)
		} else {
			and(`($.payee `+op+` ? ESCAPE '\' OR $.memo `+op+` ? ESCAPE '\' OR t.memo `+op+` ? ESCAPE '\')`, like, like, like)
		}
	}
	if amounts != "" {
		and(strings.TrimPrefix(amounts, " AND "), amountArgs...)
	}
	if c != nil {
		and("($.date, $.id) < (?, ?)", c.date, c.id)
	}
	q.sql += " ORDER BY " + m + ".date DESC, " + m + ".id DESC" + limitRows(limit+1)
	if byText && !f.byCategory() {
		q.sql = `SELECT t.id, ` + b.rowColumns() + ` FROM transactions t` + b.notIndexed() + transferJoin + `
			WHERE t.user_id = ? AND t.id IN (` + q.sql + `) ORDER BY t.date DESC, t.id DESC`
		q.args = append([]any{b.userID}, q.args...)
	}
	return q
}

// textMatch is the full-text query for rows containing s: one phrase, which the trigram index
// matches as a substring ignoring case.
func textMatch(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// textCandidates is where a text search stops starting from the matching rows: each costs
// about 2 µs to look up and sort (at 50,000 rows, 1,600 matches took 3 to 5 ms), while with
// more matches a page fills after reading fewer rows by date, as long as they are spread over
// the history.
const textCandidates = 1500

// searchByText decides whether a text filter starts from the matching rows: when the text is
// long enough for the trigram index (3 characters) and at most textCandidates rows (of any user:
// the index is shared) contain it.
func (b *Book) searchByText(f Filter) (bool, error) {
	if f.byCategory() || utf8.RuneCountInString(f.Text) < 3 {
		return false, nil
	}
	q := query{`SELECT COUNT(*) FROM (SELECT rowid FROM transactions_text WHERE transactions_text MATCH ? LIMIT ?)`,
		[]any{textMatch(f.Text), textCandidates + 1}}
	if b.pg {
		like := "%" + escapeLike(f.Text) + "%"
		q = query{`SELECT COUNT(*) FROM (SELECT 1 FROM transactions
			WHERE parent_id IS NULL AND (payee ILIKE ? ESCAPE '\' OR memo ILIKE ? ESCAPE '\') LIMIT ?) x`,
			[]any{like, like, textCandidates + 1}}
	}
	var n int
	err := b.db.Raw(q.sql, q.args...).Scan(&n).Error
	return n <= textCandidates, err
}

// escapeLike makes s match literally in a LIKE pattern with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func (p *problems) checkFilter(f Filter) {
	if f.From != "" {
		p.checkDate("from", f.From)
	}
	if f.To != "" {
		p.checkDate("to", f.To)
	}
	p.checkText("q", f.Text, 200, "")
	if f.Uncategorized && f.CategoryID != 0 {
		p.add("category_id", "Choose a category or no category, not both.")
	}
	switch f.Flow {
	case "", FlowIncome, FlowExpense, FlowNet:
	default:
		p.add("flow", "Choose income, expense or both.")
	}
	if _, ok := money.Lookup(f.Currency); f.Currency != "" && !ok {
		p.add("currency", "Choose a currency from the list.")
	}
}

// Transactions is a page of the user's transactions across accounts, newest first, narrowed by
// f. An account or category of f that is not the user's is ErrNotFound.
func (b *Book) Transactions(f Filter, cursor string, limit int) (*Page, error) {
	c, err := parseCursor(cursor)
	if err != nil {
		return nil, err
	}
	var p problems
	p.checkFilter(f)
	if err := p.err(); err != nil {
		return nil, err
	}
	if cur, ok := money.Lookup(f.Currency); ok {
		f.Currency = cur.Code // accounts hold the code in capitals
	}
	if f.AccountID != 0 {
		if err := b.first("accounts", f.AccountID, &Account{}); err != nil {
			return nil, wrap("transactions", err)
		}
	}
	if f.CategoryID != 0 {
		if err := b.first("categories", f.CategoryID, &Category{}); err != nil {
			return nil, wrap("transactions", err)
		}
	}
	byText, err := b.searchByText(f)
	if err != nil {
		return nil, wrap("transactions", err)
	}
	limit = clampLimit(limit)
	page, _, err := b.page(b.listQuery(f, c, limit, byText), limit, false)
	return page, wrap("transactions", err)
}

// recentQuery is the dashboard's latest rows across accounts: limit of them, without the one
// more that tells a list whether it has a next page.
func (b *Book) recentQuery(limit int) query {
	return b.listQuery(Filter{}, nil, limit-1, false)
}

// Recent is the user's latest transactions across accounts, for the dashboard.
func (b *Book) Recent(limit int) ([]Row, error) {
	limit = clampLimit(limit)
	page, _, err := b.page(b.recentQuery(limit), limit, false)
	if err != nil {
		return nil, wrap("recent", err)
	}
	return page.Rows, nil
}
