package ledger

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"gorm.io/gorm"

	"tally/money"
)

// ledgerFixture is one user's full ledger: accounts in two currencies, the default categories,
// a plain row, a transfer, a split and a deleted row waiting for an undo.
type ledgerFixture struct {
	book                        *Book
	checking, savings, euro     uint
	category, group             uint
	plain, transfer, leg, split uint
	part, deleted               uint
	payee                       string
}

func newFixture(t *testing.T, db *gorm.DB, name string) *ledgerFixture {
	t.Helper()
	b := newBook(t, db, newUser(t, db, name))
	f := &ledgerFixture{book: b, payee: "Payee of " + name}
	noErr(t, b.SeedDefaults())
	cs := must[[]Category](t)(b.Categories())
	f.category, f.group = cs[2].ID, cs[2].GroupID
	f.checking = mustAccount(t, b, "Checking", "USD", 1000_00).ID
	f.savings = mustAccount(t, b, "Savings", "USD", 0).ID
	f.euro = mustAccount(t, b, "Euro", "EUR", 0).ID
	f.plain = mustAdd(t, b, TxInput{AccountID: f.checking, Date: "2024-02-01", Payee: f.payee, Amount: -5_00, CategoryID: f.category}).ID
	tr := mustAdd(t, b, TxInput{AccountID: f.checking, Date: "2024-02-02", Amount: -100_00, TransferAccountID: f.savings})
	f.transfer, f.leg = tr.ID, *tr.TransferID
	sp := mustAdd(t, b, TxInput{AccountID: f.checking, Date: "2024-02-03", Amount: -3_00,
		Splits: []SplitInput{{cs[3].ID, -1_00, ""}, {cs[4].ID, -2_00, ""}}})
	f.split, f.part = sp.ID, sp.Splits[0].ID
	f.deleted = mustAdd(t, b, TxInput{AccountID: f.euro, Date: "2024-02-04", Amount: -1}).ID
	noErr(t, b.DeleteTransaction(f.deleted))
	return f
}

// snapshot is every ledger row of a user, as text.
func snapshot(t *testing.T, db *gorm.DB, userID uint) string {
	t.Helper()
	var out strings.Builder
	for _, table := range []string{"accounts", "category_groups", "categories", "transactions", "account_months", "deleted_transactions", "payees"} {
		rows, err := db.Raw(`SELECT * FROM `+table+` WHERE user_id = ? ORDER BY 1, 2, 3`, userID).Rows()
		noErr(t, err)
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			noErr(t, rows.Scan(ptrs...))
			fmt.Fprintln(&out, table, vals)
		}
		noErr(t, rows.Err())
		rows.Close()
	}
	return out.String()
}

// tenancyCase calls a Book method as user A, naming user B's ids wherever the method takes an
// id, and checks the answer. refused cases must change nothing of A's either.
type tenancyCase struct {
	refused bool
	call    func(t *testing.T, a, b *ledgerFixture)
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !isNotFound(err) {
		t.Errorf("%s: err = %v, want ErrNotFound", what, err)
	}
}

// noneOf fails when any of B's ids appears among ids.
func noneOf(t *testing.T, what string, ids []uint, b ...uint) {
	t.Helper()
	for _, id := range ids {
		for _, theirs := range b {
			if id == theirs {
				t.Errorf("%s shows the other user's id %d", what, id)
			}
		}
	}
}

func accountIDs(as []Account) []uint {
	ids := make([]uint, len(as))
	for i, a := range as {
		ids[i] = a.ID
	}
	return ids
}

func rowIDs(rs []Row) []uint {
	var ids []uint
	for _, r := range rs {
		ids = append(ids, r.ID)
		for _, s := range r.Splits {
			ids = append(ids, s.ID)
		}
	}
	return ids
}

func (f *ledgerFixture) txInput() TxInput {
	return TxInput{AccountID: f.checking, Date: "2024-03-01", Amount: -1}
}

