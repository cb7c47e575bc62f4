package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"tally/models/ledger"
)

// budgetFixture is ada with a USD checking account (opening 100.00 on 2026-11-01, which is no
// income), savings, the default categories and November 2026's rows: salary, groceries with a
// refund, a split over groceries and eating out, a transfer to savings and a row without a
// category. The test clock stands in November 2026.
type budgetFixture struct {
	*ledgerClient
	checking, savings uint
	cat               map[string]uint
}

func newBudgetFixture(t *testing.T, ta *testApp, name string) *budgetFixture {
	t.Helper()
	f := &budgetFixture{ledgerClient: ta.ledgerUser(t, name), cat: map[string]uint{}}
	f.checking = f.account("Checking", "USD", "100.00")
	f.savings = f.account("Savings", "USD", "")
	cats, err := f.book().Categories()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cats {
		f.cat[c.Name] = c.ID
	}
	for _, in := range []ledger.TxInput{
		{AccountID: f.checking, Date: "2026-11-01", Payee: "Work", Amount: 3000_00, CategoryID: f.cat["Salary"]},
		{AccountID: f.checking, Date: "2026-11-02", Payee: "Market", Amount: -50_00, CategoryID: f.cat["Groceries"]},
		{AccountID: f.checking, Date: "2026-11-03", Payee: "Market", Amount: 5_00, CategoryID: f.cat["Groceries"]},
		{AccountID: f.checking, Date: "2026-11-05", Payee: "Deli", Amount: -30_00, Splits: []ledger.SplitInput{
			{CategoryID: f.cat["Groceries"], Amount: -20_00}, {CategoryID: f.cat["Eating out"], Amount: -10_00}}},
		{AccountID: f.checking, Date: "2026-11-06", Amount: -200_00, TransferAccountID: f.savings},
		{AccountID: f.checking, Date: "2026-11-07", Payee: "Cash", Amount: -7_00},
	} {
		f.add(in)
	}
	return f
}

func (f *budgetFixture) add(in ledger.TxInput) {
	f.t.Helper()
	if _, err := f.book().AddTransaction(in); err != nil {
		f.t.Fatal(err)
	}
}

func (f *budgetFixture) setBudget(month, category string, minor int64) {
	f.t.Helper()
	if err := f.book().SetBudget(month, f.cat[category], "USD", minor); err != nil {
		f.t.Fatal(err)
	}
}

// budgeted is the amount stored for a category in a month and currency, -1 for none.
func (f *budgetFixture) budgeted(month string, category uint, code string) int64 {
	f.t.Helper()
	r, err := f.book().BudgetMonth(month)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, l := range r.Lines {
		if l.CategoryID == category && l.Currency == code && l.HasBudget {
			return l.Budgeted
		}
	}
	return -1
}

func rowID(category uint, code string) string { return "#budget-" + ids(category) + "-" + code }

