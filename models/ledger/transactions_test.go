package ledger

import (
	"errors"
	"strings"
	"testing"
	"time"

	"tally/money"
)

func TestForRefusesAnonymous(t *testing.T) {
	db := openTestDB(t)
	if _, err := For(db, 0); !errors.Is(err, ErrNoUser) {
		t.Fatalf("For(db, 0) err = %v, want ErrNoUser", err)
	}
}

func TestBalances(t *testing.T) {
	db := openTestDB(t)
	b := newBook(t, db, newUser(t, db, "ada"))
	groceries := mustCategory(t, b, "Groceries", "Food")
	fun := mustCategory(t, b, "Fun", "Fun")

	t.Run("three rows of 0.10 show 0.30", func(t *testing.T) {
		a := mustAccount(t, b, "Cash", "USD", 0)
		for i := 0; i < 3; i++ {
			mustAdd(t, b, TxInput{AccountID: a.ID, Date: "2024-02-01", Amount: 10})
		}
		if got := balanceOf(t, b, a.ID); got != 30 {
			t.Errorf("balance = %d, want 30", got)
		}
	})

	t.Run("opening balance plus rows", func(t *testing.T) {
		a := mustAccount(t, b, "Checking", "USD", 100_00)
		mustAdd(t, b, TxInput{AccountID: a.ID, Date: "2024-02-01", Amount: -12_34, CategoryID: groceries.ID})
		mustAdd(t, b, TxInput{AccountID: a.ID, Date: "2023-12-31", Amount: 1, CategoryID: groceries.ID})
		if got := balanceOf(t, b, a.ID); got != 100_00-12_34+1 {
			t.Errorf("balance = %d, want %d", got, 100_00-12_34+1)
		}
		reg := must[*Page](t)(b.Register(a.ID, "", 10))
		if len(reg.Rows) != 3 || !reg.Rows[1].IsOpening {
			t.Fatalf("register = %+v, want 3 rows with the opening second", reg.Rows)
		}
	})

	t.Run("a split counts once", func(t *testing.T) {
		a := mustAccount(t, b, "Card", "EUR", 0)
		r := mustAdd(t, b, TxInput{AccountID: a.ID, Date: "2024-03-01", Payee: "Market", Amount: -50_00, Splits: []SplitInput{
			{CategoryID: groceries.ID, Amount: -30_00}, {CategoryID: fun.ID, Amount: -20_00, Memo: "flowers"}}})
		if got := balanceOf(t, b, a.ID); got != -50_00 {
			t.Errorf("balance = %d, want -5000", got)
		}
		if len(r.Splits) != 2 || r.Splits[1].Memo != "flowers" || r.Splits[0].Amount != -30_00 || !r.IsSplit || r.CategoryID != nil {
			t.Errorf("row = %+v", r)
		}
		var report int64
		noErr(t, db.Raw(`SELECT SUM(amount) FROM transactions t WHERE user_id = ? AND account_id = ? AND `+ReportRows, b.userID, a.ID).Scan(&report).Error)
		if report != -50_00 {
			t.Errorf("report rows sum to %d, want -5000", report)
		}
	})

	t.Run("a transfer shows in both accounts", func(t *testing.T) {
		from := mustAccount(t, b, "From", "USD", 1000_00)
		to := mustAccount(t, b, "To", "USD", 0)
		r := mustAdd(t, b, TxInput{AccountID: from.ID, Date: "2024-03-02", Amount: -250_00, TransferAccountID: to.ID})
		if got := balanceOf(t, b, from.ID); got != 750_00 {
			t.Errorf("from balance = %d", got)
		}
		if got := balanceOf(t, b, to.ID); got != 250_00 {
			t.Errorf("to balance = %d", got)
		}
		if r.TransferAccountID == nil || *r.TransferAccountID != to.ID || *r.TransferAmount != 250_00 {
			t.Errorf("row = %+v", r)
		}
		leg := must[*Row](t)(b.Transaction(*r.TransferID))
		if *leg.TransferID != r.ID || leg.Amount != 250_00 || *leg.TransferAccountID != from.ID {
			t.Errorf("other leg = %+v", leg)
		}
	})

	t.Run("a transfer between currencies", func(t *testing.T) {
		usd := mustAccount(t, b, "Dollars", "USD", 100_00)
		jpy := mustAccount(t, b, "Yen", "JPY", 0)
		_, err := b.AddTransaction(TxInput{AccountID: usd.ID, Date: "2024-03-03", Amount: -50_00, TransferAccountID: jpy.ID})
		if ve := validation(t, err); !strings.Contains(ve.Fields["transfer_amount"], "JPY") {
			t.Errorf("fields = %v", ve.Fields)
		}
		_, err = b.AddTransaction(TxInput{AccountID: usd.ID, Date: "2024-03-03", Amount: -50_00, TransferAccountID: jpy.ID, TransferAmount: -7400})
		if ve := validation(t, err); ve.Fields["transfer_amount"] == "" {
			t.Errorf("same sign: fields = %v", ve.Fields)
		}
		mustAdd(t, b, TxInput{AccountID: usd.ID, Date: "2024-03-03", Amount: -50_00, TransferAccountID: jpy.ID, TransferAmount: 7400})
		if got := balanceOf(t, b, usd.ID); got != 50_00 {
			t.Errorf("USD balance = %d", got)
		}
		if got := balanceOf(t, b, jpy.ID); got != 7400 {
			t.Errorf("JPY balance = %d", got)
		}
		worth := must[[]money.Total](t)(b.NetWorth())
		for _, w := range worth {
			if w.Code == "JPY" && w.Minor != 7400 {
				t.Errorf("JPY net worth = %d", w.Minor)
			}
		}
		if len(worth) != 3 { // EUR, JPY, USD: never summed across
			t.Errorf("net worth = %+v", worth)
		}
	})
	checkTotals(t, db)
}

