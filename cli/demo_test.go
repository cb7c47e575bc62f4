package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"tally/models"
	"tally/models/ledger"
	"tally/testkit"
	"tally/testkit/testdb"
)

// demoNow is a fixed "today", so runs with one seed can be compared.
var demoNow = time.Date(2025, time.March, 14, 18, 30, 0, 0, time.UTC)

// newDemoCLI is a CLI on a fresh database with the ledger's tables, and a user ada.
func newDemoCLI(t testing.TB) (*CLI, *models.User) {
	t.Helper()
	db, err := models.Open(testdb.Target(t, t.TempDir()), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { models.Close(db) })
	if err := models.Migrate(db); err != nil {
		t.Fatal(err)
	}
	if err := ledger.Migrate(db); err != nil {
		t.Fatal(err)
	}
	u := testkit.CreateUser(t, db, models.NewUser{Username: "ada", Email: "ada@example.com"}, testkit.Password, demoNow)
	return &CLI{DB: db, In: strings.NewReader(""), Out: io.Discard, Err: io.Discard, Now: func() time.Time { return demoNow }}, u
}

func runDemo(t testing.TB, cli *CLI, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cli.Out = &out
	err := cli.Run(context.Background(), append([]string{"demo"}, args...))
	return out.String(), err
}

func demoBook(t testing.TB, db *gorm.DB, userID uint) *ledger.Book {
	t.Helper()
	b, err := ledger.For(db, userID)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// registerRows reads every row of an account's register, page by page.
func registerRows(t testing.TB, b *ledger.Book, accountID uint) []ledger.Row {
	t.Helper()
	var rows []ledger.Row
	for cursor := ""; ; {
		page, err := b.Register(accountID, cursor, ledger.MaxLimit)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, page.Rows...)
		if cursor = page.Next; cursor == "" {
			return rows
		}
	}
}

// checkDemoLedger checks what every demo ledger holds: each balance is the sum of its
// register's rows, transfers are linked pairs, splits add up, dates lie in the months asked for.
// It counts what it saw by category name and by kind ("transfer", "split", ...) and returns
// the accounts by name with their rows.
func checkDemoLedger(t *testing.T, b *ledger.Book, months int) (map[string]int, map[string][]ledger.Row) {
	t.Helper()
	accounts, err := b.Accounts(true)
	if err != nil {
		t.Fatal(err)
	}
	currency := map[uint]string{}
	for _, a := range accounts {
		currency[a.ID] = a.Currency
	}
	cats, err := b.Categories()
	if err != nil {
		t.Fatal(err)
	}
	catName := map[uint]string{}
	for _, c := range cats {
		catName[c.ID] = c.Name
	}
	first, last := demoNow.AddDate(0, -months, 0).Format(time.DateOnly), demoNow.Format(time.DateOnly)
	seen := map[string]int{}
	byName := map[string][]ledger.Row{}
	for _, a := range accounts {
		seen[a.Kind]++
		rows := registerRows(t, b, a.ID)
		byName[a.Name] = rows
		var sum int64
		for i, r := range rows {
			sum += r.Amount
			if r.Date < first || r.Date > last {
				t.Errorf("%s: row %d dated %s, outside %s to %s", a.Name, r.ID, r.Date, first, last)
			}
			if i > 0 && r.Balance != rows[i-1].Balance-rows[i-1].Amount {
				t.Errorf("%s: running balance breaks at row %d", a.Name, r.ID)
			}
			if r.Amount%100 != 0 {
				seen["cents"]++
			}
			switch {
			case r.TransferID != nil:
				seen["transfer"]++
				other, err := b.Transaction(*r.TransferID)
				if err != nil {
					t.Fatalf("%s: row %d: other leg %d: %v", a.Name, r.ID, *r.TransferID, err)
				}
				if other.TransferID == nil || *other.TransferID != r.ID || other.AccountID == r.AccountID ||
					r.TransferAccountID == nil || *r.TransferAccountID != other.AccountID || (other.Amount > 0) == (r.Amount > 0) {
					t.Errorf("%s: transfer %d and %d are not a linked pair: %+v / %+v", a.Name, r.ID, other.ID, r, other)
				}
				if currency[other.AccountID] == a.Currency && other.Amount != -r.Amount {
					t.Errorf("%s: transfer %d moves %d out and %d in", a.Name, r.ID, r.Amount, other.Amount)
				}
				if currency[other.AccountID] != a.Currency {
					seen["cross-currency transfer"]++
				}
			case r.IsSplit:
				seen["split"]++
				var parts int64
				for _, s := range r.Splits {
					parts += s.Amount
				}
				if len(r.Splits) < 2 || parts != r.Amount || r.CategoryID != nil {
					t.Errorf("%s: split %d of %d has parts %+v", a.Name, r.ID, r.Amount, r.Splits)
				}
			case r.CategoryID != nil:
				seen[catName[*r.CategoryID]]++
			}
		}
		if sum != a.Balance {
			t.Errorf("%s: balance %d, its %d rows add up to %d", a.Name, a.Balance, len(rows), sum)
		}
		if len(rows) > 0 && rows[0].Balance != a.Balance {
			t.Errorf("%s: the register starts at %d, the balance is %d", a.Name, rows[0].Balance, a.Balance)
		}
	}
	return seen, byName
}

