package handlers

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"tally/models"
	"tally/models/ledger"
)

// ledgerClient is a signed-in user with helpers for the ledger pages.
type ledgerClient struct {
	*client
	t    *testing.T
	ta   *testApp
	user *models.User
}

func (ta *testApp) ledgerUser(t *testing.T, username string) *ledgerClient {
	t.Helper()
	u := ta.createUser(username, username+"@example.com", goodPassword)
	c := ta.client()
	c.login(username, goodPassword)
	c.get("/accounts")
	return &ledgerClient{client: c, t: t, ta: ta, user: u}
}

// account creates an account through the page and returns its id.
func (lc *ledgerClient) account(name, currency, opening string) uint {
	lc.t.Helper()
	res := lc.post("/accounts", url.Values{"name": {name}, "kind": {"checking"}, "currency": {currency},
		"opening_balance": {opening}, "opening_date": {"2026-11-01"}})
	wantStatus(lc.t, res, http.StatusSeeOther)
	id, err := strconv.ParseUint(strings.TrimPrefix(res.Header.Get("Location"), "/accounts/"), 10, 64)
	if err != nil {
		lc.t.Fatalf("created account at %q", res.Header.Get("Location"))
	}
	return uint(id)
}

func ids(id uint) string { return strconv.FormatUint(uint64(id), 10) }

// tx posts a register row; more are further fields, name and value.
func (lc *ledgerClient) tx(account uint, date, payee, amount string, more ...string) *response {
	lc.t.Helper()
	return lc.post("/transactions", txValues(account, date, payee, amount, more...))
}

func txValues(account uint, date, payee, amount string, more ...string) url.Values {
	v := url.Values{"account_id": {ids(account)}, "date": {date}, "payee": {payee}, "amount": {amount}}
	for i := 0; i+1 < len(more); i += 2 {
		v.Add(more[i], more[i+1])
	}
	return v
}

// rows parses a fragment of table rows (an HTML parser drops rows outside a table).
func rows(t *testing.T, res *response) *goquery.Document {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader("<table><tbody>" + res.body + "</tbody></table>"))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func (lc *ledgerClient) book() *ledger.Book {
	b, err := ledger.For(lc.ta.db, lc.user.ID)
	if err != nil {
		lc.t.Fatal(err)
	}
	return b
}

func (lc *ledgerClient) balance(account uint) int64 {
	lc.t.Helper()
	a, err := lc.book().Account(account)
	if err != nil {
		lc.t.Fatal(err)
	}
	return a.Balance
}

func text(res *response, sel string) string {
	return strings.TrimSpace(res.doc.Find(sel).First().Text())
}

func TestLedgerBalancesToTheCent(t *testing.T) {
	ta := newTestApp(t)
	lc := ta.ledgerUser(t, "ada")
	checking := lc.account("Checking", "USD", "100.00")
	for range 3 {
		wantStatus(t, lc.tx(checking, "2026-11-20", "Coffee", "-0.10"), http.StatusSeeOther)
	}
	wantStatus(t, lc.tx(checking, "2026-11-21", "Refund", "0.30"), http.StatusSeeOther)
	page := lc.get("/accounts/" + ids(checking))
	wantStatus(t, page, http.StatusOK)
	if got := text(page, "#account-balance"); got != "100.00" {
		t.Errorf("balance shows %q, want 100.00", got)
	}
	// Running balances, newest first: 100.00 after the refund, 99.70, 99.80, 99.90, then the opening.
	var balances []string
	page.doc.Find("#register-body tr[id^=tx-] td[data-label=Balance]").Each(func(_ int, s *goquery.Selection) {
		balances = append(balances, strings.TrimSpace(s.Text()))
	})
	if strings.Join(balances, " ") != "100.00 99.70 99.80 99.90 100.00" {
		t.Errorf("running balances %v", balances)
	}
	if lc.balance(checking) != 10000 {
		t.Errorf("stored balance %d", lc.balance(checking))
	}

	// Totals are per currency, never summed across them.
	lc.account("Euro savings", "EUR", "50.5")
	lc.account("Yen wallet", "JPY", "1200")
	accounts := lc.get("/accounts")
	totals := map[string]string{}
	accounts.doc.Find("#net-worth dt").Each(func(i int, s *goquery.Selection) {
		totals[s.Text()] = strings.TrimSpace(s.Next().Text())
	})
	want := map[string]string{"Total EUR": "50.50", "Total JPY": "1,200", "Total USD": "100.00"}
	if len(totals) != 3 || totals["Total EUR"] != want["Total EUR"] || totals["Total JPY"] != want["Total JPY"] || totals["Total USD"] != want["Total USD"] {
		t.Errorf("totals %v, want %v", totals, want)
	}
	dash := lc.get("/dashboard")
	if n := dash.doc.Find("#net-worth dt").Length(); n != 3 {
		t.Errorf("dashboard net worth in %d currencies", n)
	}
	if n := dash.doc.Find("#recent tr[id^=tx-]").Length(); n != 7 {
		t.Errorf("dashboard shows %d recent rows, want 7", n)
	}
}