func TestTransactionValidation(t *testing.T) {
	db := openTestDB(t)
	b := newBook(t, db, newUser(t, db, "ada"))
	a := mustAccount(t, b, "Checking", "USD", 0)
	c := mustCategory(t, b, "Groceries", "Food")
	for _, tc := range []struct {
		name  string
		in    TxInput
		field string
		want  string
	}{
		{"no account", TxInput{Date: "2024-01-01", Amount: 1}, "account_id", "Choose an account."},
		{"bad date", TxInput{AccountID: a.ID, Date: "2024-02-30", Amount: 1}, "date", "Enter a date like 2024-03-31."},
		{"transfer to itself", TxInput{AccountID: a.ID, Date: "2024-01-01", Amount: 1, TransferAccountID: a.ID}, "transfer_account_id", "Choose another account: a transfer goes between two accounts."},
		{"split transfer", TxInput{AccountID: a.ID, Date: "2024-01-01", Amount: 1, TransferAccountID: a.ID + 1,
			Splits: []SplitInput{{c.ID, 1, ""}, {c.ID, 0, ""}}}, "splits", "A transfer cannot be split."},
		{"parts short", TxInput{AccountID: a.ID, Date: "2024-01-01", Amount: -50_00,
			Splits: []SplitInput{{c.ID, -30_00, ""}, {c.ID, -8_00, ""}}}, "splits", "The parts add up to 12.00 less than the total."},
		{"parts over", TxInput{AccountID: a.ID, Date: "2024-01-01", Amount: 50_00,
			Splits: []SplitInput{{c.ID, 30_00, ""}, {c.ID, 32_00, ""}}}, "splits", "The parts add up to 12.00 more than the total."},
		{"part without category", TxInput{AccountID: a.ID, Date: "2024-01-01", Amount: 2,
			Splits: []SplitInput{{c.ID, 1, ""}, {0, 1, ""}}}, "split_category_id[1]", "Choose a category."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.AddTransaction(tc.in)
			ve := validation(t, err)
			got := ve.Message(tc.field, func(m int64) string { return formatCents(m) })
			if got != tc.want {
				t.Errorf("%s: %q, want %q (all: %v)", tc.field, got, tc.want, ve.Fields)
			}
		})
	}
	var n int64
	noErr(t, db.Table("transactions").Count(&n).Error)
	if n != 0 {
		t.Errorf("%d rows written by refused transactions", n)
	}
}

