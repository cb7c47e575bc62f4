package handlers

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"tally/models/ledger"
)

// TestExportLedger: the account export holds the whole ledger, every amount as integer minor
// units and as a decimal in its account's currency, and nothing of another user's.
func TestExportLedger(t *testing.T) {
	ta := newTestApp(t)
	ada, c := ta.signedInAda()
	bob := ta.createUser("bob", "bob@example.com", goodPassword)
	b := ledgerBook(t, ta, ada.ID)
	l := newSampleLedger(t, b)
	if err := b.CloseAccount(l.kwd.ID); err != nil {
		t.Fatal(err)
	}
	bb := ledgerBook(t, ta, bob.ID)
	seedTx(t, bb, ledger.TxInput{AccountID: seedAccount(t, bb, "Zyxwv", "USD", 0).ID, Date: "2024-03-06", Payee: "Qjxkz", Amount: -1,
		CategoryID: seedCategory(t, bb, "Vbnmq", "Wqpzx").ID})

	if err := b.SetBudget("2024-03", l.food.ID, "USD", 25050); err != nil {
		t.Fatal(err)
	}
	c.get("/account/export")
	res := c.post("/account/export", url.Values{"password": {goodPassword}})
	wantStatus(t, res, http.StatusOK)
	decodeIntegerJSON(t, res.body) // integers only
	for _, bobs := range []string{"Zyxwv", "Qjxkz", "Vbnmq", "Wqpzx"} {
		if strings.Contains(res.body, bobs) {
			t.Errorf("the export holds bob's %s", bobs)
		}
	}
	type account struct {
		ID           uint   `json:"id"`
		Name         string `json:"name"`
		Currency     string `json:"currency"`
		Closed       bool   `json:"closed"`
		Balance      string `json:"balance"`
		BalanceMinor int64  `json:"balance_minor"`
	}
	type transaction struct {
		ID          uint    `json:"id"`
		AccountID   uint    `json:"account_id"`
		Payee       string  `json:"payee"`
		Memo        string  `json:"memo"`
		Amount      string  `json:"amount"`
		AmountMinor int64   `json:"amount_minor"`
		CategoryID  *uint   `json:"category_id"`
		TransferID  *uint   `json:"transfer_id"`
		ParentID    *uint   `json:"parent_id"`
		IsSplit     bool    `json:"is_split"`
		IsOpening   bool    `json:"is_opening"`
		ExternalID  *string `json:"external_id"`
	}
	var x struct {
		Finance struct {
			Ledger struct {
				Accounts       []account `json:"accounts"`
				CategoryGroups []struct {
					Name string `json:"name"`
				} `json:"category_groups"`
				Categories []struct {
					ID    uint   `json:"id"`
					Name  string `json:"name"`
					Group string `json:"group"`
				} `json:"categories"`
				Transactions []transaction `json:"transactions"`
				Budgets      []struct {
					Month       string `json:"month"`
					CategoryID  uint   `json:"category_id"`
					Currency    string `json:"currency"`
					Amount      string `json:"amount"`
					AmountMinor int64  `json:"amount_minor"`
				} `json:"budgets"`
			} `json:"ledger"`
		} `json:"finance"`
	}
	if err := json.Unmarshal([]byte(res.body), &x); err != nil {
		t.Fatal(err)
	}
	lx := x.Finance.Ledger

	wantAccounts := []account{
		{l.usd.ID, "Checking", "USD", false, "837.66", 83766}, // 1000.00 - 12.34 - 50.00 - 100.00
		{l.eur.ID, "Euro", "EUR", false, "90.00", 9000},
		{l.jpy.ID, "Yen", "JPY", false, "-1234", -1234},
		{l.kwd.ID, "Dinar", "KWD", true, "1.234", 1234},
	}
	if !reflect.DeepEqual(lx.Accounts, wantAccounts) {
		t.Errorf("accounts = %+v, want %+v", lx.Accounts, wantAccounts)
	}
	if len(lx.Budgets) != 1 || lx.Budgets[0].Month != "2024-03" || lx.Budgets[0].CategoryID != l.food.ID ||
		lx.Budgets[0].Amount != "250.50" || lx.Budgets[0].AmountMinor != 25050 {
		t.Errorf("budgets = %+v", lx.Budgets)
	}
	if len(lx.CategoryGroups) != 3 || len(lx.Categories) != 3 || lx.Categories[0].Name != "Groceries" || lx.Categories[0].Group != "Food" {
		t.Errorf("categories = %+v, groups = %+v", lx.Categories, lx.CategoryGroups)
	}

	var stored int64
	ta.db.Table("transactions").Where("user_id = ?", ada.ID).Count(&stored)
	if int64(len(lx.Transactions)) != stored || stored != 9 { // the 7 rows lists show and 2 split parts
		t.Fatalf("%d transactions exported, %d stored", len(lx.Transactions), stored)
	}
	byID := map[uint]transaction{}
	for _, tx := range lx.Transactions {
		byID[tx.ID] = tx
	}
	if o := lx.Transactions[0]; !o.IsOpening || o.Amount != "1000.00" || o.AmountMinor != 100000 {
		t.Errorf("opening balance = %+v", o)
	}
	if g := byID[l.groceries.ID]; g.Amount != "-12.34" || g.AmountMinor != -1234 || g.Memo != "milk" || g.CategoryID == nil || *g.CategoryID != l.food.ID {
		t.Errorf("groceries = %+v", g)
	}
	if s := byID[l.split.ID]; !s.IsSplit || s.Amount != "-50.00" || s.CategoryID != nil {
		t.Errorf("split = %+v", s)
	}
	parts := 0
	for _, tx := range lx.Transactions {
		if tx.ParentID != nil && *tx.ParentID == l.split.ID {
			parts++
			if tx.Amount != "-30.00" && tx.Amount != "-20.00" {
				t.Errorf("split part = %+v", tx)
			}
		}
	}
	if parts != 2 {
		t.Errorf("%d split parts exported", parts)
	}
	leg, other := byID[l.leg.ID], byID[*l.leg.TransferID]
	if leg.TransferID == nil || *leg.TransferID != other.ID || other.TransferID == nil || *other.TransferID != leg.ID ||
		leg.Amount != "-100.00" || other.Amount != "90.00" || other.AccountID != l.eur.ID {
		t.Errorf("transfer legs = %+v, %+v", leg, other)
	}
	if y := byID[l.yen.ID]; y.Amount != "-1234" || y.AmountMinor != -1234 {
		t.Errorf("yen row = %+v", y)
	}
}

