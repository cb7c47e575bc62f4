package ledger

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	"gorm.io/gorm"

	"tally/models"
)

// checkReportTotals asserts that category_months (what reports and budgets read) equals the sums
// of the report rows as reportFlow states them, for every user.
func checkReportTotals(tb testing.TB, db *gorm.DB) {
	tb.Helper()
	var bad []struct {
		UserID, AccountID, CategoryID uint
		Month                         string
		Total, Rows                   int64
	}
	err := db.Raw(`WITH rows AS (
			SELECT user_id, substr(date, 1, 7) AS month, account_id, COALESCE(category_id, 0) AS category_id, SUM(amount) AS s
			FROM transactions t WHERE ` + reportFlow + ` GROUP BY 1, 2, 3, 4)
		SELECT m.user_id, m.account_id, m.category_id, m.month, m.total, COALESCE(r.s, 0) AS rows FROM category_months m
			LEFT JOIN rows r USING (user_id, month, account_id, category_id) WHERE m.total <> COALESCE(r.s, 0)
		UNION ALL
		SELECT r.user_id, r.account_id, r.category_id, r.month, 0, r.s FROM rows r
			LEFT JOIN category_months m USING (user_id, month, account_id, category_id) WHERE m.month IS NULL AND r.s <> 0`).Scan(&bad).Error
	if err != nil {
		tb.Fatal(err)
	}
	if len(bad) > 0 {
		tb.Errorf("category month totals disagree with the rows: %+v", bad)
	}
}

// TestCategoryMonthsFollowEveryWrite changes rows in every way the book can and checks after
// each step that the report totals equal the rows.
func TestCategoryMonthsFollowEveryWrite(t *testing.T) {
	db := openTestDB(t)
	f := newFixture(t, db, "ada")
	newFixture(t, db, "bob")
	b := f.book
	cs := must[[]Category](t)(b.Categories())
	check := func(step string) {
		t.Helper()
		checkReportTotals(t, db)
		checkTotals(t, db)
		if t.Failed() {
			t.Fatalf("after %s", step)
		}
	}
	check("the fixture")
	steps := []struct {
		name string
		fn   func() error
	}{
		{"move a row to another month, amount and category", func() error {
			_, err := b.UpdateTransaction(f.plain, TxInput{AccountID: f.checking, Date: "2024-03-15", Amount: -7_00, CategoryID: cs[5].ID})
			return err
		}},
		{"make a row a transfer", func() error {
			_, err := b.UpdateTransaction(f.plain, TxInput{AccountID: f.checking, Date: "2024-03-15", Amount: -7_00, TransferAccountID: f.savings})
			return err
		}},
		{"make a transfer a plain row again", func() error {
			_, err := b.UpdateTransaction(f.transfer, TxInput{AccountID: f.checking, Date: "2024-02-02", Amount: -100_00, CategoryID: cs[2].ID})
			return err
		}},
		{"move a row to another account", func() error {
			_, err := b.UpdateTransaction(f.transfer, TxInput{AccountID: f.euro, Date: "2024-02-02", Amount: -100_00, CategoryID: cs[2].ID})
			return err
		}},
		{"change a split's parts", func() error {
			_, err := b.UpdateTransaction(f.split, TxInput{AccountID: f.checking, Date: "2024-04-03", Amount: -9_00,
				Splits: []SplitInput{{cs[3].ID, -4_00, ""}, {cs[6].ID, -5_00, ""}}})
			return err
		}},
		{"delete a split", func() error { return b.DeleteTransaction(f.split) }},
		{"undo the delete", func() error { return b.UndoDelete(f.split) }},
		{"make a split a plain row", func() error {
			_, err := b.UpdateTransaction(f.split, TxInput{AccountID: f.checking, Date: "2024-04-03", Amount: -9_00})
			return err
		}},
		{"a cross-currency transfer", func() error {
			_, err := b.AddTransaction(TxInput{AccountID: f.checking, Date: "2024-05-01", Amount: -10_00, TransferAccountID: f.euro, TransferAmount: 9_00})
			return err
		}},
		{"an uncategorised income", func() error {
			_, err := b.AddTransaction(TxInput{AccountID: f.savings, Date: "2024-05-02", Amount: 12_00})
			return err
		}},
		{"change the opening balance", func() error {
			p := must[*Page](t)(b.Register(f.checking, "", 500))
			for _, r := range p.Rows {
				if r.IsOpening {
					_, err := b.UpdateTransaction(r.ID, TxInput{AccountID: f.checking, Date: "2023-12-01", Amount: 2000_00})
					return err
				}
			}
			return fmt.Errorf("no opening row")
		}},
		{"delete a category into another", func() error { return b.DeleteCategory(cs[2].ID, cs[7].ID) }},
		{"delete an account that had transfers", func() error { return b.DeleteAccount(f.savings, true) }},
		{"delete the whole ledger", func() error { return b.DeleteAll() }},
	}
	for _, s := range steps {
		noErr(t, s.fn())
		check(s.name)
	}
}

