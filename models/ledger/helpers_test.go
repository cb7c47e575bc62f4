package ledger

import (
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"gorm.io/gorm"

	"tally/models"
	"tally/testkit/testdb"
)

func openTestDB(tb testing.TB) *gorm.DB {
	tb.Helper()
	db, _ := openTestTarget(tb)
	return db
}

// openTestTarget opens a migrated database for the pass that runs (see testdb.Target), and
// answers what models.Open was given, so a test can open a second handle on it.
func openTestTarget(tb testing.TB) (*gorm.DB, string) {
	tb.Helper()
	target := testdb.Target(tb, tb.TempDir())
	db, err := models.Open(target, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { models.Close(db) })
	if err := models.Migrate(db); err != nil {
		tb.Fatal(err)
	}
	if err := Migrate(db); err != nil {
		tb.Fatal(err)
	}
	return db, target
}

func newUser(tb testing.TB, db *gorm.DB, name string) uint {
	tb.Helper()
	u, err := models.CreateUser(db, models.NewUser{Username: name, Email: name + "@example.com", PasswordHash: "x", Active: true}, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	return u.ID
}

func newBook(tb testing.TB, db *gorm.DB, userID uint) *Book {
	tb.Helper()
	b, err := For(db, userID)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func must[T any](tb testing.TB) func(T, error) T {
	return func(v T, err error) T {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}
}

func noErr(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

func mustAccount(tb testing.TB, b *Book, name, currency string, opening int64) *Account {
	tb.Helper()
	return must[*Account](tb)(b.CreateAccount(AccountInput{Name: name, Kind: KindChecking, Currency: currency,
		OpeningBalance: opening, OpeningDate: "2024-01-01"}))
}

func mustCategory(tb testing.TB, b *Book, name, group string) *Category {
	tb.Helper()
	return must[*Category](tb)(b.CreateCategory(CategoryInput{Name: name, Group: group}))
}

func mustAdd(tb testing.TB, b *Book, in TxInput) *Row {
	tb.Helper()
	return must[*Row](tb)(b.AddTransaction(in))
}

func balanceOf(tb testing.TB, b *Book, accountID uint) int64 {
	tb.Helper()
	return must[*Account](tb)(b.Account(accountID)).Balance
}

// checkTotals asserts that every account's month totals (what balances read) equal the sums of
// its rows as the rule states them: rows without a parent.
func checkTotals(tb testing.TB, db *gorm.DB) {
	tb.Helper()
	var bad []struct {
		AccountID   uint
		Month       string
		Total, Rows int64
	}
	err := db.Raw(`WITH rows AS (
			SELECT user_id, account_id, substr(date, 1, 7) AS month, SUM(amount) AS s FROM transactions t
			WHERE ` + BalanceRows + ` GROUP BY 1, 2, 3)
		SELECT m.account_id, m.month, m.total, COALESCE(r.s, 0) AS rows FROM account_months m
			LEFT JOIN rows r USING (user_id, account_id, month) WHERE m.total <> COALESCE(r.s, 0)
		UNION ALL
		SELECT r.account_id, r.month, 0, r.s FROM rows r
			LEFT JOIN account_months m USING (user_id, account_id, month) WHERE m.month IS NULL AND r.s <> 0`).Scan(&bad).Error
	if err != nil {
		tb.Fatal(err)
	}
	if len(bad) > 0 {
		tb.Errorf("month totals disagree with the rows: %+v", bad)
	}
	var badPayees []struct {
		Name       string
		Uses, Rows int64
	}
	err = db.Raw(`WITH rows AS (
			SELECT user_id, ` + models.NoCase(db, "payee") + ` AS name, COUNT(*) AS n FROM transactions t
			WHERE ` + BalanceRows + ` AND payee <> '' GROUP BY 1, 2)
		SELECT COALESCE(p.name, r.name) AS name, COALESCE(p.uses, 0) AS uses, COALESCE(r.n, 0) AS rows
		FROM rows r FULL JOIN payees p ON p.user_id = r.user_id AND ` + models.NoCase(db, "p.name") + ` = r.name
		WHERE COALESCE(p.uses, 0) <> COALESCE(r.n, 0) OR p.uses <= 0`).Scan(&badPayees).Error
	if err != nil {
		tb.Fatal(err)
	}
	if len(badPayees) > 0 {
		tb.Errorf("payee counts disagree with the rows: %+v", badPayees)
	}
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

func validation(tb testing.TB, err error) *ValidationError {
	tb.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		tb.Fatalf("err = %v, want a validation error", err)
	}
	return ve
}