// demoCount is what the demo counts as transactions: every row but opening balances and the
// second legs of transfers (a transfer is one transaction in two accounts).
func demoCount(accounts map[string][]ledger.Row) int {
	n := 0
	for _, rows := range accounts {
		for _, r := range rows {
			if !r.IsOpening && (r.TransferID == nil || r.ID < *r.TransferID) {
				n++
			}
		}
	}
	return n
}

func TestDemoFillsALedger(t *testing.T) {
	cli, u := newDemoCLI(t)
	out, err := runDemo(t, cli, "ada", "--months", "3")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "5 accounts created") || !strings.Contains(out, "Travel money (EUR)") {
		t.Errorf("summary:\n%s", out)
	}
	seen, accounts := checkDemoLedger(t, demoBook(t, cli.DB, u.ID), 3)
	for _, what := range []string{ledger.KindChecking, ledger.KindSavings, ledger.KindCreditCard, ledger.KindCash,
		"transfer", "cross-currency transfer", "split", "cents",
		"Salary", "Rent or mortgage", "Utilities", "Groceries", "Eating out", "Public transport", "Holidays"} {
		if seen[what] == 0 {
			t.Errorf("no %s in the demo data (%v)", what, seen)
		}
	}
	if seen["Salary"] != 3 || seen["Rent or mortgage"] != 3 {
		t.Errorf("%d salaries and %d rents in 3 months", seen["Salary"], seen["Rent or mortgage"])
	}
	// A household's three months: about 125 transactions a month.
	if n := demoCount(accounts); n < 300 || n > 450 {
		t.Errorf("%d transactions in 3 months", n)
	}
}

func TestDemoRefuses(t *testing.T) {
	cli, _ := newDemoCLI(t)
	if _, err := runDemo(t, cli, "--months", "1", "ada"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"a user with accounts", []string{"ada", "--months", "1"}, "--force"},
		{"an unknown user", []string{"nobody"}, `there is no user "nobody"`},
		{"no user", []string{"--months", "2"}, "give exactly one username"},
		{"two users", []string{"ada", "bob"}, "give exactly one username"},
		{"no months", []string{"ada", "--months", "0"}, "--months"},
		{"an unknown currency", []string{"ada", "--currency", "XYZ"}, "unknown currency"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runDemo(t, cli, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one saying %q", err, tc.want)
			}
		})
	}
}