// TestCategoryMonthsBackfill: a database from before the rollup gets its totals at the next
// start.
func TestCategoryMonthsBackfill(t *testing.T) {
	db := openTestDB(t)
	newFixture(t, db, "ada")
	newFixture(t, db, "bob")
	noErr(t, db.Exec(`DELETE FROM category_months`).Error)
	var n int
	noErr(t, db.Raw(`SELECT COUNT(*) FROM category_months`).Scan(&n).Error)
	if n != 0 {
		t.Fatal("not emptied")
	}
	noErr(t, Migrate(db))
	noErr(t, db.Raw(`SELECT COUNT(*) FROM category_months`).Scan(&n).Error)
	if n == 0 {
		t.Fatal("no totals after the migration")
	}
	checkReportTotals(t, db)
	// A second start adds nothing.
	noErr(t, Migrate(db))
	checkReportTotals(t, db)
}

// reportFixture is a user with rows that test every rule of the reports: splits, transfers (one
// across currencies), opening balances, income, refunds, rows without a category, two
// currencies and rows outside the range.
func reportFixture(t *testing.T, db *gorm.DB, name string) (*Book, map[string]uint) {
	t.Helper()
	b := newBook(t, db, newUser(t, db, name))
	noErr(t, b.SeedDefaults())
	ids := map[string]uint{}
	for _, c := range must[[]Category](t)(b.Categories()) {
		ids[c.Name] = c.ID
	}
	ids["checking"] = mustAccount(t, b, "Checking", "USD", 500_00).ID
	ids["savings"] = mustAccount(t, b, "Savings", "USD", 1000_00).ID
	ids["euro"] = mustAccount(t, b, "Euro", "EUR", 50_00).ID
	add := func(in TxInput) { mustAdd(t, b, in) }
	for _, m := range []string{"2023-12", "2024-01", "2024-02", "2024-03"} {
		add(TxInput{AccountID: ids["checking"], Date: m + "-01", Payee: "Work", Amount: 3000_00, CategoryID: ids["Salary"]})
		add(TxInput{AccountID: ids["checking"], Date: m + "-03", Payee: "Landlord", Amount: -1200_00, CategoryID: ids["Rent or mortgage"]})
		add(TxInput{AccountID: ids["checking"], Date: m + "-10", Payee: "Market", Amount: -87_13,
			Splits: []SplitInput{{ids["Groceries"], -80_00, ""}, {ids["Eating out"], -7_13, ""}}})
		add(TxInput{AccountID: ids["checking"], Date: m + "-15", Amount: -200_00, TransferAccountID: ids["savings"]})
		add(TxInput{AccountID: ids["euro"], Date: m + "-20", Payee: "Bistro", Amount: -15_50, CategoryID: ids["Eating out"]})
	}
	add(TxInput{AccountID: ids["checking"], Date: "2024-02-11", Payee: "Market", Amount: 4_99, CategoryID: ids["Groceries"]}) // a refund
	add(TxInput{AccountID: ids["checking"], Date: "2024-02-28", Payee: "Cash", Amount: -40_00})                               // no category
	add(TxInput{AccountID: ids["euro"], Date: "2024-02-29", Amount: 10_00, TransferAccountID: ids["checking"], TransferAmount: -11_00})
	add(TxInput{AccountID: ids["euro"], Date: "2024-03-05", Payee: "Gift", Amount: 25_00, CategoryID: ids["Other income"]})
	mustAccount(t, b, "Late", "USD", 1_00) // opening in 2024-01: not income
	return b, ids
}