func TestLedgerAmountsAreRefusedNotRounded(t *testing.T) {
	ta := newTestApp(t)
	lc := ta.ledgerUser(t, "ada")
	usd := lc.account("Checking", "USD", "")
	jpy := lc.account("Yen", "JPY", "")
	for _, tc := range []struct {
		name    string
		account uint
		amount  string
		want    string
	}{
		{"three decimals in USD", usd, "12.345", "at most 2 decimals"},
		{"decimals in JPY", jpy, "12.5", "no decimals"},
		{"not a number", usd, "twelve", ""},
		{"empty", usd, "", "Enter an amount"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, hx := range [][]string{nil, htmx} {
				res := lc.post("/transactions", txValues(tc.account, "2026-11-20", "Typed payee", tc.amount), hx...)
				wantStatus(t, res, http.StatusUnprocessableEntity)
				msg := text(res, "#tx-add-errors .field-error")
				if msg == "" || !strings.Contains(msg, tc.want) {
					t.Errorf("error %q, want one saying %q", msg, tc.want)
				}
				if v, _ := res.doc.Find("#tx-add-payee").Attr("value"); v != "Typed payee" {
					t.Errorf("typed payee not kept: %q", v)
				}
				if v, _ := res.doc.Find("#tx-add-amount").Attr("aria-invalid"); v != "true" {
					t.Error("the amount field is not marked invalid")
				}
				if full := res.doc.Find("header.site").Length() != 0; full != (hx == nil) {
					t.Errorf("htmx %v, full page %v", hx != nil, full)
				}
			}
		})
	}
	var n int64
	ta.db.Table("transactions").Count(&n)
	if n != 0 {
		t.Errorf("%d rows written by refused forms", n)
	}
	if res := lc.post("/accounts", url.Values{"name": {"Odd"}, "kind": {"cash"}, "currency": {"USD"}, "opening_balance": {"1.001"}}); res.StatusCode != http.StatusUnprocessableEntity || text(res, "#opening_balance-error") == "" {
		t.Errorf("opening balance with 3 decimals: %d %q", res.StatusCode, text(res, "#opening_balance-error"))
	}
}