func TestBudgetPage(t *testing.T) {
	ta := newTestApp(t)
	f := newBudgetFixture(t, ta, "ada")
	f.setBudget("2026-11", "Groceries", 60_00)
	f.setBudget("2026-11", "Salary", 3100_00)
	f.setBudget("2026-11", "Rent or mortgage", 1000_00)
	res := f.get("/budget?month=2026-11")
	wantStatus(t, res, http.StatusOK)

	groceries, eatingOut := rowID(f.cat["Groceries"], "USD"), rowID(f.cat["Eating out"], "USD")
	for _, tc := range []struct{ sel, want string }{
		{"#budget-month", "November 2026"},
		// Groceries: 50.00 out, 5.00 back, the split's 20.00 part: 65.00 against 60.00.
		{groceries + " td.spent", "65.00"},
		{groceries + " .status", "Overspent by 5.00"},
		{eatingOut + " td.spent", "10.00"},
		{eatingOut + " .status", "No budget"},
		{rowID(f.cat["Rent or mortgage"], "USD") + " .status", "1,000.00 left"},
		{rowID(f.cat["Salary"], "USD") + " td.spent", "3,000.00"},
		{rowID(f.cat["Salary"], "USD") + " .status", "100.00 to come"},
		// The row without a category spends, and cannot be budgeted.
		{"#budget-none-USD td.spent", "7.00"},
		// The month's spending: the transfer to savings and the opening balance are not in it.
		{"#budget-total-USD .spent", "82.00"},
		{"#budget-total-USD .budgeted", "1,060.00"},
		{"#budget-total-USD .left", "978.00 USD left"},
		{"#budget-total-USD .received", "3,000.00"},
		{"#budget-total-USD .expected", "3,100.00"},
	} {
		if got := strings.Join(strings.Fields(text(res, tc.sel)), " "); got != tc.want {
			t.Errorf("%s shows %q, want %q", tc.sel, got, tc.want)
		}
	}
	if !res.doc.Find(groceries).HasClass("over") || res.doc.Find(eatingOut).HasClass("over") {
		t.Error("the overspent category is not (only it is) marked over")
	}
	if v, _ := res.doc.Find(groceries + " input[name=amount]").Attr("value"); v != "60.00" {
		t.Errorf("groceries amount field %q", v)
	}
	if res.doc.Find("#budget-none-USD form").Length() != 0 {
		t.Error("the rows without a category offer a budget form")
	}
	if href, _ := res.doc.Find(groceries + " td.spent a").Attr("href"); href != "/transactions?category_id="+ids(f.cat["Groceries"])+"&flow=expense&from=2026-11-01&to=2026-11-30" {
		t.Errorf("spent links to %q", href)
	}
	for sel, want := range map[string]string{"#budget-prev": "/budget?month=2026-10", "#budget-next": "/budget?month=2026-12"} {
		if href, _ := res.doc.Find(sel).Attr("href"); href != want {
			t.Errorf("%s links to %q, want %q", sel, href, want)
		}
	}
	if got := text(f.get("/budget"), "#budget-month"); got != "November 2026" {
		t.Errorf("/budget shows %q, want the current month", got)
	}
	if got := text(f.get("/budget?month=2026-10"), rowID(f.cat["Groceries"], "USD")+" td.spent"); got != "0.00" {
		t.Errorf("October's groceries %q", got)
	}
	for _, bad := range []string{"2026-13", "2026-1", "november", "0999-01"} {
		wantStatus(t, f.get("/budget?month="+bad), http.StatusBadRequest)
	}
	dash := f.get("/dashboard")
	if got := strings.Join(strings.Fields(text(dash, "#dashboard-budget li")), " "); got != "82.00 of 1,060.00 USD 978.00 USD left" {
		t.Errorf("dashboard budget %q", got)
	}
	if dash.doc.Find("#net-worth-trend svg[role=img]").Length() != 1 {
		t.Error("no net worth sparkline on the dashboard")
	}
}