// directSums is a plain SUM over the rows of a user, per category, currency and month, as the
// rules say: split parts not parents, no transfers, no opening balances.
func directSums(t *testing.T, db *gorm.DB, userID uint, from, to string, accountID uint) map[string]int64 {
	t.Helper()
	var rows []struct {
		Category uint
		Currency string
		Month    string
		Sum      int64
	}
	q := `SELECT COALESCE(t.category_id, 0) AS category, a.currency, substr(t.date, 1, 7) AS month, SUM(t.amount) AS sum
		FROM transactions t JOIN accounts a ON a.id = t.account_id
		WHERE t.user_id = ? AND t.date BETWEEN ? AND ? AND NOT t.is_split AND t.transfer_id IS NULL AND NOT t.is_opening`
	args := []any{userID, from + "-01", to + "-31"}
	if accountID != 0 {
		q += ` AND t.account_id = ?`
		args = append(args, accountID)
	}
	noErr(t, db.Raw(q+` GROUP BY 1, 2, 3`, args...).Scan(&rows).Error)
	out := map[string]int64{}
	for _, r := range rows {
		if r.Sum != 0 {
			out[fmt.Sprintf("%d %s %s", r.Category, r.Currency, r.Month)] = r.Sum
		}
	}
	return out
}

func TestCategoryReportEqualsTheRows(t *testing.T) {
	db := openTestDB(t)
	b, ids := reportFixture(t, db, "ada")
	reportFixture(t, db, "bob")
	for _, tc := range []struct {
		name     string
		from, to string
		account  uint
	}{
		{"all months", "2023-01", "2024-12", 0},
		{"one month", "2024-02", "2024-02", 0},
		{"one account", "2023-12", "2024-03", ids["checking"]},
		{"the euro account", "2024-01", "2024-03", ids["euro"]},
		{"before any row", "2020-01", "2020-03", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := must[*CategoryReport](t)(b.CategoryReport(tc.from, tc.to, tc.account))
			got := map[string]int64{}
			for _, s := range r.Series {
				if len(s.Totals) != len(r.Months) {
					t.Fatalf("series %d %s has %d totals for %d months", s.CategoryID, s.Currency, len(s.Totals), len(r.Months))
				}
				for i, v := range s.Totals {
					if v != 0 {
						got[fmt.Sprintf("%d %s %s", s.CategoryID, s.Currency, r.Months[i])] = v
					}
				}
			}
			if want := directSums(t, db, b.userID, tc.from, tc.to, tc.account); !reflect.DeepEqual(got, want) {
				t.Errorf("report\n%v\nrows\n%v", got, want)
			}
		})
	}

	r := must[*CategoryReport](t)(b.CategoryReport("2024-01", "2024-03", 0))
	cats := must[[]Category](t)(b.Categories())
	t.Run("cash flow", func(t *testing.T) {
		flows := r.CashFlow(cats)
		if len(flows) != 2 || flows[0].Currency != "EUR" || flows[1].Currency != "USD" {
			t.Fatalf("flows %+v", flows)
		}
		usd, eur := flows[1], flows[0]
		// February in USD: salary in; rent, the split's parts, the cash out, less the refund.
		if usd.Income[1] != 3000_00 || usd.Expense[1] != 1200_00+87_13+40_00-4_99 || usd.Net[1] != usd.Income[1]-usd.Expense[1] {
			t.Errorf("USD February %d in, %d out, %d net", usd.Income[1], usd.Expense[1], usd.Net[1])
		}
		// March in EUR: the gift in, the bistro out; the transfer in from February is neither.
		if eur.Income[2] != 25_00 || eur.Expense[2] != 15_50 || eur.Income[1] != 0 {
			t.Errorf("EUR %+v", eur)
		}
	})
	t.Run("spending", func(t *testing.T) {
		for _, s := range r.Spending(cats) {
			if s.CategoryID == ids["Salary"] || s.CategoryID == ids["Other income"] {
				t.Errorf("income category %d in spending", s.CategoryID)
			}
			if s.CategoryID == ids["Groceries"] && s.Currency == "USD" && s.Totals[1] != 80_00-4_99 {
				t.Errorf("groceries in February spent %d", s.Totals[1])
			}
		}
	})
	t.Run("refused ranges", func(t *testing.T) {
		for _, rg := range [][2]string{{"2024-13", "2024-12"}, {"2024-05", "2024-04"}, {"", "2024-01"}, {"1900-01", "2024-01"}, {"2024-1", "2024-02"}} {
			if _, err := b.CategoryReport(rg[0], rg[1], 0); err == nil {
				t.Errorf("%v accepted", rg)
			} else {
				validation(t, err)
			}
		}
	})
}

