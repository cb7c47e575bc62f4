package ledger

import (
	"database/sql"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
)

// The read queries of the register, the transaction list and the dashboard are built only by
// registerQuery, listQuery, recentQuery and accountsQuery, which the plan tests call, so the
// tests EXPLAIN the very SQL the pages run. Each names its index (INDEXED BY): the plan is the
// same on an empty database and on one with statistics, and never a full scan or a sort (but
// for a rare text, whose few matching rows are sorted: see listQuery). Postgres has no INDEXED
// BY (see indexedBy): its plan tests check what its planner picks on a realistic database.

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
func (b *Book) rowColumns() string {
	return `t.id, t.account_id, t.date, t.payee, t.memo, t.amount, t.category_id, t.transfer_id, t.parent_id,
	t.is_split, t.is_opening, t.import_id, t.external_id, t.created_at, t.updated_at,
	o.account_id, o.amount,
	CASE WHEN t.is_split THEN ` + b.splitsJSON() + ` END`
}

const transferJoin = ` LEFT JOIN transactions o ON o.user_id = t.user_id AND o.id = t.transfer_id`

// limitRows is a LIMIT clause. The number is written into the SQL rather than bound: a bound
// LIMIT made SQLite prepare the statement a second time at its first step (the driver prepares
// every statement anew anyway), 10 to 15% of a register page's query.
func limitRows(n int) string { return " LIMIT " + strconv.Itoa(n) }

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
		q.sql = `SELECT CAST((SELECT COALESCE(SUM(total), 0) FROM account_months WHERE user_id = ? AND account_id = ?) AS BIGINT)`
		q.args = []any{b.userID, accountID}
	} else {
		month := c.date[:7]
		q.sql = `SELECT CAST((SELECT COALESCE(SUM(total), 0) FROM account_months WHERE user_id = ? AND account_id = ? AND month < ?)
			+ (SELECT COALESCE(SUM(amount), 0) FROM transactions` + b.indexedBy("transactions_register") + `
				WHERE user_id = ? AND account_id = ? AND date >= ? AND (date, id) < (?, ?) AND parent_id IS NULL) AS BIGINT)`
		q.args = []any{b.userID, accountID, month, b.userID, accountID, month + "-01", c.date, c.id}
	}
	q.sql += `, t.id, ` + b.rowColumns() + ` FROM transactions t` + b.indexedBy("transactions_register") + transferJoin +
		` WHERE t.user_id = ? AND t.account_id = ? AND t.parent_id IS NULL`
	q.args = append(q.args, b.userID, accountID)
	if c != nil {
		q.sql += ` AND (t.date, t.id) < (?, ?)`
		q.args = append(q.args, c.date, c.id)
	}
	q.sql += ` ORDER BY t.date DESC, t.id DESC` + limitRows(limit+1)
	return q
}

// Register is a page of an account's rows, newest first, each with the balance after it. Split
// parts come inside their row. cursor is "" for the first page, then the previous page's Next.
func (b *Book) Register(accountID uint, cursor string, limit int) (*Page, error) {
	c, err := parseCursor(cursor)
	if err != nil {
		return nil, err
	}
	limit = clampLimit(limit)
	page, start, err := b.page(b.registerQuery(accountID, c, limit), limit, true)
	if err != nil {
		return nil, wrap("register", err)
	}
	// Rows are the user's own account's (the query and the foreign keys say so); only a page
	// without rows needs asking whether the account is the user's at all.
	if len(page.Rows) == 0 {
		if err := b.first("accounts", accountID, &Account{}); err != nil {
			return nil, wrap("register", err)
		}
	}
	balance := start
	for i := range page.Rows {
		page.Rows[i].Balance = balance
		balance -= page.Rows[i].Amount
	}
	return page, nil
}

// Transaction returns one transaction (not a split's part: the part is inside its parent).
func (b *Book) Transaction(id uint) (*Row, error) {
	if id == 0 {
		return nil, ErrNotFound
	}
	q := query{`SELECT t.id, ` + b.rowColumns() + ` FROM transactions t` + transferJoin +
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
