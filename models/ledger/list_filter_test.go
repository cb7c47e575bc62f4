package ledger

import (
	"fmt"
	"slices"
	"testing"
)

// TestReportFilters lists the rows of the filters the reports link to (no category, a flow, a
// currency) page by page, and checks each against the rows the rules name, read here from the
// table directly: the listed transactions are exactly those with a matching row, and their
// matching rows sum to what the reports count.
func TestReportFilters(t *testing.T) {
	db := openTestDB(t)
	b := newBook(t, db, newUser(t, db, "ada"))
	bob := newBook(t, db, newUser(t, db, "bob"))
	usd1 := mustAccount(t, b, "Checking", "USD", 100_00) // an opening balance
	usd2 := mustAccount(t, b, "Card", "USD", 0)
	eur1 := mustAccount(t, b, "Euro", "EUR", 0)
	eur2 := mustAccount(t, b, "Euro cash", "EUR", 50_00)
	food := mustCategory(t, b, "Food", "Living")
	salary := must[*Category](t)(b.CreateCategory(CategoryInput{Name: "Salary", Group: "Income", IsIncome: true}))
	theirs := mustAccount(t, bob, "Bob's", "USD", 0)
	mustAdd(t, bob, TxInput{AccountID: theirs.ID, Date: "2024-02-01", Payee: "Bob", Amount: -7})

	for _, in := range []TxInput{
		{AccountID: usd1.ID, Date: "2024-02-01", Payee: "Work", Amount: 2000_00, CategoryID: salary.ID},
		{AccountID: usd1.ID, Date: "2024-02-02", Payee: "Shop", Amount: -30_00, CategoryID: food.ID},
		{AccountID: usd1.ID, Date: "2024-02-03", Payee: "Kiosk", Amount: -4_00},
		{AccountID: usd2.ID, Date: "2024-02-04", Payee: "Refund", Amount: 1_50},
		// A split with an income part and a spending part.
		{AccountID: usd2.ID, Date: "2024-02-05", Payee: "Mixed", Amount: 70_00,
			Splits: []SplitInput{{salary.ID, 100_00, "bonus"}, {food.ID, -30_00, "lunch"}}},
		{AccountID: usd1.ID, Date: "2024-02-06", Amount: -500_00, TransferAccountID: usd2.ID},
		{AccountID: usd1.ID, Date: "2024-03-01", Amount: -110_00, TransferAccountID: eur1.ID, TransferAmount: 100_00},
		{AccountID: eur1.ID, Date: "2024-03-02", Payee: "Bistro", Amount: -45_00, CategoryID: food.ID},
		{AccountID: eur2.ID, Date: "2024-03-03", Payee: "Client", Amount: 300_00, CategoryID: salary.ID},
		{AccountID: eur2.ID, Date: "2024-03-04", Payee: "Market", Amount: -2_25},
		{AccountID: eur1.ID, Date: "2024-03-05", Payee: "Split", Amount: -20_00,
			Splits: []SplitInput{{food.ID, -15_00, ""}, {food.ID, -5_00, ""}}},
	} {
		mustAdd(t, b, in)
	}

	// The rows the rules name: report rows (never a split's total, a transfer or an opening
	// balance), or for a currency every row without a parent, with the id the list shows.
	type row struct {
		Shown  uint
		Amount int64
	}
	want := func(f Filter) ([]uint, int64) {
		where := "t.user_id = ? AND " + ReportRows + " AND t.transfer_id IS NULL AND NOT t.is_opening"
		args := []any{b.userID}
		if f.Flow == "" && !f.Uncategorized {
			where = "t.user_id = ? AND " + BalanceRows
		}
		switch f.Flow {
		case FlowIncome:
			where += " AND t.category_id IN (SELECT id FROM categories WHERE is_income)"
		case FlowExpense:
			where += " AND (t.category_id IS NULL OR t.category_id NOT IN (SELECT id FROM categories WHERE is_income))"
		}
		if f.Uncategorized {
			where += " AND t.category_id IS NULL"
		}
		if f.Currency != "" {
			where += " AND t.account_id IN (SELECT id FROM accounts WHERE currency = ?)"
			args = append(args, f.Currency)
		}
		if f.AccountID != 0 {
			where += " AND t.account_id = ?"
			args = append(args, f.AccountID)
		}
		if f.From != "" {
			where += " AND t.date >= ?"
			args = append(args, f.From)
		}
		if f.To != "" {
			where += " AND t.date <= ?"
			args = append(args, f.To)
		}
		var rows []row
		noErr(t, db.Raw(`SELECT COALESCE(t.parent_id, t.id) AS shown, t.amount FROM transactions t WHERE `+where, args...).Scan(&rows).Error)
		var ids []uint
		var sum int64
		for _, r := range rows {
			if !slices.Contains(ids, r.Shown) {
				ids = append(ids, r.Shown)
			}
			sum += r.Amount
		}
		slices.Sort(ids)
		return ids, sum
	}
	// listed follows the list's pages (two rows each, so the cursor meets every bound) and sums
	// the listed rows as the filter counts them.
	income := map[uint]bool{salary.ID: true}
	listed := func(f Filter) ([]uint, int64) {
		var ids []uint
		var sum int64
		cursor := ""
		for {
			p := must[*Page](t)(b.Transactions(f, cursor, 2))
			for _, r := range p.Rows {
				ids = append(ids, r.ID)
				if f.Flow == "" && !f.Uncategorized { // a balance's rows
					sum += r.Amount
					continue
				}
				if r.TransferID != nil || r.IsOpening {
					continue
				}
				parts := r.Splits
				if !r.IsSplit {
					parts = []Split{{CategoryID: derefID(r.CategoryID), Amount: r.Amount}}
				}
				for _, s := range parts {
					if (f.Uncategorized && s.CategoryID != 0) || (f.Flow == FlowIncome && !income[s.CategoryID]) ||
						(f.Flow == FlowExpense && income[s.CategoryID]) {
						continue
					}
					sum += s.Amount
				}
			}
			if p.Next == "" {
				break
			}
			cursor = p.Next
		}
		slices.Sort(ids)
		return ids, sum
	}
	for _, f := range []Filter{
		{Uncategorized: true},
		{Uncategorized: true, Currency: "EUR"},
		{Uncategorized: true, Flow: FlowExpense, To: "2024-02-29"},
		{Flow: FlowIncome},
		{Flow: FlowExpense},
		{Flow: FlowNet},
		{Flow: FlowIncome, Currency: "USD", From: "2024-02-01", To: "2024-02-29"},
		{Flow: FlowExpense, Currency: "EUR", To: "2024-03-04"},
		{Flow: FlowNet, AccountID: usd2.ID},
		{Currency: "USD"},
		{Currency: "EUR", To: "2024-03-03"},
		{Currency: "EUR", AccountID: usd1.ID},
	} {
		t.Run(fmt.Sprintf("%+v", f), func(t *testing.T) {
			wantIDs, wantSum := want(f)
			gotIDs, gotSum := listed(f)
			if fmt.Sprint(gotIDs) != fmt.Sprint(wantIDs) || gotSum != wantSum {
				t.Errorf("listed %v summing to %d; the rules name %v summing to %d", gotIDs, gotSum, wantIDs, wantSum)
			}
			if len(wantIDs) == 0 && f.AccountID == 0 {
				t.Error("the case names no rows: it proves nothing")
			}
		})
	}

	// The flow's amounts apply to the counted row: the split's spending part, not its total.
	p := must[*Page](t)(b.Transactions(Filter{Flow: FlowExpense, MinAmount: ptr[int64](-30_00), MaxAmount: ptr[int64](-30_00), Currency: "USD"}, "", 10))
	if len(p.Rows) != 2 {
		t.Errorf("expense of -30.00: %d rows, want the plain row and the split", len(p.Rows))
	}

	for _, tc := range []struct {
		f     Filter
		field string
	}{
		{Filter{Flow: "profit"}, "flow"},
		{Filter{Currency: "XXY"}, "currency"},
		{Filter{Uncategorized: true, CategoryID: food.ID}, "category_id"},
	} {
		if _, err := b.Transactions(tc.f, "", 10); validation(t, err).Fields[tc.field] == "" {
			t.Errorf("%+v: no problem with %s", tc.f, tc.field)
		}
	}
}

func derefID(id *uint) uint {
	if id == nil {
		return 0
	}
	return *id
}