func TestNetWorthReportEqualsTheRows(t *testing.T) {
	db := openTestDB(t)
	b, ids := reportFixture(t, db, "ada")
	reportFixture(t, db, "bob")
	for _, account := range []uint{0, ids["checking"], ids["euro"]} {
		r := must[*NetWorthReport](t)(b.NetWorthReport("2023-11", "2024-04", account))
		for _, s := range r.Series {
			for i, m := range r.Months {
				q := `SELECT COALESCE(SUM(t.amount), 0) FROM transactions t JOIN accounts a ON a.id = t.account_id
					WHERE t.user_id = ? AND a.currency = ? AND t.date <= ? AND ` + BalanceRows
				args := []any{b.userID, s.Currency, MonthEnd(m)}
				if account != 0 {
					q += ` AND t.account_id = ?`
					args = append(args, account)
				}
				var want int64
				noErr(t, db.Raw(q, args...).Scan(&want).Error)
				if s.Balances[i] != want {
					t.Errorf("account %d, %s at the end of %s: %d, rows say %d", account, s.Currency, m, s.Balances[i], want)
				}
			}
		}
		if account == 0 && (len(r.Series) != 2 || r.Series[0].Currency != "EUR") {
			t.Errorf("series %+v", r.Series)
		}
		if account != 0 && len(r.Series) != 1 {
			t.Errorf("one account gives %d series", len(r.Series))
		}
	}
}

