package ledger

import (
	"errors"
	"testing"

	"gorm.io/gorm"

	"tally/models"
)

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
