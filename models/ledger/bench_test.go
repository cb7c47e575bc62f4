package ledger

import (
	"sort"
	"testing"
	"time"

	"tally/models"

	"gorm.io/gorm"
)

// seedAccounts are the accounts seed fills.
type seedAccounts struct{ checking, savings, card uint }

// seed gives b's user n rows in one checking account over ten years, in SQL for speed (the
// triggers keep the month totals as for any insert): every 50th a split in two parts, every
// 100th a transfer to savings, payees from a set of 300, memos on every 7th, salary monthly-ish.
func seed(tb testing.TB, db *gorm.DB, b *Book, n int) seedAccounts {
	tb.Helper()
	noErr(tb, b.SeedDefaults())
	s := seedAccounts{
		checking: mustAccount(tb, b, "Seed checking", "USD", 1000_00).ID,
		savings:  mustAccount(tb, b, "Seed savings", "USD", 0).ID,
		card:     mustAccount(tb, b, "Seed card", "USD", 0).ID,
	}
	var cats struct{ Lo, Hi uint }
	noErr(tb, db.Raw(`SELECT MIN(id) AS lo, MAX(id) AS hi FROM categories WHERE user_id = ?`, b.userID).Scan(&cats).Error)
	now := time.Now().UTC()
	u := b.userID
	noErr(tb, db.Transaction(func(tx *gorm.DB) error {
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
			INSERT INTO transactions (user_id, account_id, date, payee, memo, amount, category_id, created_at, updated_at)
			SELECT ?, ?, ` + seedDate(db, "i * 3650 / ?") + `, 'Payee ' || (i * 37 % 300),
				CASE WHEN i % 7 = 0 THEN 'memo ' || i ELSE '' END,
				CASE WHEN i % 45 = 0 THEN 350000 ELSE -(i * 7919 % 20000) - 1 END,
				CAST(? AS BIGINT) + i % (CAST(? AS BIGINT) - CAST(? AS BIGINT) + 1), ?, ? FROM n`,
				[]any{n, u, s.checking, n, cats.Lo, cats.Hi, cats.Lo, now, now}},
			// Splits: two parts, then the parent gives up its category.
			{`INSERT INTO transactions (user_id, account_id, date, payee, memo, amount, category_id, parent_id, created_at, updated_at)
			SELECT user_id, account_id, date, payee, 'part', amount - amount / 2, category_id, id, created_at, updated_at
			FROM transactions WHERE user_id = ? AND account_id = ? AND id % 50 = 0 AND parent_id IS NULL
			UNION ALL
			SELECT user_id, account_id, date, payee, '', amount / 2, ?, id, created_at, updated_at
			FROM transactions WHERE user_id = ? AND account_id = ? AND id % 50 = 0 AND parent_id IS NULL`,
				[]any{u, s.checking, cats.Lo, u, s.checking}},
			{`UPDATE transactions SET is_split = TRUE, category_id = NULL WHERE user_id = ? AND id IN
				(SELECT parent_id FROM transactions WHERE user_id = ? AND parent_id IS NOT NULL)`, []any{u, u}},
			// Transfers: the other leg in savings, then the link back.
			{`INSERT INTO transactions (user_id, account_id, date, payee, memo, amount, transfer_id, created_at, updated_at)
			SELECT user_id, ?, date, payee, memo, -amount, id, created_at, updated_at FROM transactions
			WHERE user_id = ? AND account_id = ? AND id % 100 = 1 AND parent_id IS NULL AND NOT is_split`,
				[]any{s.savings, u, s.checking}},
			{`UPDATE transactions SET category_id = NULL, transfer_id =
				(SELECT l.id FROM transactions l WHERE l.user_id = transactions.user_id AND l.transfer_id = transactions.id)
			WHERE user_id = ? AND account_id = ? AND id % 100 = 1 AND parent_id IS NULL AND NOT is_split`,
				[]any{u, s.checking}},
			// A few card rows, so the dashboard has more than one busy account.
			{`INSERT INTO transactions (user_id, account_id, date, payee, memo, amount, category_id, created_at, updated_at)
			SELECT user_id, ?, date, payee, '', amount, category_id, created_at, updated_at FROM transactions
			WHERE user_id = ? AND account_id = ? AND id % 20 = 3 AND parent_id IS NULL AND NOT is_split AND transfer_id IS NULL`,
				[]any{s.card, u, s.checking}},
		} {
			if err := tx.Exec(q.sql, q.args...).Error; err != nil {
				return err
			}
		}
		return nil
	}))
	return s
}

// analyze gives Postgres's planner the statistics (and index-only scans the visibility map)
// that autovacuum gives a live database soon after a bulk insert; SQLite's queries name their
// indexes.
func analyze(tb testing.TB, db *gorm.DB) {
	if models.IsPostgres(db) {
		noErr(tb, db.Exec("VACUUM ANALYZE").Error)
	}
}

// seedDate is the day days (an SQL expression) after 2016-01-01, as YYYY-MM-DD.
func seedDate(db *gorm.DB, days string) string {
	if models.IsPostgres(db) {
		return `to_char(DATE '2016-01-01' + (` + days + `), 'YYYY-MM-DD')`
	}
	return `date('2016-01-01', '+' || (` + days + `) || ' days')`
}

// timings reports the median and 95th percentile of the calls of fn.
func timings(b *testing.B, fn func() error) {
	ds := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if err := fn(); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	b.ReportMetric(float64(ds[len(ds)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(ds[len(ds)*95/100].Microseconds()), "p95-µs")
}

// BenchmarkRegister50k times the pages' queries on one user with 50,000 rows in one account
// (plus split parts, transfer legs, card rows and another user's rows beside them).
func BenchmarkRegister50k(b *testing.B) {
	db := openTestDB(b)
	book := newBook(b, db, newUser(b, db, "ada"))
	s := seed(b, db, book, 50_000)
	other := newBook(b, db, newUser(b, db, "bob"))
	seed(b, db, other, 5_000)
	analyze(b, db)
	var counts struct{ All, Checking int64 }
	noErr(b, db.Raw(`SELECT COUNT(*) AS "all", COUNT(CASE WHEN account_id = ? THEN 1 END) AS checking FROM transactions WHERE user_id = ?`,
		s.checking, book.userID).Scan(&counts).Error)
	b.Logf("%d rows for the user, %d in the register's account", counts.All, counts.Checking)
	cats := must[[]Category](b)(book.Categories())
	for _, text := range []string{"payee 1", "memo 1", "memo 2", "memo 4249"} {
		var n int
		like := models.ILike(db)
		noErr(b, db.Raw(`SELECT COUNT(*) FROM transactions WHERE user_id = ? AND parent_id IS NULL AND (payee `+like+` ? OR memo `+like+` ? )`,
			book.userID, "%"+text+"%", "%"+text+"%").Scan(&n).Error)
		b.Logf("%q is in %d rows", text, n)
	}

	// A cursor halfway down the register, for a deep page.
	deep := ""
	for p, i := must[*Page](b)(book.Register(s.checking, "", 500)), 0; i < 50; i++ {
		deep = p.Next
		p = must[*Page](b)(book.Register(s.checking, p.Next, 500))
	}

	for _, bc := range []struct {
		name string
		fn   func() error
	}{
		{"register first page", func() error { _, err := book.Register(s.checking, "", 50); return err }},
		{"register page 500", func() error { _, err := book.Register(s.checking, deep, 50); return err }},
		{"transactions by category", func() error {
			_, err := book.Transactions(Filter{CategoryID: cats[3].ID}, "", 50)
			return err
		}},
		{"transactions by account and dates", func() error {
			_, err := book.Transactions(Filter{AccountID: s.checking, From: "2020-01-01", To: "2020-06-30"}, "", 50)
			return err
		}},
		{"transactions by common text", func() error {
			_, err := book.Transactions(Filter{Text: "payee 1"}, "", 50)
			return err
		}},
		{"transactions by text of old rows", func() error {
			_, err := book.Transactions(Filter{Text: "memo 1"}, "", 50)
			return err
		}},
		{"transactions by text of middle rows", func() error {
			_, err := book.Transactions(Filter{Text: "memo 2"}, "", 50)
			return err
		}},
		{"transactions by rare text", func() error {
			_, err := book.Transactions(Filter{Text: "memo 4249"}, "", 50)
			return err
		}},
		{"dashboard", func() error {
			accounts, err := book.Accounts(false)
			if err != nil {
				return err
			}
			if _, err := TotalsByCurrency(accounts); err != nil {
				return err
			}
			_, err = book.Recent(10)
			return err
		}},
		{"payees", func() error { _, err := book.Payees("payee 2", 10); return err }},
		{"category for payee", func() error { _, err := book.CategoryForPayee("payee 17"); return err }},
	} {
		b.Run(bc.name, func(b *testing.B) { timings(b, bc.fn) })
	}
	checkTotals(b, db)
}
