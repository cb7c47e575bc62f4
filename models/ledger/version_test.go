package ledger

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"gorm.io/gorm"

	"tally/models"
)

func init() {
	// A's version is A's: A's write moves it and not B's, and the two then differ.
	tenancyCases["Version"] = tenancyCase{false, func(t *testing.T, a, b *ledgerFixture) {
		mine, theirs := must[int64](t)(a.book.Version()), must[int64](t)(b.book.Version())
		mustAdd(t, a.book, a.txInput())
		now := must[int64](t)(a.book.Version())
		if now <= mine {
			t.Errorf("a write left the version at %d (was %d)", now, mine)
		}
		if got := must[int64](t)(b.book.Version()); got != theirs || got == now {
			t.Errorf("the other user's version is %d, was %d; mine is %d", got, theirs, now)
		}
	}}
}

// TestVersionMovesWithEveryWrite: every kind of write to what a ledger page shows moves the
// writer's version, and only theirs; reads move nothing.
func TestVersionMovesWithEveryWrite(t *testing.T) {
	db, target := openTestTarget(t)
	a := newFixture(t, db, "ada")
	bob := newFixture(t, db, "bob")
	// Another process: a handle of its own on the same database, as the command line has.
	other, err := models.Open(target, slog.New(slog.NewTextHandler(io.Discard, nil)))
	noErr(t, err)
	t.Cleanup(func() { models.Close(other) })

	cs := must[[]Category](t)(a.book.Categories())
	for _, tc := range []struct {
		name  string
		write func(b *Book) error
		moves bool
	}{
		{"reads", func(b *Book) error {
			_, err1 := b.Register(a.checking, "", 50)
			_, err2 := b.Accounts(true)
			_, err3 := b.Transactions(Filter{Text: "Payee"}, "", 50)
			return firstErr(err1, err2, err3)
		}, false},
		{"a refused write", func(b *Book) error {
			_, err := b.AddTransaction(TxInput{AccountID: bob.checking, Date: "2024-03-01", Amount: -1})
			if !isNotFound(err) {
				return err
			}
			return nil
		}, false},
		{"add", func(b *Book) error { _, err := b.AddTransaction(a.txInput()); return err }, true},
		{"edit", func(b *Book) error {
			_, err := b.UpdateTransaction(a.plain, TxInput{AccountID: a.checking, Date: "2024-02-01", Payee: "Edited", Amount: -6_00})
			return err
		}, true},
		{"delete", func(b *Book) error { return b.DeleteTransaction(a.plain) }, true},
		{"undo", func(b *Book) error { return b.UndoDelete(a.plain) }, true},
		{"create account", func(b *Book) error {
			_, err := b.CreateAccount(AccountInput{Name: "Cash", Kind: KindCash, Currency: "USD"})
			return err
		}, true},
		{"rename account", func(b *Book) error {
			_, err := b.UpdateAccount(a.savings, AccountEdit{Name: "Rainy day", Kind: KindSavings})
			return err
		}, true},
		{"close account", func(b *Book) error { return b.CloseAccount(a.savings) }, true},
		{"reopen account", func(b *Book) error { return b.ReopenAccount(a.savings) }, true},
		{"create category", func(b *Book) error {
			_, err := b.CreateCategory(CategoryInput{Name: "Books", Group: "Fun"})
			return err
		}, true},
		{"hide category", func(b *Book) error {
			_, err := b.UpdateCategory(cs[5].ID, CategoryInput{Name: cs[5].Name, Group: cs[5].Group, Hidden: true})
			return err
		}, true},
		{"rename group", func(b *Book) error { return b.RenameGroup(cs[5].GroupID, "Renamed") }, true},
		{"reorder categories", func(b *Book) error {
			return b.ReorderCategories([]uint{cs[1].ID, cs[0].ID})
		}, true},
		{"delete category", func(b *Book) error { return b.DeleteCategory(cs[6].ID, cs[7].ID) }, true},
		{"set budget", func(b *Book) error { return b.SetBudget("2024-02", cs[3].ID, "USD", 100_00) }, true},
		{"remove budget", func(b *Book) error { return b.RemoveBudget("2024-02", cs[3].ID, "USD") }, true},
		{"number format", func(b *Book) error {
			u, err := models.FindUser(db, b.userID)
			if err != nil {
				return err
			}
			return models.UpdateProfile(db, u, models.ProfileChange{NumberFormat: "1.234,56"}, time.Now())
		}, true},
		{"another process", func(b *Book) error {
			return other.Exec(`UPDATE transactions SET memo = 'from the command line' WHERE user_id = ? AND id = ?`,
				b.userID, a.transfer).Error
		}, true},
		{"delete account", func(b *Book) error { return b.DeleteAccount(a.euro, true) }, true},
		{"delete everything", func(b *Book) error { return b.DeleteAll() }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, theirs := must[int64](t)(a.book.Version()), must[int64](t)(bob.book.Version())
			noErr(t, tc.write(a.book))
			after := must[int64](t)(a.book.Version())
			if moved := after != before; moved != tc.moves {
				t.Errorf("version %d, then %d: moved = %v, want %v", before, after, moved, tc.moves)
			}
			if after < before {
				t.Errorf("version went back from %d to %d", before, after)
			}
			if got := must[int64](t)(bob.book.Version()); got != theirs {
				t.Errorf("the other user's version moved from %d to %d", theirs, got)
			}
		})
	}
}

// TestVersionGoesWithItsUser: deleting a user (which cascades through their ledger, each row's
// trigger firing) succeeds and leaves no counter behind; a new user starts from zero.
func TestVersionGoesWithItsUser(t *testing.T) {
	db := openTestDB(t)
	a := newFixture(t, db, "ada")
	if v := must[int64](t)(a.book.Version()); v == 0 {
		t.Fatal("a user with a ledger is at version 0")
	}
	noErr(t, models.Transaction(db, func(tx *gorm.DB) error { return models.DeleteAccount(tx, a.book.userID) }))
	var n int64
	noErr(t, db.Raw(`SELECT COUNT(*) FROM ledger_versions WHERE user_id = ?`, a.book.userID).Scan(&n).Error)
	if n != 0 {
		t.Errorf("%d counters left for a deleted user", n)
	}
	fresh := newBook(t, db, newUser(t, db, "eve"))
	if v := must[int64](t)(fresh.Version()); v != 0 {
		t.Errorf("a new user is at version %d", v)
	}
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