func TestBudget(t *testing.T) {
	db := openTestDB(t)
	b, ids := reportFixture(t, db, "ada")
	groceries, rent, salary := ids["Groceries"], ids["Rent or mortgage"], ids["Salary"]

	t.Run("set, read, change and remove", func(t *testing.T) {
		noErr(t, b.SetBudget("2024-02", groceries, "USD", 100_00))
		noErr(t, b.SetBudget("2024-02", groceries, "usd", 90_00))
		noErr(t, b.SetBudget("2024-02", groceries, "EUR", 5_00))
		noErr(t, b.SetBudget("2024-02", salary, "USD", 3100_00))
		r := must[*BudgetReport](t)(b.BudgetMonth("2024-02"))
		line := func(cat uint, code string) BudgetLine {
			for _, l := range r.Lines {
				if l.CategoryID == cat && l.Currency == code {
					return l
				}
			}
			t.Fatalf("no line for %d %s in %+v", cat, code, r.Lines)
			return BudgetLine{}
		}
		if l := line(groceries, "USD"); l.Budgeted != 90_00 || !l.HasBudget || l.Spent() != 80_00-4_99 {
			t.Errorf("groceries %+v", l)
		}
		if l := line(groceries, "EUR"); l.Budgeted != 5_00 || l.Spent() != 0 {
			t.Errorf("groceries in EUR %+v", l)
		}
		if l := line(rent, "USD"); l.HasBudget || l.Spent() != 1200_00 {
			t.Errorf("rent %+v", l)
		}
		if l := line(salary, "USD"); l.Activity != 3000_00 || l.Budgeted != 3100_00 {
			t.Errorf("salary %+v", l)
		}
		if l := line(0, "USD"); l.Spent() != 40_00 {
			t.Errorf("no category %+v", l)
		}
		if last := r.Lines[len(r.Lines)-1]; last.CategoryID != 0 {
			t.Errorf("the rows without a category come last, not %+v", last)
		}
		noErr(t, b.RemoveBudget("2024-02", groceries, "EUR"))
		noErr(t, b.RemoveBudget("2024-02", groceries, "EUR"))
		for _, l := range must[*BudgetReport](t)(b.BudgetMonth("2024-02")).Lines {
			if l.CategoryID == groceries && l.Currency == "EUR" {
				t.Errorf("removed amount still shows: %+v", l)
			}
		}
	})

	t.Run("refused", func(t *testing.T) {
		for name, err := range map[string]error{
			"negative":         b.SetBudget("2024-02", groceries, "USD", -1),
			"too large":        b.SetBudget("2024-02", groceries, "USD", MaxAmount+1),
			"bad month":        b.SetBudget("2024-2", groceries, "USD", 1),
			"unknown currency": b.SetBudget("2024-02", groceries, "XXX", 1),
		} {
			if err == nil {
				t.Errorf("%s accepted", name)
			} else {
				validation(t, err)
			}
		}
		if err := b.SetBudget("2024-02", 99999, "USD", 1); !isNotFound(err) {
			t.Errorf("unknown category: %v", err)
		}
	})

	t.Run("copy last month", func(t *testing.T) {
		noErr(t, b.SetBudget("2024-03", groceries, "USD", 1_00))
		noErr(t, b.SetBudget("2024-03", rent, "USD", 1300_00))
		n := must[int](t)(b.CopyBudget("2024-03"))
		if n != 2 {
			t.Errorf("copied %d amounts, want 2", n)
		}
		got := map[uint]int64{}
		for _, l := range must[*BudgetReport](t)(b.BudgetMonth("2024-03")).Lines {
			if l.HasBudget {
				got[l.CategoryID] = l.Budgeted
			}
		}
		// Groceries and salary come from February; rent, not set in February, stays.
		if want := map[uint]int64{groceries: 90_00, salary: 3100_00, rent: 1300_00}; !reflect.DeepEqual(got, want) {
			t.Errorf("March %v, want %v", got, want)
		}
	})

	t.Run("last three months' average", func(t *testing.T) {
		// Groceries in USD: 80.00 in December and January, 75.01 in February: 235.01 / 3 = 78.34.
		n := must[int](t)(b.AverageBudget("2024-03", groceries))
		if n != 1 {
			t.Errorf("set %d amounts, want 1", n)
		}
		n = must[int](t)(b.AverageBudget("2024-03", 0))
		want := map[string]int64{
			fmt.Sprint(groceries, " USD"):         78_34,
			fmt.Sprint(rent, " USD"):              1200_00,
			fmt.Sprint(salary, " USD"):            3000_00,
			fmt.Sprint(ids["Eating out"], " USD"): 7_13,
			fmt.Sprint(ids["Eating out"], " EUR"): 15_50,
		}
		got := map[string]int64{}
		for _, l := range must[*BudgetReport](t)(b.BudgetMonth("2024-03")).Lines {
			if l.HasBudget {
				got[fmt.Sprint(l.CategoryID, " ", l.Currency)] = l.Budgeted
			}
		}
		if n != len(want) || !reflect.DeepEqual(got, want) {
			t.Errorf("set %d: %v, want %v", n, got, want)
		}
	})

	t.Run("a refund larger than the spending averages to zero", func(t *testing.T) {
		mustAdd(t, b, TxInput{AccountID: ids["checking"], Date: "2024-06-01", Amount: 50_00, CategoryID: ids["Car"]})
		must[int](t)(b.AverageBudget("2024-07", ids["Car"]))
		for _, l := range must[*BudgetReport](t)(b.BudgetMonth("2024-07")).Lines {
			if l.CategoryID == ids["Car"] && (l.Budgeted != 0 || !l.HasBudget) {
				t.Errorf("car %+v", l)
			}
		}
	})

	t.Run("range", func(t *testing.T) {
		r := must[*BudgetReport](t)(b.BudgetReport("2024-02", "2024-03", ids["checking"]))
		for _, l := range r.Lines {
			if l.CategoryID == groceries && l.Currency == "USD" && (l.Budgeted != 90_00+78_34 || l.Spent() != 80_00-4_99+80_00) {
				t.Errorf("groceries over two months %+v", l)
			}
			if l.Currency == "EUR" && l.Activity != 0 {
				t.Errorf("the checking account has no EUR rows: %+v", l)
			}
		}
	})

	t.Run("a deleted category's amounts go to its target", func(t *testing.T) {
		c := mustCategory(t, b, "Short-lived", "Other")
		target := mustCategory(t, b, "Long-lived", "Other")
		noErr(t, b.SetBudget("2024-03", c.ID, "USD", 5_00))
		noErr(t, b.DeleteCategory(c.ID, target.ID))
		if got, ok := budgetOf(must[*BudgetReport](t)(b.BudgetMonth("2024-03")), target.ID, "USD"); !ok || got != 5_00 {
			t.Errorf("the target's amount = %d (%v), want 500", got, ok)
		}
		var n int
		noErr(t, db.Raw(`SELECT COUNT(*) FROM budgets WHERE user_id = ? AND category_id = ?`, b.userID, c.ID).Scan(&n).Error)
		if n != 0 {
			t.Errorf("%d amounts left", n)
		}
	})
}

func TestAverage(t *testing.T) {
	for _, tc := range []struct{ total, months, want int64 }{
		{0, 3, 0}, {-5, 3, 0}, {1, 3, 0}, {2, 3, 1}, {3, 3, 1}, {4, 3, 1}, {5, 3, 2}, {23501, 3, 7834}, {3, 2, 2},
	} {
		if got := average(tc.total, tc.months); got != tc.want {
			t.Errorf("average(%d, %d) = %d, want %d", tc.total, tc.months, got, tc.want)
		}
	}
}

