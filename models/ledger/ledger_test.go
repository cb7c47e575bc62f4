package ledger

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"tally/models"
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

func TestDeleteAccount(t *testing.T) {
	db := openTestDB(t)
	b := newBook(t, db, newUser(t, db, "ada"))
	x := mustAccount(t, b, "X", "USD", 0)
	y := mustAccount(t, b, "Y", "USD", 0)
	empty := mustAccount(t, b, "Empty", "USD", 0)
	mustAdd(t, b, TxInput{AccountID: x.ID, Date: "2024-01-05", Amount: -10_00, TransferAccountID: y.ID})

	noErr(t, b.DeleteAccount(empty.ID, false))
	if err := b.DeleteAccount(x.ID, false); !errors.Is(err, ErrAccountNotEmpty) {
		t.Fatalf("err = %v, want ErrAccountNotEmpty", err)
	}
	noErr(t, b.DeleteAccount(x.ID, true))
	if _, err := b.Account(x.ID); !isNotFound(err) {
		t.Errorf("account still there: %v", err)
	}
	rows := must[*Page](t)(b.Register(y.ID, "", 10)).Rows
	if len(rows) != 1 || rows[0].TransferID != nil || balanceOf(t, b, y.ID) != 10_00 {
		t.Errorf("the other account: %+v", rows)
	}
	checkTotals(t, db)
}

func TestAccounts(t *testing.T) {
	db := openTestDB(t)
	b := newBook(t, db, newUser(t, db, "ada"))
	a := mustAccount(t, b, "Savings", "EUR", 5)
	if _, err := b.CreateAccount(AccountInput{Name: "SAVINGS", Kind: KindCash, Currency: "EUR"}); validation(t, err).Fields["name"] == "" {
		t.Error("duplicate name accepted")
	}
	_, err := b.CreateAccount(AccountInput{Name: " ", Kind: "piggy", Currency: "XYZ"})
	if f := validation(t, err).Fields; f["name"] == "" || f["kind"] == "" || f["currency"] == "" {
		t.Errorf("fields = %v", f)
	}
	mustAccount(t, b, "Wallet", "EUR", 0)
	upd := must[*Account](t)(b.UpdateAccount(a.ID, AccountEdit{Name: "Rainy day", Kind: KindSavings}))
	if upd.Name != "Rainy day" || upd.Balance != 5 {
		t.Errorf("updated = %+v", upd)
	}
	if _, err := b.UpdateAccount(a.ID, AccountEdit{Name: "wallet", Kind: KindSavings}); validation(t, err).Fields["name"] == "" {
		t.Error("rename onto another account's name accepted")
	}
	noErr(t, b.CloseAccount(a.ID))
	if open := must[[]Account](t)(b.Accounts(false)); len(open) != 1 || open[0].Name != "Wallet" {
		t.Errorf("open accounts = %+v", open)
	}
	all := must[[]Account](t)(b.Accounts(true))
	if len(all) != 2 || all[1].ID != a.ID || !all[1].Closed {
		t.Errorf("all accounts = %+v", all)
	}
	noErr(t, b.ReopenAccount(a.ID))
	if got := must[*Account](t)(b.Account(a.ID)); got.Closed {
		t.Error("still closed")
	}
}