func formatCents(m int64) string {
	s := []byte{byte('0' + m/100%10)}
	for v := m / 1000; v > 0; v /= 10 {
		s = append([]byte{byte('0' + v%10)}, s...)
	}
	return string(s) + "." + string([]byte{byte('0' + m/10%10), byte('0' + m%10)})
}

func TestEditTransfer(t *testing.T) {
	db := openTestDB(t)
	b := newBook(t, db, newUser(t, db, "ada"))
	x := mustAccount(t, b, "X", "USD", 0)
	y := mustAccount(t, b, "Y", "USD", 0)
	z := mustAccount(t, b, "Z", "USD", 0)
	c := mustCategory(t, b, "Rent", "Housing")
	r := mustAdd(t, b, TxInput{AccountID: x.ID, Date: "2024-01-05", Amount: -10_00, TransferAccountID: y.ID})
	legID := *r.TransferID

	// Edit the other leg: both change.
	must[*Row](t)(b.UpdateTransaction(legID, TxInput{AccountID: y.ID, Date: "2024-01-06", Payee: "Move", Amount: 15_00, TransferAccountID: x.ID}))
	first := must[*Row](t)(b.Transaction(r.ID))
	if first.Amount != -15_00 || first.Date != "2024-01-06" || first.Payee != "Move" {
		t.Errorf("first leg after editing the second = %+v", first)
	}
	// Move the other leg to Z.
	must[*Row](t)(b.UpdateTransaction(r.ID, TxInput{AccountID: x.ID, Date: "2024-01-06", Amount: -15_00, TransferAccountID: z.ID}))
	if balanceOf(t, b, y.ID) != 0 || balanceOf(t, b, z.ID) != 15_00 {
		t.Errorf("balances Y %d Z %d", balanceOf(t, b, y.ID), balanceOf(t, b, z.ID))
	}
	// Unmake the transfer: the other leg goes.
	must[*Row](t)(b.UpdateTransaction(r.ID, TxInput{AccountID: x.ID, Date: "2024-01-06", Amount: -15_00, CategoryID: c.ID}))
	if _, err := b.Transaction(legID); !isNotFound(err) {
		t.Errorf("old leg: err = %v", err)
	}
	if balanceOf(t, b, z.ID) != 0 {
		t.Errorf("Z balance = %d", balanceOf(t, b, z.ID))
	}
	// Make it a split, then a plain row again.
	c2 := mustCategory(t, b, "Fun", "Fun")
	row := must[*Row](t)(b.UpdateTransaction(r.ID, TxInput{AccountID: y.ID, Date: "2024-02-01", Amount: -15_00,
		Splits: []SplitInput{{c.ID, -5_00, ""}, {c2.ID, -10_00, ""}}}))
	if len(row.Splits) != 2 || row.AccountID != y.ID {
		t.Errorf("split row = %+v", row)
	}
	row = must[*Row](t)(b.UpdateTransaction(r.ID, TxInput{AccountID: y.ID, Date: "2024-02-01", Amount: -15_00,
		Splits: []SplitInput{{c.ID, -14_00, ""}, {c2.ID, -1_00, ""}}}))
	var parts int64
	noErr(t, db.Table("transactions").Where("parent_id = ?", r.ID).Count(&parts).Error)
	if parts != 2 || row.Splits[0].Amount != -14_00 {
		t.Errorf("parts = %d, row = %+v", parts, row)
	}
	must[*Row](t)(b.UpdateTransaction(r.ID, TxInput{AccountID: y.ID, Date: "2024-02-01", Amount: -15_00, CategoryID: c.ID}))
	noErr(t, db.Table("transactions").Where("parent_id = ?", r.ID).Count(&parts).Error)
	if parts != 0 {
		t.Errorf("parts left = %d", parts)
	}
	if _, err := b.UpdateTransaction(row.Splits[0].ID, TxInput{AccountID: y.ID, Date: "2024-02-01", Amount: 1}); !isNotFound(err) {
		t.Errorf("editing a part: err = %v", err)
	}
	checkTotals(t, db)
}