var tenancyCases = map[string]tenancyCase{
	"Account": {true, func(t *testing.T, a, b *ledgerFixture) {
		_, err := a.book.Account(b.checking)
		wantNotFound(t, "Account", err)
	}},
	"Accounts": {true, func(t *testing.T, a, b *ledgerFixture) {
		as := must[[]Account](t)(a.book.Accounts(true))
		if len(as) != 3 {
			t.Errorf("%d accounts", len(as))
		}
		noneOf(t, "Accounts", accountIDs(as), b.checking, b.savings, b.euro)
	}},
	"AddTransaction": {true, func(t *testing.T, a, b *ledgerFixture) {
		for name, in := range map[string]TxInput{
			"their account":           {AccountID: b.checking, Date: "2024-03-01", Amount: -1},
			"their category":          {AccountID: a.checking, Date: "2024-03-01", Amount: -1, CategoryID: b.category},
			"their transfer account":  {AccountID: a.checking, Date: "2024-03-01", Amount: -1, TransferAccountID: b.savings},
			"their category in parts": {AccountID: a.checking, Date: "2024-03-01", Amount: -2, Splits: []SplitInput{{a.category, -1, ""}, {b.category, -1, ""}}},
		} {
			_, err := a.book.AddTransaction(in)
			wantNotFound(t, "AddTransaction with "+name, err)
		}
	}},
	"Categories": {true, func(t *testing.T, a, b *ledgerFixture) {
		for _, c := range must[[]Category](t)(a.book.Categories()) {
			noneOf(t, "Categories", []uint{c.ID}, b.category)
			noneOf(t, "Categories' groups", []uint{c.GroupID}, b.group)
		}
	}},
	"Category": {true, func(t *testing.T, a, b *ledgerFixture) {
		_, err := a.book.Category(b.category)
		wantNotFound(t, "Category", err)
	}},
	"CategoryForPayee": {true, func(t *testing.T, a, b *ledgerFixture) {
		if id := must[uint](t)(a.book.CategoryForPayee(b.payee)); id != 0 {
			t.Errorf("CategoryForPayee(their payee) = %d", id)
		}
	}},
	"CategoryGroups": {true, func(t *testing.T, a, b *ledgerFixture) {
		var ids []uint
		for _, g := range must[[]CategoryGroup](t)(a.book.CategoryGroups()) {
			ids = append(ids, g.ID)
		}
		noneOf(t, "CategoryGroups", ids, b.group)
	}},
	"CloseAccount": {true, func(t *testing.T, a, b *ledgerFixture) {
		wantNotFound(t, "CloseAccount", a.book.CloseAccount(b.checking))
	}},
	"CreateAccount": {false, func(t *testing.T, a, b *ledgerFixture) {
		// Names are unique per user: B's name is free for A, and the account is A's.
		acc := must[*Account](t)(a.book.CreateAccount(AccountInput{Name: "Payee of bob", Kind: KindCash, Currency: "USD", OpeningBalance: 1}))
		if acc.UserID != a.book.userID {
			t.Errorf("created for user %d", acc.UserID)
		}
	}},
	"CreateCategory": {false, func(t *testing.T, a, b *ledgerFixture) {
		bc := must[*Category](t)(b.book.Category(b.category))
		c := must[*Category](t)(a.book.CreateCategory(CategoryInput{Name: "Only mine", Group: bc.Group + " too"}))
		noneOf(t, "CreateCategory", []uint{c.GroupID}, b.group)
	}},
	"DeleteAccount": {true, func(t *testing.T, a, b *ledgerFixture) {
		wantNotFound(t, "DeleteAccount", a.book.DeleteAccount(b.checking, true))
	}},
	"DeleteAll": {false, func(t *testing.T, a, b *ledgerFixture) {
		noErr(t, a.book.DeleteAll())
	}},
	"DeleteCategory": {true, func(t *testing.T, a, b *ledgerFixture) {
		wantNotFound(t, "DeleteCategory of theirs", a.book.DeleteCategory(b.category, a.category))
		wantNotFound(t, "DeleteCategory into theirs", a.book.DeleteCategory(a.category, b.category))
	}},
	"DeleteTransaction": {true, func(t *testing.T, a, b *ledgerFixture) {
		for _, id := range []uint{b.plain, b.leg, b.split, b.part} {
			wantNotFound(t, "DeleteTransaction", a.book.DeleteTransaction(id))
		}
		wantNotFound(t, "DeleteTransaction of a part", a.book.DeleteTransaction(a.part))
	}},
	"ExportAll": {true, func(t *testing.T, a, b *ledgerFixture) {
		e := must[*Export](t)(a.book.ExportAll())
		noneOf(t, "ExportAll accounts", accountIDs(e.Accounts), b.checking, b.savings, b.euro)
		var ids []uint
		for _, tx := range e.Transactions {
			ids = append(ids, tx.ID)
		}
		noneOf(t, "ExportAll transactions", ids, b.plain, b.transfer, b.leg, b.split, b.part, b.deleted)
		for _, c := range e.Categories {
			noneOf(t, "ExportAll categories", []uint{c.ID}, b.category)
		}
	}},
	"NetWorth": {true, func(t *testing.T, a, b *ledgerFixture) {
		var want []money.Total
		noErr(t, a.book.db.Raw(`SELECT a.currency AS code, COALESCE(SUM(t.amount), 0) AS minor FROM accounts a
			LEFT JOIN transactions t ON t.account_id = a.id AND `+BalanceRows+`
			WHERE a.user_id = ? GROUP BY a.currency ORDER BY a.currency`, a.book.userID).Scan(&want).Error)
		if got := must[[]money.Total](t)(a.book.NetWorth()); !reflect.DeepEqual(got, want) || len(got) != 2 {
			t.Errorf("NetWorth = %+v, want %+v", got, want)
		}
	}},
	"Payees": {true, func(t *testing.T, a, b *ledgerFixture) {
		if got := must[[]string](t)(a.book.Payees(b.payee, 10)); len(got) != 0 {
			t.Errorf("Payees(their payee) = %v", got)
		}
	}},
	"Recent": {true, func(t *testing.T, a, b *ledgerFixture) {
		noneOf(t, "Recent", rowIDs(must[[]Row](t)(a.book.Recent(50))), b.plain, b.transfer, b.leg, b.split, b.part)
	}},
	"Register": {true, func(t *testing.T, a, b *ledgerFixture) {
		_, err := a.book.Register(b.checking, "", 50)
		wantNotFound(t, "Register", err)
	}},
	"RenameGroup": {true, func(t *testing.T, a, b *ledgerFixture) {
		wantNotFound(t, "RenameGroup", a.book.RenameGroup(b.group, "Mine now"))
	}},
	"ReopenAccount": {true, func(t *testing.T, a, b *ledgerFixture) {
		wantNotFound(t, "ReopenAccount", a.book.ReopenAccount(b.checking))
	}},
	"ReorderCategories": {true, func(t *testing.T, a, b *ledgerFixture) {
		wantNotFound(t, "ReorderCategories", a.book.ReorderCategories([]uint{a.category, b.category}))
	}},
	"ReorderGroups": {true, func(t *testing.T, a, b *ledgerFixture) {
		wantNotFound(t, "ReorderGroups", a.book.ReorderGroups([]uint{a.group, b.group}))
	}},
	"SeedDefaults": {true, func(t *testing.T, a, b *ledgerFixture) {
		noErr(t, a.book.SeedDefaults())
	}},
	"Transaction": {true, func(t *testing.T, a, b *ledgerFixture) {
		for _, id := range []uint{b.plain, b.leg, b.split, b.part, b.deleted} {
			_, err := a.book.Transaction(id)
			wantNotFound(t, "Transaction", err)
		}
	}},
	"Transactions": {true, func(t *testing.T, a, b *ledgerFixture) {
		_, err := a.book.Transactions(Filter{AccountID: b.checking}, "", 50)
		wantNotFound(t, "Transactions of their account", err)
		_, err = a.book.Transactions(Filter{CategoryID: b.category}, "", 50)
		wantNotFound(t, "Transactions of their category", err)
		p := must[*Page](t)(a.book.Transactions(Filter{Text: "Payee of"}, "", 50))
		noneOf(t, "Transactions", rowIDs(p.Rows), b.plain, b.transfer, b.leg, b.split, b.part)
	}},
	"UndoDelete": {true, func(t *testing.T, a, b *ledgerFixture) {
		wantNotFound(t, "UndoDelete", a.book.UndoDelete(b.deleted))
	}},
	"UpdateAccount": {true, func(t *testing.T, a, b *ledgerFixture) {
		_, err := a.book.UpdateAccount(b.checking, AccountEdit{Name: "Mine now", Kind: KindCash})
		wantNotFound(t, "UpdateAccount", err)
	}},
	"UpdateCategory": {true, func(t *testing.T, a, b *ledgerFixture) {
		_, err := a.book.UpdateCategory(b.category, CategoryInput{Name: "Mine now", Group: "Mine"})
		wantNotFound(t, "UpdateCategory", err)
	}},
	"UpdateTransaction": {true, func(t *testing.T, a, b *ledgerFixture) {
		for _, id := range []uint{b.plain, b.leg, b.split, b.part} {
			_, err := a.book.UpdateTransaction(id, a.txInput())
			wantNotFound(t, "UpdateTransaction of theirs", err)
		}
		for name, in := range map[string]TxInput{
			"their account":           {AccountID: b.checking, Date: "2024-03-01", Amount: -1},
			"their category":          {AccountID: a.checking, Date: "2024-03-01", Amount: -1, CategoryID: b.category},
			"their transfer account":  {AccountID: a.checking, Date: "2024-03-01", Amount: -1, TransferAccountID: b.savings},
			"their category in parts": {AccountID: a.checking, Date: "2024-03-01", Amount: -2, Splits: []SplitInput{{a.category, -1, ""}, {b.category, -1, ""}}},
		} {
			for _, id := range []uint{a.plain, a.transfer, a.split} {
				_, err := a.book.UpdateTransaction(id, in)
				wantNotFound(t, fmt.Sprintf("UpdateTransaction(%d) with %s", id, name), err)
			}
		}
	}},
}