// Another user's ids anywhere answer 404, exactly like ids that do not exist, and change nothing.
func TestLedgerPagesAreTheOwnersOnly(t *testing.T) {
	ta := newTestApp(t)
	ada := ta.ledgerUser(t, "ada")
	bob := ta.ledgerUser(t, "bob")
	adaAccount := ada.account("Checking", "USD", "10.00")
	bobAccount := bob.account("Bob's", "USD", "20.00")
	wantStatus(t, bob.tx(bobAccount, "2026-11-20", "Bob's shop", "-1.00"), http.StatusSeeOther)
	bobRows, err := bob.book().Register(bobAccount, "", 50)
	if err != nil {
		t.Fatal(err)
	}
	bobTx := bobRows.Rows[0].ID
	cats, _ := bob.book().Categories()
	bobCat := cats[0].ID
	const missing = 999999
	for _, tc := range []struct {
		name   string
		do     func(id uint) *response
		theirs uint
	}{
		{"register", func(id uint) *response { return ada.get("/accounts/" + ids(id)) }, bobAccount},
		{"edit account page", func(id uint) *response { return ada.get("/accounts/" + ids(id) + "/edit") }, bobAccount},
		{"rename account", func(id uint) *response {
			return ada.post("/accounts/"+ids(id), url.Values{"name": {"Mine"}, "kind": {"cash"}})
		}, bobAccount},
		{"close account", func(id uint) *response { return ada.post("/accounts/"+ids(id)+"/close", nil) }, bobAccount},
		{"delete account", func(id uint) *response {
			return ada.post("/accounts/"+ids(id)+"/delete", url.Values{"confirm": {"delete-transactions"}})
		}, bobAccount},
		{"add to their account", func(id uint) *response { return ada.tx(id, "2026-11-20", "x", "-1.00") }, bobAccount},
		{"transfer to their account", func(id uint) *response {
			return ada.tx(adaAccount, "2026-11-20", "x", "-1.00", "transfer_account_id", ids(id))
		}, bobAccount},
		{"edit their transaction", func(id uint) *response { return ada.get("/transactions/" + ids(id) + "/edit") }, bobTx},
		{"update their transaction", func(id uint) *response {
			return ada.post("/transactions/"+ids(id), url.Values{"account_id": {ids(adaAccount)}, "date": {"2026-11-20"}, "amount": {"1.00"}})
		}, bobTx},
		{"delete their transaction", func(id uint) *response { return ada.post("/transactions/"+ids(id)+"/delete", nil) }, bobTx},
		{"undo on their transaction", func(id uint) *response { return ada.post("/transactions/"+ids(id)+"/undo", nil) }, bobTx},
		{"their category on a row", func(id uint) *response {
			return ada.tx(adaAccount, "2026-11-20", "x", "-1.00", "category_id", ids(id))
		}, bobCat},
		{"edit their category", func(id uint) *response {
			return ada.post("/categories/"+ids(id), url.Values{"name": {"Mine"}, "group": {"G"}})
		}, bobCat},
		{"delete their category", func(id uint) *response { return ada.post("/categories/"+ids(id)+"/delete", nil) }, bobCat},
		{"filter by their account", func(id uint) *response { return ada.get("/transactions?account_id=" + ids(id)) }, bobAccount},
	} {
		t.Run(tc.name, func(t *testing.T) {
			theirs, none := tc.do(tc.theirs), tc.do(missing)
			if theirs.StatusCode != http.StatusNotFound || none.StatusCode != http.StatusNotFound {
				t.Errorf("their id: %d, a missing id: %d, want 404 for both", theirs.StatusCode, none.StatusCode)
			}
			if text(theirs, "main") != text(none, "main") {
				t.Errorf("their id and a missing id answer differently:\n%s\n%s", text(theirs, "main"), text(none, "main"))
			}
		})
	}
	if bob.balance(bobAccount) != 1900 {
		t.Errorf("bob's balance is %d", bob.balance(bobAccount))
	}
	if ada.balance(adaAccount) != 1000 {
		t.Errorf("ada's balance is %d", ada.balance(adaAccount))
	}
}

