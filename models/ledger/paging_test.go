package ledger

import (
	"fmt"
	"testing"
)

func TestRegisterPaging(t *testing.T) {
	db := openTestDB(t)
	b := newBook(t, db, newUser(t, db, "ada"))
	other := newBook(t, db, newUser(t, db, "bob"))
	c1 := mustCategory(t, b, "Food", "Food")
	c2 := mustCategory(t, b, "Fun", "Fun")
	a := mustAccount(t, b, "Checking", "USD", 1000_00)
	savings := mustAccount(t, b, "Savings", "USD", 0)
	bobs := mustAccount(t, other, "Bob's", "USD", 0)
	for i := 0; i < 120; i++ {
		in := TxInput{AccountID: a.ID, Date: "2024-05-10", Amount: int64(-i - 1), CategoryID: c1.ID}
		switch i % 10 {
		case 3:
			in.CategoryID, in.Splits = 0, []SplitInput{{c1.ID, int64(-i), ""}, {c2.ID, -1, ""}}
		case 7:
			in.CategoryID, in.TransferAccountID = 0, savings.ID
		}
		mustAdd(t, b, in)
		// Another user's rows interleave in ids and dates, and must not show or count.
		mustAdd(t, other, TxInput{AccountID: bobs.ID, Date: "2024-05-10", Amount: 1_000_000})
	}
	for i, date := range []string{"2024-04-30", "2024-05-01", "2024-05-31", "2024-06-01", "2024-02-29"} {
		for j := 0; j < 6; j++ {
			mustAdd(t, b, TxInput{AccountID: a.ID, Date: date, Amount: int64(100*i + j)})
		}
	}

	// What the register must show: every row without a parent, newest first, and the balance
	// after each, summed here from the rows themselves.
	var want []struct {
		ID      uint
		Amount  int64
		Balance int64
	}
	noErr(t, db.Raw(`SELECT t.id, t.amount, (SELECT SUM(u.amount) FROM transactions u WHERE u.user_id = t.user_id
			AND u.account_id = t.account_id AND u.parent_id IS NULL AND (u.date, u.id) <= (t.date, t.id)) AS balance
		FROM transactions t WHERE t.user_id = ? AND t.account_id = ? AND t.parent_id IS NULL
		ORDER BY t.date DESC, t.id DESC`, b.userID, a.ID).Scan(&want).Error)
	if len(want) != 1+120+30 {
		t.Fatalf("%d rows in the account", len(want))
	}

	var got []Row
	cursor, pages := "", 0
	for {
		p := must[*Page](t)(b.Register(a.ID, cursor, 50))
		pages++
		got = append(got, p.Rows...)
		if p.Next == "" {
			break
		}
		if pages > 10 {
			t.Fatal("no end")
		}
		cursor = p.Next
	}
	if pages != 4 || len(got) != len(want) {
		t.Fatalf("%d pages, %d rows; want 4 pages, %d rows", pages, len(got), len(want))
	}
	for i, w := range want {
		if g := got[i]; g.ID != w.ID || g.Balance != w.Balance {
			t.Errorf("row %d: id %d balance %d, want id %d balance %d", i, g.ID, g.Balance, w.ID, w.Balance)
		}
		if got[i].IsSplit && len(got[i].Splits) != 2 {
			t.Errorf("split %d has %d parts", got[i].ID, len(got[i].Splits))
		}
	}
	if got[0].Balance != balanceOf(t, b, a.ID) {
		t.Errorf("first row's balance %d, account's %d", got[0].Balance, balanceOf(t, b, a.ID))
	}
	checkTotals(t, db)
}

func TestListPaging(t *testing.T) {
	db := openTestDB(t)
	b := newBook(t, db, newUser(t, db, "ada"))
	food := mustCategory(t, b, "Food", "Food")
	fun := mustCategory(t, b, "Fun", "Fun")
	a := mustAccount(t, b, "Checking", "USD", 0)
	want := map[uint]bool{}
	for i := 0; i < 120; i++ {
		in := TxInput{AccountID: a.ID, Date: "2024-05-10", Amount: -3, CategoryID: food.ID}
		if i%4 == 0 {
			// Two parts in the filtered category: the split shows once.
			in.CategoryID, in.Splits = 0, []SplitInput{{food.ID, -1, ""}, {fun.ID, -1, ""}, {food.ID, -1, ""}}
		}
		want[mustAdd(t, b, in).ID] = true
		mustAdd(t, b, TxInput{AccountID: a.ID, Date: "2024-05-10", Amount: -3, CategoryID: fun.ID})
	}
	for _, f := range []Filter{{CategoryID: food.ID}, {CategoryID: food.ID, AccountID: a.ID, To: "2024-05-10"}} {
		t.Run(fmt.Sprintf("%+v", f), func(t *testing.T) {
			seen := map[uint]bool{}
			cursor := ""
			for pages := 1; ; pages++ {
				p := must[*Page](t)(b.Transactions(f, cursor, 50))
				for _, r := range p.Rows {
					if seen[r.ID] {
						t.Errorf("row %d on two pages", r.ID)
					}
					seen[r.ID] = true
				}
				if p.Next == "" {
					break
				}
				if pages > 10 {
					t.Fatal("no end")
				}
				cursor = p.Next
			}
			if len(seen) != len(want) {
				t.Errorf("%d rows listed, want %d", len(seen), len(want))
			}
			for id := range want {
				if !seen[id] {
					t.Errorf("row %d missing", id)
				}
			}
		})
	}
}