// TestTenancy calls every exported method of Book as one user with another user's ids. It
// finds the methods by reflection: a new method without a case fails here.
func TestTenancy(t *testing.T) {
	db := openTestDB(t)
	a := newFixture(t, db, "ada")
	b := newFixture(t, db, "bob")

	bookType := reflect.TypeOf(&Book{})
	var names []string
	for i := 0; i < bookType.NumMethod(); i++ {
		names = append(names, bookType.Method(i).Name)
	}
	for name := range tenancyCases {
		if _, ok := bookType.MethodByName(name); !ok {
			t.Errorf("tenancy case %s names no Book method", name)
		}
	}
	// DeleteAll empties A's ledger: it goes last.
	sort.Slice(names, func(i, j int) bool {
		if (names[i] == "DeleteAll") != (names[j] == "DeleteAll") {
			return names[j] == "DeleteAll"
		}
		return names[i] < names[j]
	})
	for _, name := range names {
		tc, ok := tenancyCases[name]
		if !ok {
			t.Errorf("new Book method %s has no tenancy case", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			theirs, mine := snapshot(t, db, b.book.userID), snapshot(t, db, a.book.userID)
			tc.call(t, a, b)
			if snapshot(t, db, b.book.userID) != theirs {
				t.Errorf("%s as another user changed the other user's ledger", name)
			}
			if tc.refused && snapshot(t, db, a.book.userID) != mine {
				t.Errorf("%s, refused, changed the caller's own ledger", name)
			}
		})
	}
	checkTotals(t, db)
}