func TestLedgerTransfersAndSplits(t *testing.T) {
	ta := newTestApp(t)
	lc := ta.ledgerUser(t, "ada")
	checking := lc.account("Checking", "USD", "1000.00")
	savings := lc.account("Savings", "USD", "")
	euro := lc.account("Euro", "EUR", "")

	wantStatus(t, lc.tx(checking, "2026-11-20", "To savings", "-200.00", "transfer_account_id", ids(savings)), http.StatusSeeOther)
	if lc.balance(checking) != 80000 || lc.balance(savings) != 20000 {
		t.Fatalf("after transfer: %d %d", lc.balance(checking), lc.balance(savings))
	}
	rows, _ := lc.book().Register(savings, "", 50)
	leg := rows.Rows[0]
	// Editing one leg changes both.
	res := lc.post("/transactions/"+ids(leg.ID), url.Values{"account_id": {ids(savings)}, "date": {"2026-11-20"},
		"payee": {"From checking"}, "amount": {"250.00"}, "transfer_account_id": {ids(checking)}})
	wantStatus(t, res, http.StatusSeeOther)
	if lc.balance(checking) != 75000 || lc.balance(savings) != 25000 {
		t.Errorf("after editing a leg: %d %d", lc.balance(checking), lc.balance(savings))
	}
	// Between currencies both amounts are asked for.
	res = lc.tx(checking, "2026-11-21", "To euros", "-110.00", "transfer_account_id", ids(euro))
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantStatus(t, lc.tx(checking, "2026-11-21", "To euros", "-110.00", "transfer_account_id", ids(euro), "transfer_amount", "100.00"), http.StatusSeeOther)
	if lc.balance(euro) != 10000 || lc.balance(checking) != 64000 {
		t.Errorf("cross-currency transfer: %d %d", lc.balance(euro), lc.balance(checking))
	}

	cats, _ := lc.book().Categories()
	groceries, household := ids(cats[0].ID), ids(cats[1].ID)
	split := func(amounts ...string) *response {
		v := url.Values{"account_id": {ids(checking)}, "date": {"2026-11-22"}, "payee": {"Supermarket"}, "amount": {"-40.00"}, "full": {"1"}}
		for i, a := range amounts {
			v.Add("split_category_id", []string{groceries, household}[i%2])
			v.Add("split_amount", a)
			v.Add("split_memo", "")
		}
		return lc.post("/transactions", v)
	}
	res = split("-30.00", "-9.50")
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if msg := text(res, "#splits-error"); !strings.Contains(msg, "0.50 less than the total") {
		t.Errorf("split difference message %q", msg)
	}
	wantStatus(t, split("-30.00", "-10.00"), http.StatusSeeOther)
	if lc.balance(checking) != 60000 {
		t.Errorf("after split: %d", lc.balance(checking))
	}
	page := lc.get("/accounts/" + ids(checking))
	if n := page.doc.Find("ul.splits li").Length(); n != 2 {
		t.Errorf("register shows %d split parts", n)
	}
	// "Add a part" brings the form back with one more part, without saving.
	res = lc.post("/transactions", url.Values{"account_id": {ids(checking)}, "full": {"1"}, "add_part": {"1"},
		"split_category_id": {groceries, ""}, "split_amount": {"-1.00", ""}, "split_memo": {"", ""}})
	wantStatus(t, res, http.StatusOK)
	if n := res.doc.Find(`select[name=split_category_id]`).Length(); n != 3 {
		t.Errorf("after Add a part: %d parts", n)
	}
}