// TestBudgetsAndTotalsGoWithTheLedger: deleting the ledger (DeleteAll) or the user (by cascade)
// leaves no budget amount and no report total of theirs, and touches no one else's.
func TestBudgetsAndTotalsGoWithTheLedger(t *testing.T) {
	db := openTestDB(t)
	count := func(userID uint) map[string]int64 {
		out := map[string]int64{}
		for _, table := range []string{"budgets", "category_months"} {
			var n int64
			noErr(t, db.Table(table).Where("user_id = ?", userID).Count(&n).Error)
			out[table] = n
		}
		return out
	}
	fill := func(name string) *Book {
		b, ids := reportFixture(t, db, name)
		noErr(t, b.SetBudget("2024-02", ids["Groceries"], "USD", 1_00))
		for table, n := range count(b.userID) {
			if n == 0 {
				t.Fatalf("nothing in %s: the test would prove nothing", table)
			}
		}
		return b
	}
	ada, bob, cy := fill("ada"), fill("bob"), fill("cy")
	bobBefore := count(bob.userID)

	noErr(t, ada.DeleteAll())
	noErr(t, db.Transaction(func(tx *gorm.DB) error { return models.DeleteAccount(tx, cy.userID) }))
	for _, b := range []*Book{ada, cy} {
		for table, n := range count(b.userID) {
			if n != 0 {
				t.Errorf("user %d: %d rows left in %s", b.userID, n, table)
			}
		}
	}
	if after := count(bob.userID); !reflect.DeepEqual(after, bobBefore) {
		t.Errorf("bob's rows %v, were %v", after, bobBefore)
	}
	checkReportTotals(t, db)
}

// TestKnowingAnswersAsReading: a book told of the accounts and categories (in any order) draws
// every report and budget exactly as one that reads them, with groups and categories moved
// out of their first order.
func TestKnowingAnswersAsReading(t *testing.T) {
	db := openTestDB(t)
	b, ids := reportFixture(t, db, "ada")
	reportFixture(t, db, "bob")
	noErr(t, b.SetBudget("2024-02", ids["Groceries"], "USD", 90_00))
	noErr(t, b.SetBudget("2024-03", ids["Eating out"], "EUR", 10_00))
	noErr(t, b.SetBudget("2024-03", ids["Salary"], "USD", 3000_00))
	cats := must[[]Category](t)(b.Categories())
	var groups []uint
	for i := len(cats) - 1; i >= 0; i-- {
		if !slices.Contains(groups, cats[i].GroupID) {
			groups = append(groups, cats[i].GroupID)
		}
	}
	noErr(t, b.ReorderGroups(groups))
	noErr(t, b.ReorderCategories([]uint{ids["Eating out"], ids["Groceries"]}))

	cats = must[[]Category](t)(b.Categories())
	shuffled := slices.Clone(cats)
	slices.Reverse(shuffled)
	SortCategories(shuffled)
	if !reflect.DeepEqual(shuffled, cats) {
		t.Errorf("SortCategories gave\n%+v\nCategories lists\n%+v", shuffled, cats)
	}
	slices.Reverse(shuffled)
	accounts := must[[]Account](t)(b.Accounts(true))
	slices.Reverse(accounts)
	k := b.Knowing(accounts, shuffled)
	for _, account := range []uint{0, ids["checking"], ids["euro"]} {
		for _, r := range [][2]string{{"2023-01", "2024-12"}, {"2024-02", "2024-02"}, {"2024-03", "2024-03"}} {
			name := fmt.Sprintf("account %d, %s to %s", account, r[0], r[1])
			if got, want := must[*CategoryReport](t)(k.CategoryReport(r[0], r[1], account)),
				must[*CategoryReport](t)(b.CategoryReport(r[0], r[1], account)); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: category report\n%+v\nread\n%+v", name, got, want)
			}
			if got, want := must[*BudgetReport](t)(k.BudgetReport(r[0], r[1], account)),
				must[*BudgetReport](t)(b.BudgetReport(r[0], r[1], account)); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: budget\n%+v\nread\n%+v", name, got, want)
			}
			if got, want := must[*NetWorthReport](t)(k.NetWorthReport(r[0], r[1], account)),
				must[*NetWorthReport](t)(b.NetWorthReport(r[0], r[1], account)); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: net worth\n%+v\nread\n%+v", name, got, want)
			}
		}
	}
	_, err := k.CategoryReport("2024-01", "2024-12", 99999)
	wantNotFound(t, "CategoryReport of an unknown account", err)
}