// TestExportEmptyLedger: someone who never used the ledger gets its sections as empty lists.
func TestExportEmptyLedger(t *testing.T) {
	ta := newTestApp(t)
	_, c := ta.signedInAda()
	c.get("/account/export")
	res := c.post("/account/export", url.Values{"password": {goodPassword}})
	wantStatus(t, res, http.StatusOK)
	v := decodeIntegerJSON(t, res.body).(map[string]any)
	got := v["finance"].(map[string]any)["ledger"]
	want := map[string]any{"accounts": []any{}, "category_groups": []any{}, "categories": []any{}, "transactions": []any{},
		"budgets": []any{}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ledger = %v, want %v", got, want)
	}
}

// TestDeleteAccountDeletesLedger: deleting the account through the page removes every ledger
// row of the user (by cascade from the user's row, inside the deletion's transaction) and
// none of another user's.
func TestDeleteAccountDeletesLedger(t *testing.T) {
	ta := newTestApp(t)
	ada, c := ta.signedInAda()
	bob := ta.createUser("bob", "bob@example.com", goodPassword)
	b := ledgerBook(t, ta, ada.ID)
	l := newSampleLedger(t, b)
	// A deleted row waiting for its undo is ledger data too.
	if err := b.DeleteTransaction(l.yen.ID); err != nil {
		t.Fatal(err)
	}
	bb := ledgerBook(t, ta, bob.ID)
	bobAccount := seedAccount(t, bb, "Bob's", "USD", 500)
	seedTx(t, bb, ledger.TxInput{AccountID: bobAccount.ID, Date: "2024-03-06", Payee: "Shop", Amount: -1,
		CategoryID: seedCategory(t, bb, "Food", "Food").ID})
	rows := func(userID uint) map[string]int64 {
		counts := map[string]int64{}
		for _, table := range []string{"accounts", "category_groups", "categories", "transactions", "account_months", "deleted_transactions"} {
			var n int64
			if err := ta.db.Table(table).Where("user_id = ?", userID).Count(&n).Error; err != nil {
				t.Fatal(err)
			}
			counts[table] = n
		}
		return counts
	}
	for table, n := range rows(ada.ID) {
		if n == 0 {
			t.Fatalf("nothing in %s to delete: the test would prove nothing", table)
		}
	}
	bobBefore := rows(bob.ID)

	c.get("/account/delete")
	wantStatus(t, c.post("/account/delete", url.Values{"password": {goodPassword}}), http.StatusSeeOther)
	for table, n := range rows(ada.ID) {
		if n != 0 {
			t.Errorf("%d of ada's rows left in %s", n, table)
		}
	}
	if bobAfter := rows(bob.ID); !reflect.DeepEqual(bobAfter, bobBefore) {
		t.Errorf("bob's ledger changed: %v, was %v", bobAfter, bobBefore)
	}
	bobBalance, err := bb.Account(bobAccount.ID)
	if err != nil || bobBalance.Balance != 499 {
		t.Errorf("bob's account after ada left: %+v, %v", bobBalance, err)
	}
}