func TestCategories(t *testing.T) {
	db := openTestDB(t)
	b := newBook(t, db, newUser(t, db, "ada"))
	noErr(t, b.SeedDefaults())
	noErr(t, b.SeedDefaults())
	cs := must[[]Category](t)(b.Categories())
	want := 0
	for _, g := range DefaultCategories {
		want += len(g.Categories)
	}
	if len(cs) != want || cs[0].Group != "Income" || !cs[0].IsIncome || cs[0].Name != "Salary" {
		t.Fatalf("seeded %d categories (want %d), first %+v", len(cs), want, cs[0])
	}
	byName := map[string]Category{}
	for _, c := range cs {
		byName[c.Name] = c
	}
	groceries, eatingOut, gifts := byName["Groceries"], byName["Eating out"], byName["Gifts"]

	moved := must[*Category](t)(b.UpdateCategory(gifts.ID, CategoryInput{Name: "Presents", Group: "food", Hidden: true}))
	if moved.Group != "Food" || !moved.Hidden || moved.Position != 2 {
		t.Errorf("moved = %+v", moved)
	}
	if _, err := b.CreateCategory(CategoryInput{Name: "presents", Group: "Other"}); validation(t, err).Fields["name"] == "" {
		t.Error("duplicate category accepted")
	}
	noErr(t, b.ReorderCategories([]uint{moved.ID, eatingOut.ID, groceries.ID}))
	cs = must[[]Category](t)(b.Categories())
	var food []string
	for _, c := range cs {
		if c.Group == "Food" {
			food = append(food, c.Name)
		}
	}
	if strings.Join(food, ",") != "Presents,Eating out,Groceries" {
		t.Errorf("food = %v", food)
	}
	groups := must[[]CategoryGroup](t)(b.CategoryGroups())
	noErr(t, b.ReorderGroups([]uint{groups[2].ID, groups[0].ID}))
	noErr(t, b.RenameGroup(groups[2].ID, "Meals"))
	if cs := must[[]Category](t)(b.Categories()); cs[0].Group != "Meals" {
		t.Errorf("first group = %q", cs[0].Group)
	}

	a := mustAccount(t, b, "Cash", "USD", 0)
	plain := mustAdd(t, b, TxInput{AccountID: a.ID, Date: "2024-01-01", Amount: -1, CategoryID: eatingOut.ID})
	split := mustAdd(t, b, TxInput{AccountID: a.ID, Date: "2024-01-02", Amount: -3, Splits: []SplitInput{{eatingOut.ID, -1, ""}, {groceries.ID, -2, ""}}})

	err := b.DeleteCategory(eatingOut.ID, 0)
	if msg := validation(t, err).Fields["target_category_id"]; msg != "Choose a category for its 2 transactions." {
		t.Errorf("message = %q", msg)
	}
	if err := b.DeleteCategory(eatingOut.ID, eatingOut.ID); validation(t, err).Fields["target_category_id"] == "" {
		t.Error("target = itself accepted")
	}
	noErr(t, b.DeleteCategory(eatingOut.ID, groceries.ID))
	if r := must[*Row](t)(b.Transaction(plain.ID)); *r.CategoryID != groceries.ID {
		t.Errorf("plain row's category = %d", *r.CategoryID)
	}
	if r := must[*Row](t)(b.Transaction(split.ID)); r.Splits[0].CategoryID != groceries.ID {
		t.Errorf("split part's category = %d", r.Splits[0].CategoryID)
	}
	noErr(t, b.DeleteCategory(byName["Holidays"].ID, 0)) // unused: no target needed
	noErr(t, b.DeleteCategory(byName["Entertainment"].ID, 0))
	for _, g := range must[[]CategoryGroup](t)(b.CategoryGroups()) {
		if g.Name == "Fun" {
			t.Error("the emptied group Fun is still there")
		}
	}
}

func TestSuggestions(t *testing.T) {
	db := openTestDB(t)
	b := newBook(t, db, newUser(t, db, "ada"))
	a := mustAccount(t, b, "Cash", "USD", 0)
	food := mustCategory(t, b, "Food", "Food")
	fun := mustCategory(t, b, "Fun", "Fun")
	for i, p := range []string{"Bakery", "bakery", "Bank", "Bar 100%", "Bar 1000", "Bakery"} {
		c := food.ID
		if i == 5 {
			c = fun.ID
		}
		mustAdd(t, b, TxInput{AccountID: a.ID, Date: "2024-01-0" + string(rune('1'+i)), Payee: p, Amount: -1, CategoryID: c})
	}
	if got := must[[]string](t)(b.Payees("ba", 10)); strings.Join(got, ",") != "Bakery,Bar 1000,Bar 100%,Bank" {
		t.Errorf("payees(ba) = %v", got)
	}
	if got := must[[]string](t)(b.Payees("bar 100%", 10)); strings.Join(got, ",") != "Bar 100%" {
		t.Errorf("payees(bar 100%%) = %v", got)
	}
	if got := must[[]string](t)(b.Payees("", 1)); strings.Join(got, ",") != "Bakery" {
		t.Errorf("payees() = %v", got)
	}
	if got := must[uint](t)(b.CategoryForPayee("BAKERY")); got != fun.ID {
		t.Errorf("category for bakery = %d, want %d", got, fun.ID)
	}
	if got := must[uint](t)(b.CategoryForPayee("nobody")); got != 0 {
		t.Errorf("category for nobody = %d", got)
	}
}