// TestSchemaKeepsUsersApart writes through raw SQL, past the book: the composite foreign keys
// refuse a row of one user that points at another user's account, category or transaction.
func TestSchemaKeepsUsersApart(t *testing.T) {
	db := openTestDB(t)
	a := newFixture(t, db, "ada")
	b := newFixture(t, db, "bob")
	insert := `INSERT INTO transactions (user_id, account_id, date, amount, category_id, parent_id, transfer_id, created_at, updated_at)
		VALUES (?, ?, '2024-01-01', 1, ?, ?, ?, '2024-01-01 00:00:00', '2024-01-01 00:00:00')`
	for _, tc := range []struct {
		name                                string
		account, category, parent, transfer any
	}{
		{"their account", b.checking, nil, nil, nil},
		{"their category", a.checking, b.category, nil, nil},
		{"their parent", a.checking, nil, b.split, nil},
		{"their transfer leg", a.checking, nil, nil, b.plain},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := db.Exec(insert, a.book.userID, tc.account, tc.category, tc.parent, tc.transfer).Error
			if err == nil || !strings.Contains(strings.ToLower(err.Error()), "foreign key") {
				t.Errorf("err = %v, want a foreign key failure", err)
			}
		})
	}
	// The same insert with A's own ids passes, so the failures above are the foreign keys'.
	noErr(t, db.Exec(insert, a.book.userID, a.checking, a.category, nil, nil).Error)
	err := db.Exec(`UPDATE transactions SET account_id = ? WHERE id = ?`, b.checking, a.plain).Error
	if err == nil {
		t.Error("moving a row into another user's account passed")
	}
}