func TestDeleteAndUndo(t *testing.T) {
	db := openTestDB(t)
	b := newBook(t, db, newUser(t, db, "ada"))
	clock := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	b.now = func() time.Time { return clock }
	x := mustAccount(t, b, "X", "USD", 100_00)
	y := mustAccount(t, b, "Y", "USD", 0)
	c := mustCategory(t, b, "Rent", "Housing")
	tr := mustAdd(t, b, TxInput{AccountID: x.ID, Date: "2024-01-05", Amount: -10_00, TransferAccountID: y.ID})
	sp := mustAdd(t, b, TxInput{AccountID: x.ID, Date: "2024-01-06", Amount: -3_00, Splits: []SplitInput{{c.ID, -1_00, ""}, {c.ID, -2_00, ""}}})

	noErr(t, b.DeleteTransaction(tr.ID))
	noErr(t, b.DeleteTransaction(sp.ID))
	if balanceOf(t, b, x.ID) != 100_00 || balanceOf(t, b, y.ID) != 0 {
		t.Errorf("after delete: X %d Y %d", balanceOf(t, b, x.ID), balanceOf(t, b, y.ID))
	}
	if _, err := b.Transaction(*tr.TransferID); !isNotFound(err) {
		t.Errorf("other leg still there: %v", err)
	}
	var left int64
	noErr(t, db.Table("transactions").Where("user_id = ? AND NOT is_opening", b.userID).Count(&left).Error)
	if left != 0 {
		t.Errorf("%d rows left", left)
	}
	checkTotals(t, db)

	clock = clock.Add(time.Minute)
	noErr(t, b.UndoDelete(*tr.TransferID)) // either leg names the delete
	noErr(t, b.UndoDelete(sp.ID))
	back := must[*Row](t)(b.Transaction(tr.ID))
	if *back.TransferID != *tr.TransferID || balanceOf(t, b, y.ID) != 10_00 || balanceOf(t, b, x.ID) != 87_00 {
		t.Errorf("after undo: %+v, X %d Y %d", back, balanceOf(t, b, x.ID), balanceOf(t, b, y.ID))
	}
	if s := must[*Row](t)(b.Transaction(sp.ID)); len(s.Splits) != 2 {
		t.Errorf("split after undo = %+v", s)
	}
	checkTotals(t, db)

	t.Run("too late", func(t *testing.T) {
		noErr(t, b.DeleteTransaction(sp.ID))
		clock = clock.Add(UndoWindow + time.Second)
		if err := b.UndoDelete(sp.ID); !errors.Is(err, ErrUndoExpired) {
			t.Errorf("err = %v, want ErrUndoExpired", err)
		}
		noErr(t, b.DeleteTransaction(tr.ID)) // purges the expired rows
		if err := b.UndoDelete(sp.ID); !isNotFound(err) {
			t.Errorf("after purge: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("the other account went meanwhile", func(t *testing.T) {
		noErr(t, b.DeleteAccount(y.ID, true))
		noErr(t, b.UndoDelete(tr.ID))
		back := must[*Row](t)(b.Transaction(tr.ID))
		if back.TransferID != nil || balanceOf(t, b, x.ID) != 90_00 {
			t.Errorf("restored leg = %+v, X %d", back, balanceOf(t, b, x.ID))
		}
	})
	checkTotals(t, db)
}