func TestLedgerDeleteAndUndo(t *testing.T) {
	ta := newTestApp(t)
	lc := ta.ledgerUser(t, "ada")
	checking := lc.account("Checking", "USD", "10.00")
	wantStatus(t, lc.tx(checking, "2026-11-20", "Mistake", "-5.00"), http.StatusSeeOther)
	page, _ := lc.book().Register(checking, "", 50)
	id := page.Rows[0].ID
	res := lc.post("/transactions/"+ids(id)+"/delete", nil, "HX-Request", "true", "HX-Target", "register")
	wantStatus(t, res, http.StatusOK)
	if res.doc.Find("#register #undo").Length() != 1 || res.doc.Find("#tx-"+ids(id)).Length() != 0 {
		t.Fatalf("delete did not redraw the register with an undo: %s", trim(res.body))
	}
	if lc.balance(checking) != 1000 {
		t.Errorf("balance after delete: %d", lc.balance(checking))
	}
	res = lc.post("/transactions/"+ids(id)+"/undo", nil, "HX-Request", "true", "HX-Target", "register")
	wantStatus(t, res, http.StatusOK)
	if res.doc.Find("#tx-"+ids(id)).Length() != 1 || lc.balance(checking) != 500 {
		t.Errorf("undo did not bring the row back (balance %d)", lc.balance(checking))
	}
	// In the list across accounts a deletion leaves an undo row in place.
	res = lc.post("/transactions/"+ids(id)+"/delete", nil, "HX-Request", "true", "HX-Target", "tx-"+ids(id))
	if rows(t, res).Find("tr#undo-"+ids(id)).Length() != 1 {
		t.Errorf("no undo row: %s", trim(res.body))
	}
	// Undo is for a few minutes only.
	ta.clock.Advance(ledger.UndoWindow + 1)
	wantStatus(t, lc.post("/transactions/"+ids(id)+"/undo", nil), http.StatusConflict)
}