func TestBudgetSetInPlace(t *testing.T) {
	ta := newTestApp(t)
	f := newBudgetFixture(t, ta, "ada")
	bob := newBudgetFixture(t, ta, "bob")
	groceries := f.cat["Groceries"]
	form := func(category uint, amount string, more ...string) url.Values {
		v := url.Values{"month": {"2026-11"}, "category_id": {ids(category)}, "amount": {amount}}
		for i := 0; i+1 < len(more); i += 2 {
			v.Set(more[i], more[i+1])
		}
		return v
	}

	t.Run("htmx: the budget redraws, the next row takes the focus", func(t *testing.T) {
		res := f.post("/budget", form(groceries, "1,234.50"), htmx...)
		wantStatus(t, res, http.StatusOK)
		if res.doc.Find("header.site").Length() != 0 || res.doc.Find("section#budget").Length() != 1 {
			t.Fatal("not the budget fragment")
		}
		if got := f.budgeted("2026-11", groceries, "USD"); got != 1234_50 {
			t.Errorf("stored %d", got)
		}
		if v, _ := res.doc.Find(rowID(groceries, "USD") + " input[name=amount]").Attr("value"); v != "1,234.50" {
			t.Errorf("field shows %q", v)
		}
		focused := res.doc.Find("input[autofocus]")
		if id, _ := focused.Attr("id"); focused.Length() != 1 || id != strings.TrimPrefix(rowID(f.cat["Eating out"], "USD"), "#")+"-amount" {
			t.Errorf("focus on %q (%d fields)", id, focused.Length())
		}
	})
	t.Run("without JavaScript: back to the row", func(t *testing.T) {
		res := f.post("/budget", form(groceries, "70"))
		wantStatus(t, res, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); loc != "/budget?month=2026-11"+rowID(groceries, "USD") {
			t.Errorf("redirect to %q", loc)
		}
		if got := f.budgeted("2026-11", groceries, "USD"); got != 70_00 {
			t.Errorf("stored %d", got)
		}
	})
	t.Run("an empty amount removes it", func(t *testing.T) {
		wantStatus(t, f.post("/budget", form(groceries, ""), htmx...), http.StatusOK)
		if got := f.budgeted("2026-11", groceries, "USD"); got != -1 {
			t.Errorf("stored %d", got)
		}
		wantStatus(t, f.post("/budget", form(groceries, "70")), http.StatusSeeOther)
	})
	for _, tc := range []struct{ name, amount, want string }{
		{"not a number", "lots", "Enter a number"},
		{"three decimals", "1.005", "at most 2 decimals"},
		{"negative", "-5", "zero or more"},
	} {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			for _, hx := range [][]string{nil, htmx} {
				res := f.post("/budget", form(groceries, tc.amount), hx...)
				wantStatus(t, res, http.StatusUnprocessableEntity)
				row := rowID(groceries, "USD")
				if msg := text(res, row+" .field-error"); !strings.Contains(msg, tc.want) {
					t.Errorf("error %q, want one saying %q", msg, tc.want)
				}
				input := res.doc.Find(row + " input[name=amount]")
				if v, _ := input.Attr("value"); v != tc.amount {
					t.Errorf("typed %q, field shows %q", tc.amount, v)
				}
				if inv, _ := input.Attr("aria-invalid"); inv != "true" {
					t.Error("the field is not marked invalid")
				}
			}
			if got := f.budgeted("2026-11", groceries, "USD"); got != 70_00 {
				t.Errorf("a refused amount changed the stored %d", got)
			}
		})
	}
	t.Run("another user's category is not found", func(t *testing.T) {
		wantStatus(t, f.post("/budget", form(bob.cat["Groceries"], "1")), http.StatusNotFound)
		if got := bob.budgeted("2026-11", bob.cat["Groceries"], "USD"); got != -1 {
			t.Errorf("bob's budget %d", got)
		}
	})
	t.Run("a tampered month", func(t *testing.T) {
		wantStatus(t, f.post("/budget", form(groceries, "1", "month", "2026-13")), http.StatusBadRequest)
	})
	t.Run("a currency of none of the accounts", func(t *testing.T) {
		res := f.post("/budget", form(groceries, "1", "currency", "EUR"))
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if msg := text(res, "#other-currency-error"); !strings.Contains(msg, "currency of one of your accounts") {
			t.Errorf("error %q", msg)
		}
	})
	t.Run("two currencies: the currency is required", func(t *testing.T) {
		f.account("Euro", "EUR", "")
		res := f.post("/budget", form(groceries, "1"), htmx...)
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if msg := text(res, "#other-currency-error"); !strings.Contains(msg, "Choose a currency") {
			t.Errorf("error %q", msg)
		}
		res = f.post("/budget", form(groceries, "12,5", "currency", "EUR", "other", "true"), htmx...)
		wantStatus(t, res, http.StatusUnprocessableEntity) // the user's format groups with commas
		wantStatus(t, f.post("/budget", form(groceries, "12.50", "currency", "eur", "other", "true"), htmx...), http.StatusOK)
		if got := f.budgeted("2026-11", groceries, "EUR"); got != 12_50 {
			t.Errorf("stored %d EUR", got)
		}
		page := f.get("/budget?month=2026-11")
		if page.doc.Find(rowID(groceries, "EUR")).Length() != 1 || page.doc.Find(rowID(groceries, "USD")).Length() != 1 {
			t.Error("groceries does not show in both currencies")
		}
		if got := text(page, rowID(groceries, "EUR")+" .cur"); got != "EUR" {
			t.Errorf("the EUR row names %q", got)
		}
	})
}