func TestFilters(t *testing.T) {
	db := openTestDB(t)
	b := newBook(t, db, newUser(t, db, "ada"))
	x := mustAccount(t, b, "X", "USD", 0)
	y := mustAccount(t, b, "Y", "USD", 0)
	food := mustCategory(t, b, "Food", "Food")
	fun := mustCategory(t, b, "Fun", "Fun")
	r1 := mustAdd(t, b, TxInput{AccountID: x.ID, Date: "2024-01-01", Payee: "Shop", Memo: "50% off", Amount: -10, CategoryID: food.ID})
	r2 := mustAdd(t, b, TxInput{AccountID: x.ID, Date: "2024-01-02", Payee: "Market", Amount: -30,
		Splits: []SplitInput{{food.ID, -10, "bread"}, {fun.ID, -15, ""}, {food.ID, -5, "cheese"}}})
	r3 := mustAdd(t, b, TxInput{AccountID: y.ID, Date: "2024-01-03", Payee: "Cinema", Amount: -20, CategoryID: fun.ID})
	r4 := mustAdd(t, b, TxInput{AccountID: x.ID, Date: "2024-01-04", Amount: -100, TransferAccountID: y.ID})
	leg := *r4.TransferID
	ids := func(p *Page) string {
		var s []string
		for _, r := range p.Rows {
			s = append(s, itoa(r.ID))
		}
		return strings.Join(s, ",")
	}
	for _, tc := range []struct {
		name string
		f    Filter
		want []uint
	}{
		{"all", Filter{}, []uint{leg, r4.ID, r3.ID, r2.ID, r1.ID}},
		{"account", Filter{AccountID: x.ID}, []uint{r4.ID, r2.ID, r1.ID}},
		{"category matches a part once", Filter{CategoryID: food.ID}, []uint{r2.ID, r1.ID}},
		{"category and account", Filter{CategoryID: fun.ID, AccountID: y.ID}, []uint{r3.ID}},
		{"dates", Filter{From: "2024-01-02", To: "2024-01-03"}, []uint{r3.ID, r2.ID}},
		{"text ignores case", Filter{Text: "CINEMA"}, []uint{r3.ID}},
		{"text is literal", Filter{Text: "0%"}, []uint{r1.ID}},
		{"text underscore is literal", Filter{Text: "_"}, nil},
		{"category and part memo", Filter{CategoryID: food.ID, Text: "cheese"}, []uint{r2.ID}},
		{"amount range", Filter{MinAmount: ptr[int64](-25), MaxAmount: ptr[int64](-10)}, []uint{r3.ID, r1.ID}},
		{"category and part amount", Filter{CategoryID: fun.ID, MaxAmount: ptr[int64](-15), MinAmount: ptr[int64](-15)}, []uint{r2.ID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := must[*Page](t)(b.Transactions(tc.f, "", 10))
			var want []string
			for _, id := range tc.want {
				want = append(want, itoa(id))
			}
			if got := ids(p); got != strings.Join(want, ",") {
				t.Errorf("ids = %s, want %s", got, strings.Join(want, ","))
			}
		})
	}
	if _, err := b.Transactions(Filter{From: "yesterday"}, "", 10); validation(t, err).Fields["from"] == "" {
		t.Error("bad date accepted")
	}
	if _, err := b.Transactions(Filter{}, "garbage", 10); !errors.Is(err, ErrBadCursor) {
		t.Errorf("bad cursor: err = %v", err)
	}
	if recent := must[[]Row](t)(b.Recent(2)); len(recent) != 2 || recent[0].ID != leg {
		t.Errorf("recent = %+v", recent)
	}
}

func itoa(id uint) string {
	if id == 0 {
		return "0"
	}
	var s []byte
	for ; id > 0; id /= 10 {
		s = append([]byte{byte('0' + id%10)}, s...)
	}
	return string(s)
}

func TestExportAndCascade(t *testing.T) {
	db := openTestDB(t)
	uid := newUser(t, db, "ada")
	other := newBook(t, db, newUser(t, db, "bob"))
	b := newBook(t, db, uid)
	noErr(t, b.SeedDefaults())
	noErr(t, other.SeedDefaults())
	x := mustAccount(t, b, "X", "USD", 10)
	y := mustAccount(t, b, "Y", "USD", 0)
	mustAccount(t, other, "Bob's", "USD", 10)
	cs := must[[]Category](t)(b.Categories())
	mustAdd(t, b, TxInput{AccountID: x.ID, Date: "2024-01-04", Amount: -100, TransferAccountID: y.ID})
	mustAdd(t, b, TxInput{AccountID: x.ID, Date: "2024-01-04", Amount: -3, Splits: []SplitInput{{cs[0].ID, -1, ""}, {cs[1].ID, -2, ""}}})
	d := mustAdd(t, b, TxInput{AccountID: x.ID, Date: "2024-01-05", Amount: -3})
	noErr(t, b.DeleteTransaction(d.ID))

	e := must[*Export](t)(b.ExportAll())
	if len(e.Accounts) != 2 || len(e.Categories) != len(cs) || len(e.CategoryGroups) != len(DefaultCategories) || len(e.Transactions) != 6 {
		t.Errorf("export: %d accounts, %d categories, %d groups, %d transactions", len(e.Accounts), len(e.Categories), len(e.CategoryGroups), len(e.Transactions))
	}

	// Account deletion deletes the user row; the ledger goes by cascade, nothing of bob's.
	noErr(t, db.Transaction(func(tx *gorm.DB) error { return models.DeleteAccount(tx, uid) }))
	for _, table := range []string{"accounts", "category_groups", "categories", "transactions", "account_months", "deleted_transactions"} {
		var mine, bobs int64
		noErr(t, db.Table(table).Where("user_id = ?", uid).Count(&mine).Error)
		noErr(t, db.Table(table).Where("user_id = ?", other.userID).Count(&bobs).Error)
		if mine != 0 || bobs == 0 && table != "deleted_transactions" {
			t.Errorf("%s: %d rows of the deleted user, %d of the other", table, mine, bobs)
		}
	}
}

