package ledger

import (
	"database/sql"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The read queries of the register, the transaction list and the dashboard are built here and
// only here, by functions the plan tests call, so the tests EXPLAIN the very SQL the pages run.
// Each names its index (INDEXED BY): the plan is the same on an empty database and on one with
// statistics, and never a full scan or a sort.

// Row is a transaction as lists show it.
type Row struct {
	Transaction
	// TransferAccountID and TransferAmount describe the other leg of a transfer.
	TransferAccountID *uint  `json:"transfer_account_id"`
	TransferAmount    *int64 `json:"transfer_amount,omitempty"`
	// Balance is the account's balance after this row; only Register fills it.
	Balance int64 `json:"balance"`
	// Splits are the parts of a split, in the order they were entered.
	Splits []Split `json:"splits"`

	key uint // the keyset's id: the row's own, or (filtered by category) the matching part's
}

// Split is one part of a split transaction.
type Split struct {
	ID         uint   `json:"id"`
	CategoryID uint   `json:"category_id"`
	Amount     int64  `json:"amount"`
	Memo       string `json:"memo"`
}

// Page is one page of rows, newest first. Next is the cursor of the following page, "" at the
// end.
type Page struct {
	Rows []Row
	Next string
}

// Filter narrows the transaction list; zero fields do not filter. With a category, a split
// shows when one of its parts is in that category, and the other filters (text, amounts)
// apply to that part. Amounts are signed minor units (negative = money out).
type Filter struct {
	AccountID, CategoryID uint
	From, To              string // YYYY-MM-DD, inclusive
	Text                  string // in the payee or the memo, ignoring case
	MinAmount, MaxAmount  *int64
}

// Page sizes.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

func clampLimit(limit int) int {
	if limit <= 0 {
		return DefaultLimit
	}
	return min(limit, MaxLimit)
}

// cursor is a position in the keyset: the (date, id) of the last row of a page.
type cursor struct {
	date string
	id   uint
}

func (c cursor) String() string { return c.date + "." + strconv.FormatUint(uint64(c.id), 10) }

func parseCursor(s string) (*cursor, error) {
	if s == "" {
		return nil, nil
	}
	date, id, ok := strings.Cut(s, ".")
	n, err := strconv.ParseUint(id, 10, 32)
	if _, valid := ParseDate(date); !ok || err != nil || n == 0 || !valid {
		return nil, ErrBadCursor
	}
	return &cursor{date, uint(n)}, nil
}

// rowColumns are the columns of a Row, from t (the row) and o (the other leg of a transfer).
const rowColumns = `t.id, t.account_id, t.date, t.payee, t.memo, t.amount, t.category_id, t.transfer_id, t.parent_id,
	t.is_split, t.is_opening, t.import_id, t.external_id, t.created_at, t.updated_at,
	o.account_id, o.amount,
	CASE WHEN t.is_split THEN (SELECT json_group_array(json_object('id', c.id, 'category_id', c.category_id,
		'amount', c.amount, 'memo', c.memo)) FROM transactions c WHERE c.user_id = t.user_id AND c.parent_id = t.id) END`

const transferJoin = ` LEFT JOIN transactions o ON o.user_id = t.user_id AND o.id = t.transfer_id`

// query is SQL with its arguments.
type query struct {
	sql  string
	args []any
}

// registerQuery is a page of an account's register. Its first column is the balance after
// the page's first row: the account's balance on the first page; further on, the sum of every
// row older than the cursor, read from the month totals of earlier months and the rows of the
// cursor's own month, so a page costs the same at any depth.
func (b *Book) registerQuery(accountID uint, c *cursor, limit int) query {
	var q query
	if c == nil {
		q.sql = `SELECT (SELECT COALESCE(SUM(total), 0) FROM account_months WHERE user_id = ? AND account_id = ?)`
		q.args = []any{b.userID, accountID}
	} else {
		month := c.date[:7]
		q.sql = `SELECT (SELECT COALESCE(SUM(total), 0) FROM account_months WHERE user_id = ? AND account_id = ? AND month < ?)
			+ (SELECT COALESCE(SUM(amount), 0) FROM transactions INDEXED BY transactions_register
				WHERE user_id = ? AND account_id = ? AND date >= ? AND (date, id) < (?, ?) AND parent_id IS NULL)`
		q.args = []any{b.userID, accountID, month, b.userID, accountID, month + "-01", c.date, c.id}
	}
	q.sql += `, t.id, ` + rowColumns + ` FROM transactions t INDEXED BY transactions_register` + transferJoin +
		` WHERE t.user_id = ? AND t.account_id = ? AND t.parent_id IS NULL`
	q.args = append(q.args, b.userID, accountID)
	if c != nil {
		q.sql += ` AND (t.date, t.id) < (?, ?)`
		q.args = append(q.args, c.date, c.id)
	}
	q.sql += ` ORDER BY t.date DESC, t.id DESC LIMIT ?`
	q.args = append(q.args, limit+1)
	return q
}

// Register is a page of an account's rows, newest first, each with the balance after it. Split
// parts come inside their row. cursor is "" for the first page, then the previous page's Next.
func (b *Book) Register(accountID uint, cursor string, limit int) (*Page, error) {
	c, err := parseCursor(cursor)
	if err != nil {
		return nil, err
	}
	if err := b.first("accounts", accountID, &Account{}); err != nil {
		return nil, wrap("register", err)
	}
	limit = clampLimit(limit)
	page, start, err := b.page(b.registerQuery(accountID, c, limit), limit, true)
	if err != nil {
		return nil, wrap("register", err)
	}
	balance := start
	for i := range page.Rows {
		page.Rows[i].Balance = balance
		balance -= page.Rows[i].Amount
	}
	return page, nil
}

// listQuery is a page of the filtered list of all transactions. byText starts from the rows
// whose payee or memo contains f.Text (the trigram index) and sorts them: for a text that few
// rows contain, where walking the history by date would read all of it to fill a page.
func (b *Book) listQuery(f Filter, c *cursor, limit int, byText bool) query {
	var q query
	m := "t" // the row the filters and the keyset apply to
	switch {
	case byText && f.CategoryID == 0:
		// Only the ids are sorted; the page's rows are read after.
		q.sql = `SELECT t.id FROM transactions t NOT INDEXED
			WHERE t.id IN (SELECT rowid FROM transactions_text WHERE transactions_text MATCH ?)
				AND t.user_id = ? AND t.parent_id IS NULL`
		q.args = []any{textMatch(f.Text), b.userID}
	case f.CategoryID != 0:
		// m is a row in the category, a split's part or a plain row; t is what the list shows,
		// the part's parent or the row itself. A split with several parts in the category shows
		// once: for its last matching part.
		m = "m"
		q.sql = `SELECT m.id, ` + rowColumns + ` FROM transactions m INDEXED BY transactions_category
			JOIN transactions t ON t.user_id = m.user_id AND t.id = COALESCE(m.parent_id, m.id)` + transferJoin + `
			WHERE m.user_id = ? AND m.category_id = ? AND (m.parent_id IS NULL OR NOT EXISTS (SELECT 1 FROM transactions s
				WHERE s.user_id = m.user_id AND s.parent_id = m.parent_id AND s.category_id = m.category_id AND s.id > m.id))`
		q.args = []any{b.userID, f.CategoryID}
	default:
		index := "transactions_date"
		if f.AccountID != 0 {
			index = "transactions_register"
		}
		q.sql = `SELECT t.id, ` + rowColumns + ` FROM transactions t INDEXED BY ` + index + transferJoin + `
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
	if f.From != "" {
		and("$.date >= ?", f.From)
	}
	if f.To != "" {
		and("$.date <= ?", f.To)
	}
	if f.Text != "" {
		like := "%" + escapeLike(f.Text) + "%"
		if m == "t" {
			and(`($.payee LIKE ? ESCAPE '\' OR $.memo LIKE ? ESCAPE '\')`, like, like)
		} else {
			and(`($.payee LIKE ? ESCAPE '\' OR $.memo LIKE ? ESCAPE '\' OR t.memo LIKE ? ESCAPE '\')`, like, like, like)
		}
	}
	if f.MinAmount != nil {
		and("$.amount >= ?", *f.MinAmount)
	}
	if f.MaxAmount != nil {
		and("$.amount <= ?", *f.MaxAmount)
	}
	if c != nil {
		and("($.date, $.id) < (?, ?)", c.date, c.id)
	}
	q.sql += " ORDER BY " + m + ".date DESC, " + m + ".id DESC LIMIT ?"
	q.args = append(q.args, limit+1)
	if byText && f.CategoryID == 0 {
		q.sql = `SELECT t.id, ` + rowColumns + ` FROM transactions t NOT INDEXED` + transferJoin + `
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
	if f.CategoryID != 0 || utf8.RuneCountInString(f.Text) < 3 {
		return false, nil
	}
	var n int
	err := b.db.Raw(`SELECT COUNT(*) FROM (SELECT rowid FROM transactions_text WHERE transactions_text MATCH ? LIMIT ?)`,
		textMatch(f.Text), textCandidates+1).Scan(&n).Error
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

// recentQuery is the dashboard's latest rows across accounts.
func (b *Book) recentQuery(limit int) query {
	q := b.listQuery(Filter{}, nil, limit, false)
	q.args[len(q.args)-1] = limit
	return q
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

// Transaction returns one transaction (not a split's part: the part is inside its parent).
func (b *Book) Transaction(id uint) (*Row, error) {
	if id == 0 {
		return nil, ErrNotFound
	}
	q := query{`SELECT t.id, ` + rowColumns + ` FROM transactions t` + transferJoin +
		` WHERE t.user_id = ? AND t.id = ? AND t.parent_id IS NULL`, []any{b.userID, id}}
	page, _, err := b.page(q, 1, false)
	if err != nil {
		return nil, wrap("transaction", err)
	}
	if len(page.Rows) == 0 {
		return nil, ErrNotFound
	}
	return &page.Rows[0], nil
}

// page runs q, which selects limit+1 rows (the extra one tells whether there is a next page),
// with a leading start balance column when withStart.
func (b *Book) page(q query, limit int, withStart bool) (*Page, int64, error) {
	rows, err := b.db.Raw(q.sql, q.args...).Rows()
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	page := &Page{Rows: make([]Row, 0, limit)}
	var start int64
	for rows.Next() {
		var r Row
		var splits sql.NullString
		dest := []any{&r.key, &r.ID, &r.AccountID, &r.Date, &r.Payee, &r.Memo, &r.Amount, &r.CategoryID,
			&r.TransferID, &r.ParentID, &r.IsSplit, &r.IsOpening, &r.ImportID, &r.ExternalID, &r.CreatedAt,
			&r.UpdatedAt, &r.TransferAccountID, &r.TransferAmount, &splits}
		if withStart {
			dest = append([]any{&start}, dest...)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, 0, err
		}
		r.UserID = b.userID
		if splits.Valid {
			if err := json.Unmarshal([]byte(splits.String), &r.Splits); err != nil {
				return nil, 0, err
			}
			sort.Slice(r.Splits, func(i, j int) bool { return r.Splits[i].ID < r.Splits[j].ID })
		}
		page.Rows = append(page.Rows, r)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	if len(page.Rows) > limit {
		page.Rows = page.Rows[:limit]
		last := page.Rows[limit-1]
		page.Next = cursor{last.Date, last.key}.String()
	}
	return page, start, nil
}

// payeesQuery suggests payees starting with prefix, the most used first, from the payees table
// the triggers keep (a GROUP BY over the rows took 18 ms at 50,000 rows for a short prefix).
func (b *Book) payeesQuery(prefix string, limit int) query {
	return query{`SELECT name FROM payees WHERE user_id = ? AND name LIKE ? ESCAPE '\' AND uses > 0
		ORDER BY uses DESC, last_date DESC LIMIT ?`, []any{b.userID, escapeLike(prefix) + "%", limit}}
}

// Payees suggests payees from the user's history that start with prefix (ignoring case), the
// most used first.
func (b *Book) Payees(prefix string, limit int) ([]string, error) {
	if limit <= 0 || limit > 50 {
		limit = 10
	}
	q := b.payeesQuery(strings.TrimSpace(prefix), limit)
	var payees []string
	err := b.db.Raw(q.sql, q.args...).Scan(&payees).Error
	return payees, wrap("payees", err)
}

// CategoryForPayee is the category last used with payee (ignoring case), or 0.
func (b *Book) CategoryForPayee(payee string) (uint, error) {
	payee = strings.TrimSpace(payee)
	if payee == "" {
		return 0, nil
	}
	var ids []uint
	err := b.db.Raw(`SELECT category_id FROM transactions INDEXED BY transactions_payee
		WHERE user_id = ? AND payee = ? COLLATE NOCASE AND category_id IS NOT NULL
		ORDER BY date DESC, id DESC LIMIT 1`, b.userID, payee).Scan(&ids).Error
	if err != nil || len(ids) == 0 {
		return 0, wrap("category for payee", err)
	}
	return ids[0], nil
}