func TestLedgerLoadMoreAndFilters(t *testing.T) {
	ta := newTestApp(t)
	lc := ta.ledgerUser(t, "ada")
	checking := lc.account("Checking", "USD", "")
	other := lc.account("Cash", "USD", "")
	b := lc.book()
	for i := range 120 {
		if _, err := b.AddTransaction(ledger.TxInput{AccountID: checking, Date: "2026-11-15", Payee: "Shop " + strconv.Itoa(i), Amount: -100}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.AddTransaction(ledger.TxInput{AccountID: other, Date: "2026-10-01", Payee: "Farmers market", Amount: -2500}); err != nil {
		t.Fatal(err)
	}
	page := lc.get("/accounts/" + ids(checking))
	seen := map[string]bool{}
	count := func(res *response) {
		res.doc.Find("tr[id^=tx-]").Each(func(_ int, s *goquery.Selection) {
			id, _ := s.Attr("id")
			if seen[id] {
				t.Errorf("%s shown twice", id)
			}
			seen[id] = true
		})
	}
	count(page)
	for next, _ := page.doc.Find("#load-more a").Attr("href"); next != ""; {
		res := lc.get(next, "HX-Request", "true", "X-Tally-Rows", "1")
		wantStatus(t, res, http.StatusOK)
		res.doc = rows(t, res)
		count(res)
		next, _ = res.doc.Find("#load-more a").Attr("href")
	}
	if len(seen) != 120 {
		t.Errorf("paged through %d rows, want 120", len(seen))
	}

	for _, tc := range []struct {
		query string
		want  int
	}{
		{"", 50},
		{"?q=market", 1},
		{"?q=shop+11", 11}, // Shop 11, 110-119
		{"?account_id=" + ids(other), 1},
		{"?from=2026-11-01&to=2026-11-30", 50},
		{"?max=-10.00", 1},
		{"?min=-1.00&max=-1.00&q=shop+1", 31},
	} {
		res := lc.get("/transactions" + tc.query)
		wantStatus(t, res, http.StatusOK)
		if n := res.doc.Find("#tx-table tr[id^=tx-]").Length(); n != tc.want {
			t.Errorf("/transactions%s: %d rows, want %d", tc.query, n, tc.want)
		}
	}
	res := lc.get("/transactions?from=2026-02-30")
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if text(res, "#from-error") == "" {
		t.Error("an impossible date has no message beside its field")
	}
}

func TestLedgerReadOnlyWhileImpersonating(t *testing.T) {
	ta := newTestApp(t)
	lc := ta.ledgerUser(t, "bob")
	checking := lc.account("Checking", "USD", "1.00")
	ta.createAdmin("root", true)
	admin := ta.client()
	admin.login("root", goodPassword)
	wantStatus(t, admin.impersonate(lc.user), http.StatusSeeOther)
	wantStatus(t, admin.get("/accounts/"+ids(checking)), http.StatusOK)
	res := admin.post("/transactions", url.Values{"account_id": {ids(checking)}, "date": {"2026-11-20"}, "amount": {"-1.00"}})
	wantStatus(t, res, http.StatusForbidden)
	if !strings.Contains(res.body, "read-only") {
		t.Errorf("the refusal does not say why: %s", trim(res.body))
	}
	if lc.balance(checking) != 100 {
		t.Errorf("balance changed to %d", lc.balance(checking))
	}
}

func TestLedgerCategories(t *testing.T) {
	ta := newTestApp(t)
	lc := ta.ledgerUser(t, "ada")
	checking := lc.account("Checking", "USD", "")
	page := lc.get("/categories")
	if n := page.doc.Find("li.category").Length(); n < 5 {
		t.Fatalf("a new account holder has %d default categories", n)
	}
	wantStatus(t, lc.post("/categories", url.Values{"name": {"Pets"}, "group": {"Home"}}), http.StatusSeeOther)
	res := lc.post("/categories", url.Values{"name": {"pets"}, "group": {"Home"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if text(res, "#name-error") == "" {
		t.Error("a duplicate name has no message")
	}
	cats, _ := lc.book().Categories()
	var pets, other uint
	for _, c := range cats {
		switch c.Name {
		case "Pets":
			pets = c.ID
		case "Groceries":
			other = c.ID
		}
	}
	wantStatus(t, lc.tx(checking, "2026-11-20", "Vet", "-80.00", "category_id", ids(pets)), http.StatusSeeOther)
	res = lc.post("/categories/"+ids(pets)+"/delete", url.Values{"target_category_id": {""}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if text(res, "#target_category_id-error") == "" {
		t.Error("deleting a used category without a target says nothing beside the field")
	}
	wantStatus(t, lc.post("/categories/"+ids(pets)+"/delete", url.Values{"target_category_id": {ids(other)}}), http.StatusSeeOther)
	rows, _ := lc.book().Register(checking, "", 50)
	if rows.Rows[0].CategoryID == nil || *rows.Rows[0].CategoryID != other {
		t.Errorf("the row did not move to the target: %+v", rows.Rows[0].CategoryID)
	}
}

// At start, deleted rows past their undo window and imports staged but never confirmed are
// dropped, even for a user who never deletes or uploads again.
func TestStartPrunesDeletedRowsAndStagedImports(t *testing.T) {
	ta := newTestApp(t)
	lc := ta.ledgerUser(t, "ada")
	checking := lc.account("Checking", "USD", "10.00")
	wantStatus(t, lc.tx(checking, "2026-11-20", "Mistake", "-5.00"), http.StatusSeeOther)
	page, _ := lc.book().Register(checking, "", 50)
	wantStatus(t, lc.post("/transactions/"+ids(page.Rows[0].ID)+"/delete", nil), http.StatusSeeOther)
	lc.importCSV(checking, "bank.csv", []byte("Date,Payee,Amount\n2026-11-25,Market,-4.20\n"))
	count := func(table string) (n int64) {
		ta.db.Table(table).Where("user_id = ?", lc.user.ID).Count(&n)
		return n
	}
	if count("deleted_transactions") == 0 || count("imports") == 0 {
		t.Fatal("nothing to prune: the test would prove nothing")
	}
	ta.start() // within the undo window and the staging time: both kept
	if count("deleted_transactions") == 0 || count("imports") == 0 {
		t.Fatal("a restart dropped what could still be undone or confirmed")
	}
	ta.clock.Advance(ledger.StagedTTL + time.Minute)
	ta.start()
	if d, i := count("deleted_transactions"), count("imports"); d != 0 || i != 0 {
		t.Errorf("after the windows, a start kept %d deleted rows and %d staged imports", d, i)
	}
}