// TestTextSearch checks that both ways of a text search (from the trigram index, or walking the
// history by date) list the same rows, and that the index follows edits, deletes and undos.
func TestTextSearch(t *testing.T) {
	db := openTestDB(t)
	b := newBook(t, db, newUser(t, db, "ada"))
	other := newBook(t, db, newUser(t, db, "bob"))
	a := mustAccount(t, b, "Cash", "USD", 0)
	y := mustAccount(t, b, "Other", "USD", 0)
	c := mustCategory(t, b, "Food", "Food")
	theirs := mustAccount(t, other, "Bob's", "USD", 0)
	payees := []string{"Bakery Müller", "bakery", "Butcher", `Say "hi"`, "100% juice", "Café"}
	for i := 0; i < 130; i++ {
		in := TxInput{AccountID: a.ID, Date: fmt.Sprintf("2024-%02d-%02d", 1+i%12, 1+i%28), Payee: payees[i%len(payees)],
			Memo: fmt.Sprintf("memo %d", i), Amount: int64(-i)}
		switch i % 9 {
		case 4:
			in.Splits = []SplitInput{{c.ID, int64(-i) + 1, "bakery part"}, {c.ID, -1, ""}}
		case 5:
			in.TransferAccountID = y.ID
		}
		mustAdd(t, b, in)
		mustAdd(t, other, TxInput{AccountID: theirs.ID, Date: "2024-01-01", Payee: "Bakery", Amount: -1})
	}
	list := func(f Filter, byText bool) []uint {
		var ids []uint
		var c *cursor
		for {
			p, _, err := b.page(b.listQuery(f, c, 40, byText), 40, false)
			noErr(t, err)
			for _, r := range p.Rows {
				ids = append(ids, r.ID)
			}
			if p.Next == "" {
				return ids
			}
			c = must[*cursor](t)(parseCursor(p.Next))
		}
	}
	min := int64(-60)
	for _, f := range []Filter{{Text: "bakery"}, {Text: "BAKERY m"}, {Text: `"hi"`}, {Text: "0% j"}, {Text: "memo 1"},
		{Text: "bakery", AccountID: a.ID, From: "2024-03-01", MinAmount: &min}, {Text: "café"}, {Text: "nothing"}} {
		scan, index := list(f, false), list(f, true)
		if fmt.Sprint(scan) != fmt.Sprint(index) {
			t.Errorf("%+v: by date %v, by index %v", f, scan, index)
		}
		var want int
		noErr(t, db.Raw(`SELECT COUNT(*) FROM transactions WHERE user_id = ? AND parent_id IS NULL
			AND (payee LIKE ? ESCAPE '\' OR memo LIKE ? ESCAPE '\')`, b.userID, "%"+escapeLike(f.Text)+"%", "%"+escapeLike(f.Text)+"%").Scan(&want).Error)
		if f.AccountID == 0 && len(scan) != want {
			t.Errorf("%q: %d rows, want %d", f.Text, len(scan), want)
		}
	}

	r := mustAdd(t, b, TxInput{AccountID: a.ID, Date: "2024-06-01", Payee: "Zeppelin", Amount: -1})
	search := func(text string) int {
		p := must[*Page](t)(b.Transactions(Filter{Text: text}, "", 50))
		return len(p.Rows)
	}
	must[*Row](t)(b.UpdateTransaction(r.ID, TxInput{AccountID: a.ID, Date: "2024-06-01", Payee: "Airship", Amount: -1}))
	if search("zeppelin") != 0 || search("airship") != 1 {
		t.Errorf("after edit: zeppelin %d, airship %d", search("zeppelin"), search("airship"))
	}
	noErr(t, b.DeleteTransaction(r.ID))
	if search("airship") != 0 {
		t.Error("deleted row found")
	}
	noErr(t, b.UndoDelete(r.ID))
	if search("airship") != 1 {
		t.Error("restored row not found")
	}
}