func TestDemoForceAddsBesideTheUsersAccounts(t *testing.T) {
	cli, u := newDemoCLI(t)
	for range 2 {
		if _, err := runDemo(t, cli, "ada", "--months", "1", "--force", "--currency", "jpy"); err != nil {
			t.Fatal(err)
		}
	}
	accounts, err := demoBook(t, cli.DB, u.ID).Accounts(true)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, a := range accounts {
		names[a.Name] = a.Currency
	}
	if len(accounts) != 10 || names["Checking"] != "JPY" || names["Checking (demo 1)"] != "JPY" || names["Travel money (EUR)"] != "EUR" {
		t.Errorf("accounts after two runs: %v", names)
	}
}

func TestDemoStopsWhenInterrupted(t *testing.T) {
	cli, u := newDemoCLI(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := cli.Run(ctx, []string{"demo", "ada", "--months", "1"})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("err = %v, want ErrInterrupted", err)
	}
	// Batches are committed as they go: what was written stays, and says so.
	if !strings.Contains(err.Error(), "after 0 of") {
		t.Errorf("err = %v", err)
	}
	if _, accounts := checkDemoLedger(t, demoBook(t, cli.DB, u.ID), 1); demoCount(accounts) != 0 {
		t.Errorf("%d transactions written after the interrupt", demoCount(accounts))
	}
}

func TestDemoTransactionsCount(t *testing.T) {
	cli, u := newDemoCLI(t)
	if _, err := runDemo(t, cli, "ada", "--months", "3", "--transactions", "5000"); err != nil {
		t.Fatal(err)
	}
	// 5,000 take 4 months (at most 1,500 a month), most of them in checking.
	_, accounts := checkDemoLedger(t, demoBook(t, cli.DB, u.ID), 4)
	if n := demoCount(accounts); n < 4750 || n > 5250 {
		t.Errorf("%d transactions, want 5000 ± 5%%", n)
	}
	checking := accounts["Checking"]
	if len(checking) < 4000 {
		t.Errorf("%d rows in checking", len(checking))
	}
	if oldest, want := checking[len(checking)-1].Date, demoNow.AddDate(0, -4, 0).Format(time.DateOnly); oldest != want {
		t.Errorf("checking starts on %s, want %s", oldest, want)
	}
}

func TestDemoSameSeedSameData(t *testing.T) {
	summaries := make([]string, 3)
	for i, seed := range []string{"7", "7", "8"} {
		cli, u := newDemoCLI(t)
		if _, err := runDemo(t, cli, "ada", "--months", "2", "--seed", seed); err != nil {
			t.Fatal(err)
		}
		page, err := demoBook(t, cli.DB, u.ID).Transactions(ledger.Filter{}, "", ledger.MaxLimit)
		if err != nil {
			t.Fatal(err)
		}
		var s strings.Builder
		for _, r := range page.Rows {
			fmt.Fprintln(&s, r.Date, r.Payee, r.Memo, r.Amount)
		}
		summaries[i] = s.String()
	}
	if summaries[0] != summaries[1] {
		t.Error("two runs with seed 7 differ")
	}
	if summaries[0] == summaries[2] {
		t.Error("seeds 7 and 8 give the same data")
	}
}

// BenchmarkDemo50k times what the benchmark's setup runs: 50,000 transactions for one user.
//
//	go test -run '^$' -bench Demo50k -benchtime 1x ./cli/
func BenchmarkDemo50k(b *testing.B) {
	for range b.N {
		b.StopTimer()
		cli, u := newDemoCLI(b)
		cli.Now = func() time.Time { return time.Now().UTC() }
		b.StartTimer()
		out, err := runDemo(b, cli, "ada", "--transactions", "50000")
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		b.Log(out)
		var rows int64
		if err := cli.DB.Raw(`SELECT COUNT(*) FROM transactions WHERE user_id = ?`, u.ID).Scan(&rows).Error; err != nil {
			b.Fatal(err)
		}
		b.Logf("%d rows in the transactions table", rows)
	}
}
