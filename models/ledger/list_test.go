package ledger

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"tally/models"
)

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
			AND (payee `+models.ILike(db)+` ? ESCAPE '\' OR memo `+models.ILike(db)+` ? ESCAPE '\')`, b.userID, "%"+escapeLike(f.Text)+"%", "%"+escapeLike(f.Text)+"%").Scan(&want).Error)
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