func TestBudgetCopyAndAverage(t *testing.T) {
	ta := newTestApp(t)
	f := newBudgetFixture(t, ta, "ada")
	bob := newBudgetFixture(t, ta, "bob")
	f.setBudget("2026-10", "Groceries", 50_00)
	f.setBudget("2026-10", "Rent or mortgage", 1000_00)
	f.setBudget("2026-11", "Groceries", 70_00)
	f.setBudget("2026-11", "Car", 30_00)
	month := url.Values{"month": {"2026-11"}}

	res := f.post("/budget/copy", month, htmx...)
	wantStatus(t, res, http.StatusOK)
	if got := text(res, "#budget-notice"); got != "Copied 2 amounts from October 2026." {
		t.Errorf("notice %q", got)
	}
	for name, want := range map[string]int64{"Groceries": 50_00, "Rent or mortgage": 1000_00, "Car": 30_00} {
		if got := f.budgeted("2026-11", f.cat[name], "USD"); got != want {
			t.Errorf("%s after the copy: %d, want %d", name, got, want)
		}
	}
	res = f.post("/budget/copy", url.Values{"month": {"2026-09"}})
	wantStatus(t, res, http.StatusSeeOther)
	if got := text(f.get(res.Header.Get("Location")), "#alerts"); got != "August 2026 has no amounts to copy." {
		t.Errorf("flash %q", got)
	}

	// Eating out: 10.00, 20.00 and 31.00 in the three months before December: 20.33.
	for _, d := range []struct {
		date   string
		amount int64
	}{{"2026-09-10", -10_00}, {"2026-10-10", -20_00}, {"2026-11-20", -21_00}} {
		f.add(ledger.TxInput{AccountID: f.checking, Date: d.date, Amount: d.amount, CategoryID: f.cat["Eating out"]})
	}
	dec := url.Values{"month": {"2026-12"}, "category_id": {ids(f.cat["Eating out"])}}
	res = f.post("/budget/average", dec, htmx...)
	wantStatus(t, res, http.StatusOK)
	if got := f.budgeted("2026-12", f.cat["Eating out"], "USD"); got != 20_33 {
		t.Errorf("eating out's average %d, want 2033", got)
	}
	if got := f.budgeted("2026-12", f.cat["Groceries"], "USD"); got != -1 {
		t.Errorf("one category's average set groceries too: %d", got)
	}
	wantStatus(t, f.post("/budget/average", url.Values{"month": {"2026-12"}}, htmx...), http.StatusOK)
	// Groceries: 65.00 in November only: 21.67. Salary, an income, averages what it received.
	for name, want := range map[string]int64{"Groceries": 21_67, "Salary": 1000_00, "Eating out": 20_33} {
		if got := f.budgeted("2026-12", f.cat[name], "USD"); got != want {
			t.Errorf("%s's average %d, want %d", name, got, want)
		}
	}
	if got := f.budgeted("2026-12", f.cat["Rent or mortgage"], "USD"); got != -1 {
		t.Errorf("rent, without rows, got %d", got)
	}
	wantStatus(t, f.post("/budget/average", url.Values{"month": {"2026-12"}, "category_id": {ids(bob.cat["Groceries"])}}), http.StatusNotFound)
	wantStatus(t, f.post("/budget/average", url.Values{"month": {"12/2026"}}), http.StatusBadRequest)
	if got := bob.budgeted("2026-12", bob.cat["Groceries"], "USD"); got != -1 {
		t.Errorf("bob's budget changed: %d", got)
	}
}

// Staff viewing a ledger as its owner may look at the budget but not change it.
func TestBudgetReadOnlyWhileImpersonating(t *testing.T) {
	ta := newTestApp(t)
	f := newBudgetFixture(t, ta, "ada")
	ta.createAdmin("root", true)
	admin := ta.client()
	admin.login("root", goodPassword)
	wantStatus(t, admin.impersonate(f.user), http.StatusSeeOther)
	wantStatus(t, admin.get("/budget?month=2026-11"), http.StatusOK)
	for path, form := range map[string]url.Values{
		"/budget":         {"month": {"2026-11"}, "category_id": {ids(f.cat["Groceries"])}, "amount": {"1"}},
		"/budget/copy":    {"month": {"2026-11"}},
		"/budget/average": {"month": {"2026-11"}},
	} {
		wantStatus(t, admin.post(path, form), http.StatusForbidden)
	}
	if got := f.budgeted("2026-11", f.cat["Groceries"], "USD"); got != -1 {
		t.Errorf("stored %d", got)
	}
}
