package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"tally/models/ledger"
)

// TestBrowserLedgerAdd is issue 22's add row: an account made on /accounts, a row typed into
// the register's add row and saved with Enter appears in place with its running balance, the
// account's balance follows, and the focus is back in the add row, ready for the next one.
func TestBrowserLedgerAdd(t *testing.T) {
	e, b := startLedger(t)
	ctx := ledgerBrowser(t, e)
	acc := createAccountThroughPage(t, e, ctx, "Everyday", "1,000.00")
	path := fmt.Sprintf("/accounts/%d", acc)
	if got := text(t, ctx, "account-balance"); got != "1,000.00" {
		t.Errorf("a new account with 1,000.00 shows the balance %q", got)
	}
	if rows := registerRows(t, ctx); len(rows) != 1 || rows[0].Amount != "1,000.00" || rows[0].Category != "Opening balance" {
		t.Fatalf("a new account's register shows %v, want its opening balance alone", rows)
	}
	waitFocus(t, ctx, "the register just opened", "tx-add-payee")
	markPage(t, ctx)
	today := value(t, ctx, "tx-add-date")

	do(t, ctx, "type a row and press Enter",
		fill("tx-add-payee", "Corner shop", "tx-add-memo", "milk", "tx-add-amount", "-12.34"),
		chromedp.KeyEvent(kb.Enter),
	)
	added := waitRowWithPayee(t, ctx, "the new row", "Corner shop")
	waitFocus(t, ctx, "after the save", "tx-add-payee")
	assertSamePage(t, e, ctx, path, "the save")

	rows := registerRows(t, ctx)
	if len(rows) != 2 || rows[0].ID != added.ID || rows[1].Category != "Opening balance" {
		t.Fatalf("after the save the register shows %v, want the new row above the opening balance", rows)
	}
	if added.Date != today || added.Memo != "milk" || added.Amount != "-12.34" || added.Balance != "987.66" {
		t.Errorf("the new row shows %v, want dated %s, memo milk, -12.34 and the running balance 987.66", added, today)
	}
	if got := text(t, ctx, "account-balance"); got != "987.66" {
		t.Errorf("the account's balance above the register shows %q after the save, want 987.66 (the swap "+
			"redraws #register only, and #account-balance is outside it)", got)
	}
	for id, want := range map[string]string{"tx-add-payee": "", "tx-add-memo": "", "tx-add-amount": "", "tx-add-date": today} {
		if got := value(t, ctx, id); got != want {
			t.Errorf("after the save the add row's #%s holds %q, want %q", id, got, want)
		}
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#register, #tx-add, #row-tx-add').length`); n != 3 {
		t.Errorf("%d elements #register, #tx-add, #row-tx-add, want one of each (outerHTML swap)", n)
	}
	if got := balanceOf(t, b, acc); got != 98766 {
		t.Errorf("stored balance %d, want 98766", got)
	}
	if r, err := b.Transaction(added.ID); err != nil || r.Payee != "Corner shop" || r.Memo != "milk" || r.Amount != -1234 || r.Date != today {
		t.Errorf("stored row %+v (%v), want Corner shop, milk, -1234 on %s", r, err, today)
	}

	// Escape in the add row empties it (static/app.js), keeps the date and the focus, saves nothing.
	do(t, ctx, "type half a row and press Escape",
		fill("tx-add-memo", "second thoughts", "tx-add-amount", "-1.00", "tx-add-payee", "Kiosk"),
		chromedp.KeyEvent(kb.Escape),
	)
	if err := pollJS(ctx, `() => ['tx-add-payee', 'tx-add-memo', 'tx-add-amount'].every(id => document.getElementById(id).value === '')`); err != nil {
		t.Errorf("Escape did not empty the add row (%v); the document loads the scripts %s — Escape needs static/app.js", err, scripts(t, ctx))
	}
	if got := value(t, ctx, "tx-add-date"); got != today {
		t.Errorf("after Escape the add row's date is %q, want it kept, %s", got, today)
	}
	if got := activeID(t, ctx); got != "tx-add-payee" {
		t.Errorf("after Escape the focus is on #%s, want it kept on #tx-add-payee", got)
	}
	if n := len(storedRows(t, b, acc)); n != 2 {
		t.Errorf("%d stored rows after Escape, want 2", n)
	}
	assertSamePage(t, e, ctx, path, "Escape in the add row")
	assertNoCSPViolations(t, ctx, "register after adding a row")
}

// TestBrowserLedgerEditInPlace: Edit turns a row into inputs in place, Enter saves the new
// amount; Escape in a second edit gives the row back unchanged (static/app.js).
func TestBrowserLedgerEditInPlace(t *testing.T) {
	e, b := startLedger(t)
	acc := seedAccount(t, b, "Everyday", 50000)
	id := seedTx(t, b, ledger.TxInput{AccountID: acc, Date: "2026-02-03", Payee: "Bakery", Amount: -450})
	ctx := ledgerBrowser(t, e)
	openAccount(t, e, ctx, acc)
	path := fmt.Sprintf("/accounts/%d", acc)
	row := fmt.Sprintf("tx-%d", id)
	editRow, amount := fmt.Sprintf("row-tx-edit-%d", id), fmt.Sprintf("tx-edit-%d-amount", id)
	editLink := chromedp.CSS(fmt.Sprintf("#%s td.row-actions a", row))

	if status := swap(t, ctx, "click Edit", chromedp.Click(editLink)); status != 200 {
		t.Fatalf("Edit answered %d, want 200", status)
	}
	waitJS(t, ctx, "the row in edit", `(r, e) => !document.getElementById(r) && !!document.getElementById(e)`, row, editRow)
	if got := value(t, ctx, amount); got != "-4.50" {
		t.Errorf("the edited row's amount field holds %q, want -4.50", got)
	}
	if got := value(t, ctx, fmt.Sprintf("tx-edit-%d-payee", id)); got != "Bakery" {
		t.Errorf("the edited row's payee field holds %q, want Bakery", got)
	}
	waitFocus(t, ctx, "after Edit", fmt.Sprintf("tx-edit-%d-payee", id))

	if status := swap(t, ctx, "change the amount and press Enter",
		chromedp.Clear(chromedp.ID(amount)),
		chromedp.SendKeys(chromedp.ID(amount), "-5.25"),
		chromedp.KeyEvent(kb.Enter)); status != 200 {
		t.Fatalf("the edit answered %d, want 200", status)
	}
	waitJS(t, ctx, "the saved row", `(r, e) => !!document.getElementById(r) && !document.getElementById(e)`, row, editRow)
	assertSamePage(t, e, ctx, path, "the edit")
	rows := registerRows(t, ctx)
	if len(rows) != 2 || rows[0].ID != id || rows[0].Amount != "-5.25" || rows[0].Balance != "494.75" || rows[0].Payee != "Bakery" {
		t.Fatalf("after the edit the register shows %v, want Bakery at -5.25 with the balance 494.75 on top", rows)
	}
	if r, err := b.Transaction(id); err != nil || r.Amount != -525 {
		t.Errorf("stored row %+v (%v), want the amount -525", r, err)
	}

	// A second edit, abandoned with Escape.
	swap(t, ctx, "click Edit again", chromedp.Click(editLink))
	waitJS(t, ctx, "the row in edit again", `e => !!document.getElementById(e)`, editRow)
	do(t, ctx, "change the amount and press Escape",
		chromedp.Clear(chromedp.ID(amount)),
		chromedp.SendKeys(chromedp.ID(amount), "-99.99"),
		chromedp.KeyEvent(kb.Escape),
	)
	if err := pollJS(ctx, `(r, e) => !!document.getElementById(r) && !document.getElementById(e)`, row, editRow); err != nil {
		t.Fatalf("Escape left the row in edit (%v); the document loads the scripts %s — Escape needs static/app.js", err, scripts(t, ctx))
	}
	assertSamePage(t, e, ctx, path, "Escape")
	if got := registerRows(t, ctx); !slices.Equal(rowTexts(got), rowTexts(rows)) {
		t.Errorf("after Escape the register shows %v, want it as saved: %v", got, rows)
	}
	if r, err := b.Transaction(id); err != nil || r.Amount != -525 {
		t.Errorf("Escape stored %+v (%v), want the amount still -525", r, err)
	}
	assertNoCSPViolations(t, ctx, "register after edits")
}

func rowTexts(rows []ledgerRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.String()
	}
	return out
}

// TestBrowserLedgerSplit: the transaction page splits a row into parts; "Add a part" adds one
// in place, an empty part is no part, and parts that do not add up are refused beside them
// with the difference.
func TestBrowserLedgerSplit(t *testing.T) {
	e, b := startLedger(t)
	acc := seedAccount(t, b, "Everyday", 20000)
	groceries, eatingOut := categoryID(t, b, "Groceries"), categoryID(t, b, "Eating out")
	ctx := ledgerBrowser(t, e)
	newSplit := fmt.Sprintf("/transactions/new?account_id=%d&split=1", acc)
	save := chromedp.CSS(`#tx-form .actions button[type="submit"]`)

	do(t, ctx, "open the split form",
		chromedp.Navigate(e.url(newSplit)),
		chromedp.WaitVisible(chromedp.ID("split_amount-1")),
	)
	markPage(t, ctx)
	if got := value(t, ctx, "account_id"); got != fmt.Sprint(acc) {
		t.Errorf("the split form names the account %q, want %d", got, acc)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#tx-form .part').length`); n != 2 {
		t.Errorf("the split form starts with %d parts, want 2", n)
	}
	do(t, ctx, "fill two parts that add up",
		fill("payee", "Market", "amount", "-30.00"),
		chromedp.SetValue(chromedp.ID("split_category_id-0"), fmt.Sprint(groceries)),
		fill("split_amount-0", "-20.00", "split_memo-0", "veg"),
		chromedp.SetValue(chromedp.ID("split_category_id-1"), fmt.Sprint(eatingOut)),
		fill("split_amount-1", "-10.00"),
	)
	if status := swap(t, ctx, "click Add a part", chromedp.Click(chromedp.CSS(`#tx-form button[name="add_part"]`))); status != 200 {
		t.Errorf("Add a part answered %d, want 200", status)
	}
	assertSamePage(t, e, ctx, newSplit, "Add a part")
	if n := eval[int](t, ctx, `document.querySelectorAll('#tx-form .part').length`); n != 3 {
		t.Fatalf("after Add a part the form has %d parts, want 3", n)
	}
	for id, want := range map[string]string{
		"payee": "Market", "amount": "-30.00",
		"split_category_id-0": fmt.Sprint(groceries), "split_amount-0": "-20.00", "split_memo-0": "veg",
		"split_category_id-1": fmt.Sprint(eatingOut), "split_amount-1": "-10.00",
		"split_category_id-2": "", "split_amount-2": "", "split_memo-2": "",
	} {
		if got := value(t, ctx, id); got != want {
			t.Errorf("after Add a part #%s holds %q, want %q", id, got, want)
		}
	}
	if n := len(storedRows(t, b, acc)); n != 1 {
		t.Errorf("Add a part stored something: %d rows, want the opening balance alone", n)
	}

	// Save with the third part left empty: the app sends the browser back to the register.
	do(t, ctx, "save the split",
		chromedp.Click(save),
		chromedp.WaitVisible(chromedp.ID("register-table")),
	)
	if loc := location(t, ctx); loc != e.url(fmt.Sprintf("/accounts/%d", acc)) {
		t.Errorf("after saving the split the browser is at %s, want the register", loc)
	}
	rows := registerRows(t, ctx)
	if len(rows) != 2 {
		t.Fatalf("after the split the register shows %v, want the split above the opening balance", rows)
	}
	split := rows[0]
	wantParts := []string{"Groceries -20.00 veg", "Eating out -10.00"}
	if split.Payee != "Market" || split.Category != "Split" || split.Amount != "-30.00" || split.Balance != "170.00" ||
		!slices.Equal(split.Splits, wantParts) {
		t.Errorf("the split shows as %v, want Market, Split, -30.00, balance 170.00 and the parts %q", split, wantParts)
	}
	if r, err := b.Transaction(split.ID); err != nil || len(r.Splits) != 2 || r.Amount != -3000 {
		t.Errorf("stored split %+v (%v), want -3000 in two parts", r, err)
	}
	assertNoCSPViolations(t, ctx, "register after a split")

	// Parts that do not add up.
	do(t, ctx, "open the split form again",
		chromedp.Navigate(e.url(newSplit)),
		chromedp.WaitVisible(chromedp.ID("split_amount-1")),
	)
	markPage(t, ctx)
	do(t, ctx, "fill two parts 5.00 short of the total",
		fill("payee", "Market", "amount", "-30.00"),
		chromedp.SetValue(chromedp.ID("split_category_id-0"), fmt.Sprint(groceries)),
		fill("split_amount-0", "-20.00"),
		chromedp.SetValue(chromedp.ID("split_category_id-1"), fmt.Sprint(eatingOut)),
		fill("split_amount-1", "-5.00"),
	)
	if status := swap(t, ctx, "save parts that do not add up", chromedp.Click(save)); status != 422 {
		t.Errorf("the mismatched split answered %d, want 422", status)
	}
	assertSamePage(t, e, ctx, newSplit, "the refused split")
	if msg := text(t, ctx, "splits-error"); msg != "The parts add up to 5.00 less than the total." {
		t.Errorf("the split's error says %q, want it to name the difference: The parts add up to 5.00 less than the total.", msg)
	}
	if !eval[bool](t, ctx, `!!document.getElementById('splits-error').closest('fieldset.parts')`) {
		t.Error("#splits-error is not beside the parts (inside fieldset.parts)")
	}
	for id, want := range map[string]string{"amount": "-30.00", "split_amount-0": "-20.00", "split_amount-1": "-5.00"} {
		if got := value(t, ctx, id); got != want {
			t.Errorf("after the refusal #%s holds %q, want what was typed, %q", id, got, want)
		}
	}
	if n := len(storedRows(t, b, acc)); n != 2 {
		t.Errorf("the refused split changed the stored rows: %d, want 2", n)
	}
	assertNoCSPViolations(t, ctx, "split form after a refused split")
}

// TestBrowserLedgerTransfer: choosing another account in the add row's transfer select makes a
// row in both registers, and both balances move.
func TestBrowserLedgerTransfer(t *testing.T) {
	e, b := startLedger(t)
	checking := seedAccount(t, b, "Checking", 100000)
	savings := seedAccount(t, b, "Savings", 25000)
	ctx := ledgerBrowser(t, e)
	openAccount(t, e, ctx, checking)
	options := eval[[]string](t, ctx, `[...document.querySelectorAll('#tx-add-transfer option')].map(o => o.value + '=' + o.textContent.trim())`)
	if want := []string{"=Not a transfer", fmt.Sprintf("%d=Transfer: Savings", savings)}; !slices.Equal(options, want) {
		t.Errorf("the transfer select offers %q, want %q (not the account itself)", options, want)
	}

	do(t, ctx, "type a transfer to Savings and press Enter",
		fill("tx-add-payee", "Move to savings"),
		chromedp.SetValue(chromedp.ID("tx-add-transfer"), fmt.Sprint(savings)),
		fill("tx-add-amount", "-100.00"),
		chromedp.KeyEvent(kb.Enter),
	)
	out := waitRowWithPayee(t, ctx, "the transfer in Checking", "Move to savings")
	assertSamePage(t, e, ctx, fmt.Sprintf("/accounts/%d", checking), "the transfer")
	if out.Category != "Transfer: Savings" || out.Amount != "-100.00" || out.Balance != "900.00" {
		t.Errorf("Checking shows the transfer as %v, want Transfer: Savings, -100.00, balance 900.00", out)
	}

	openAccount(t, e, ctx, savings)
	rows := registerRows(t, ctx)
	if len(rows) != 2 || rows[0].Payee != "Move to savings" || rows[0].Category != "Transfer: Checking" ||
		rows[0].Amount != "100.00" || rows[0].Balance != "350.00" {
		t.Errorf("Savings shows %v, want the transfer from Checking, 100.00, balance 350.00, on top", rows)
	}
	if got := text(t, ctx, "account-balance"); got != "350.00" {
		t.Errorf("Savings' balance shows %q, want 350.00", got)
	}
	openAccount(t, e, ctx, checking)
	if got := text(t, ctx, "account-balance"); got != "900.00" {
		t.Errorf("Checking's balance shows %q, want 900.00", got)
	}
	do(t, ctx, "open /accounts", chromedp.Navigate(e.url("/accounts")), chromedp.WaitVisible(chromedp.ID("accounts-open")))
	for acc, want := range map[uint]string{checking: "900.00 USD", savings: "350.00 USD"} {
		if got := eval[string](t, ctx, fmt.Sprintf(`[...document.querySelectorAll('#account-%d td.num > .money, #account-%d td.num > .cur')].map(el => el.textContent.trim()).join(' ')`, acc, acc)); got != want {
			t.Errorf("/accounts shows account %d at %q, want %q", acc, got, want)
		}
	}
	if c, s := balanceOf(t, b, checking), balanceOf(t, b, savings); c != 90000 || s != 35000 {
		t.Errorf("stored balances %d and %d, want 90000 and 35000", c, s)
	}
	assertNoCSPViolations(t, ctx, "/accounts after a transfer")
}

// TestBrowserLedgerDeleteUndo: Delete redraws the register without the row and with an Undo,
// which brings the row back.
func TestBrowserLedgerDeleteUndo(t *testing.T) {
	e, b := startLedger(t)
	acc := seedAccount(t, b, "Everyday", 10000)
	cinema := seedTx(t, b, ledger.TxInput{AccountID: acc, Date: "2026-02-01", Payee: "Cinema", Amount: -1500})
	seedTx(t, b, ledger.TxInput{AccountID: acc, Date: "2026-02-02", Payee: "Books", Amount: -2000})
	ctx := ledgerBrowser(t, e)
	openAccount(t, e, ctx, acc)
	path := fmt.Sprintf("/accounts/%d", acc)
	before := registerRows(t, ctx)
	if len(before) != 3 || before[0].Payee != "Books" || before[0].Balance != "65.00" {
		t.Fatalf("the register shows %v, want Books, Cinema and the opening balance, ending at 65.00", before)
	}

	if status := swap(t, ctx, "delete Cinema", chromedp.Click(chromedp.CSS(fmt.Sprintf("#tx-%d td.row-actions button", cinema)))); status != 200 {
		t.Fatalf("Delete answered %d, want 200", status)
	}
	waitJS(t, ctx, "the Undo", `r => !document.getElementById(r) && !!document.getElementById('undo-button')`, fmt.Sprintf("tx-%d", cinema))
	assertSamePage(t, e, ctx, path, "the deletion")
	if got := text(t, ctx, "undo"); !strings.Contains(got, "Deleted “Cinema”.") {
		t.Errorf("the notice says %q, want it to name Cinema", got)
	}
	after := registerRows(t, ctx)
	if len(after) != 2 || after[0].Payee != "Books" || after[0].Balance != "80.00" {
		t.Errorf("after the deletion the register shows %v, want Books with the balance 80.00 and the opening balance", after)
	}
	if _, err := b.Transaction(cinema); err == nil {
		t.Error("the deleted row is still stored")
	}

	if status := swap(t, ctx, "click Undo", chromedp.Click(chromedp.ID("undo-button"))); status != 200 {
		t.Fatalf("Undo answered %d, want 200", status)
	}
	waitJS(t, ctx, "the row back", `r => !!document.getElementById(r) && !document.getElementById('undo')`, fmt.Sprintf("tx-%d", cinema))
	assertSamePage(t, e, ctx, path, "Undo")
	if got := registerRows(t, ctx); !slices.Equal(rowTexts(got), rowTexts(before)) {
		t.Errorf("after Undo the register shows %v, want it as before the deletion: %v", got, before)
	}
	if r, err := b.Transaction(cinema); err != nil || r.Amount != -1500 {
		t.Errorf("after Undo the stored row is %+v (%v)", r, err)
	}
	assertNoCSPViolations(t, ctx, "register after delete and undo")
}

// TestBrowserLedgerLoadMore: 120 rows, twelve to a date, come 50 at a time; two clicks on
// "Load more" show each exactly once, newest first, with running balances that add up.
func TestBrowserLedgerLoadMore(t *testing.T) {
	e, b := startLedger(t)
	acc := seedAccount(t, b, "Everyday", 0)
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var total int64
	for i := range 120 {
		amount := -int64(100 + i)
		total += amount
		seedTx(t, b, ledger.TxInput{AccountID: acc, Date: start.AddDate(0, 0, i/12).Format(time.DateOnly),
			Payee: fmt.Sprintf("Payee %03d", i), Amount: amount})
	}
	ctx := ledgerBrowser(t, e)
	openAccount(t, e, ctx, acc)
	path := fmt.Sprintf("/accounts/%d", acc)
	if n := len(registerRows(t, ctx)); n != 50 {
		t.Fatalf("the register's first page shows %d rows, want 50", n)
	}
	for i, want := range []int{100, 120} {
		if status := swap(t, ctx, "click Load more", chromedp.Click(chromedp.CSS(`#load-more a`))); status != 200 {
			t.Fatalf("Load more answered %d, want 200", status)
		}
		waitJS(t, ctx, fmt.Sprintf("%d rows", want), `n => document.querySelectorAll('#register-body > tr[id^="tx-"]:not(.entry)').length >= n`, want)
		assertSamePage(t, e, ctx, path, fmt.Sprintf("Load more #%d", i+1))
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#load-more').length`); n != 0 {
		t.Error("Load more is still offered after the last row")
	}
	rows := registerRows(t, ctx)
	if len(rows) != 120 {
		t.Fatalf("the register shows %d rows after two Load more, want 120", len(rows))
	}
	ids, payees := map[uint]bool{}, map[string]bool{}
	for _, r := range rows {
		if ids[r.ID] || payees[r.Payee] {
			t.Errorf("row %v is shown twice", r)
		}
		ids[r.ID], payees[r.Payee] = true, true
	}
	for i := range 120 {
		if p := fmt.Sprintf("Payee %03d", i); !payees[p] {
			t.Errorf("%s is missing", p)
		}
	}
	if got := minor(t, rows[0].Balance); got != total {
		t.Errorf("the newest row's balance is %s, want the total %d", rows[0].Balance, total)
	}
	for i, r := range rows {
		if i+1 < len(rows) {
			next := rows[i+1]
			if r.Date < next.Date {
				t.Errorf("%v is above the older %v: want newest first", next, r)
			}
			if minor(t, r.Balance) != minor(t, next.Balance)+minor(t, r.Amount) {
				t.Errorf("running balance broken between %v and %v", next, r)
			}
		} else if r.Balance != r.Amount {
			t.Errorf("the oldest row %v: its balance should be its amount", r)
		}
	}
	assertNoCSPViolations(t, ctx, "register after Load more")
}

// TestBrowserLedgerFilters: the text filter on /transactions redraws the list in place and puts
// the filter in the address bar, and Back brings the previous filter and its list back.
func TestBrowserLedgerFilters(t *testing.T) {
	e, b := startLedger(t)
	acc := seedAccount(t, b, "Everyday", 0)
	for i, p := range []string{"Coffee shop", "Coffee beans", "Bakery"} {
		seedTx(t, b, ledger.TxInput{AccountID: acc, Date: fmt.Sprintf("2026-02-0%d", i+1), Payee: p, Amount: -int64(300 + i)})
	}
	ctx := ledgerBrowser(t, e)
	do(t, ctx, "open /transactions",
		chromedp.Navigate(e.url("/transactions")),
		chromedp.WaitVisible(chromedp.ID("q")),
	)
	markPage(t, ctx)
	listPayees := func() []string {
		var out []string
		for _, r := range rowsOf(t, ctx, "#tx-table > tbody") {
			out = append(out, r.Payee)
		}
		return out
	}
	if got := listPayees(); !slices.Equal(got, []string{"Bakery", "Coffee beans", "Coffee shop"}) {
		t.Fatalf("the unfiltered list shows %q", got)
	}
	// waitList waits until the list shows exactly these payees and the address bar has q.
	waitList := func(what, q string, payees ...string) {
		t.Helper()
		waitJS(t, ctx, what, `(q, want) => {
			const got = [...document.querySelectorAll('#tx-table > tbody > tr[id^="tx-"] .payee')].map(el => el.textContent.trim());
			return (new URLSearchParams(location.search).get('q') || '') === (q || '') && location.pathname === '/transactions' &&
				got.length === want.length && got.every((p, i) => p === want[i]);
		}`, q, payees)
	}

	do(t, ctx, "type coffee into the search field", chromedp.SendKeys(chromedp.ID("q"), "coffee"))
	waitList("filter coffee", "coffee", "Coffee beans", "Coffee shop")
	do(t, ctx, "go on typing", chromedp.SendKeys(chromedp.ID("q"), " beans"))
	waitList("filter coffee beans", "coffee beans", "Coffee beans")
	if m := eval[int](t, ctx, `window.__marker || 0`); m != 1 {
		t.Error("the window marker is gone: filtering loaded the page again instead of swapping the list")
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#tx-list').length`); n != 1 {
		t.Errorf("%d elements #tx-list, want 1 (outerHTML swap)", n)
	}

	do(t, ctx, "press Back", chromedp.Evaluate[chromedp.Void](`history.back()`))
	waitList("Back to coffee", "coffee", "Coffee beans", "Coffee shop")
	if got := value(t, ctx, "q"); got != "coffee" {
		t.Errorf("after Back the search field holds %q, want coffee", got)
	}
	do(t, ctx, "press Back again", chromedp.Evaluate[chromedp.Void](`history.back()`))
	waitList("Back to no filter", "", "Bakery", "Coffee beans", "Coffee shop")
	if loc := location(t, ctx); loc != e.url("/transactions") {
		t.Errorf("after Back twice the browser is at %s, want /transactions", loc)
	}
	if got := value(t, ctx, "q"); got != "" {
		t.Errorf("after Back twice the search field holds %q, want it empty", got)
	}
	assertNoCSPViolations(t, ctx, "/transactions after filtering and Back")
}

// TestBrowserLedgerPhoneWidth: on a 375 px wide phone the register does not scroll sideways and
// its add row can be tapped into and saved.
func TestBrowserLedgerPhoneWidth(t *testing.T) {
	e, b := startLedger(t)
	acc := seedAccount(t, b, "Everyday with a rather long name", 123456789)
	seedTx(t, b, ledger.TxInput{AccountID: acc, Date: "2026-02-01", Payee: "A payee with a long name, as banks write them",
		Memo: "a memo that goes on for a while", Amount: -987654})
	ctx := ledgerBrowser(t, e)
	do(t, ctx, "emulate a 375x740 phone", chromedp.EmulateViewport(375, 740, chromedp.EmulateMobile))
	openAccount(t, e, ctx, acc)
	const overflow = `(() => {
		const w = document.documentElement.clientWidth;
		return [...document.querySelectorAll('body *')].filter(el => el.getBoundingClientRect().right > w + 0.5)
			.slice(0, 8).map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
				(typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\s+/).join('.') : '') +
				' right=' + Math.round(el.getBoundingClientRect().right));
	})()`
	checkWidth := func(when string) {
		t.Helper()
		if w := eval[[]int](t, ctx, `[document.documentElement.scrollWidth, document.documentElement.clientWidth, window.innerWidth]`); w[0] > w[1] || w[1] > 375 {
			t.Errorf("%s: the page is %d px wide in a %d px viewport (window %d): it scrolls sideways; past the edge: %q",
				when, w[0], w[1], w[2], eval[[]string](t, ctx, overflow))
		}
	}
	checkWidth("the register")
	for _, id := range []string{"tx-add-date", "tx-add-payee", "tx-add-category", "tx-add-transfer", "tx-add-memo", "tx-add-amount"} {
		box := eval[[]float64](t, ctx, fmt.Sprintf(`(el => { el.scrollIntoView({block: 'center'}); const r = el.getBoundingClientRect();
			const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
			return [r.left, r.right, r.width, r.height, hit === el || el.contains(hit) ? 1 : 0]; })(document.getElementById(%q))`, id))
		if box[0] < 0 || box[1] > 375 || box[2] < 100 || box[3] < 24 || box[4] != 1 {
			t.Errorf("#%s on the phone: left %.0f, right %.0f, %.0fx%.0f, reachable by a tap %v; want it inside the screen, at least 100x24 and on top",
				id, box[0], box[1], box[2], box[3], box[4] == 1)
		}
	}
	do(t, ctx, "tap into the add row, type a row and press Enter",
		chromedp.Click(chromedp.ID("tx-add-payee")),
		chromedp.KeyEvent("Kiosk"),
		chromedp.Click(chromedp.ID("tx-add-amount")),
		chromedp.KeyEvent("-1.50"),
		chromedp.KeyEvent(kb.Enter),
	)
	if r := waitRowWithPayee(t, ctx, "the row typed on the phone", "Kiosk"); r.Amount != "-1.50" {
		t.Errorf("the row typed on the phone shows %v, want -1.50", r)
	}
	checkWidth("the register after adding a row")
	assertNoCSPViolations(t, ctx, "register on a phone")
}

// TestBrowserLedgerKeyboard: with the keyboard alone the add row is reached, filled in the order
// of its columns and saved, and the focus comes back for the next row.
func TestBrowserLedgerKeyboard(t *testing.T) {
	e, b := startLedger(t)
	acc := seedAccount(t, b, "Everyday", 5000)
	ctx := ledgerBrowser(t, e)
	openAccount(t, e, ctx, acc)
	waitFocus(t, ctx, "the register just opened", "tx-add-payee")
	tab := chromedp.KeyEvent(kb.Tab)
	// focused names the focused element: its id, or a button's text.
	const focused = `(el => el.id || (el.tagName === 'BUTTON' ? 'button:' + el.textContent.trim() : el.tagName.toLowerCase()))(document.activeElement)`

	do(t, ctx, "Shift+Tab from the payee", chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)))
	if got := eval[string](t, ctx, focused); got != "tx-add-date" {
		t.Fatalf("Shift+Tab from the payee went to %s, want the add row's date", got)
	}
	// A date field takes Tab between its own parts (month, day, year) before it lets go.
	var order []string
	for range 12 {
		do(t, ctx, "Tab", tab)
		got := eval[string](t, ctx, focused)
		if got == "tx-add-date" && len(order) == 0 {
			continue
		}
		order = append(order, got)
		if strings.HasPrefix(got, "button:") {
			break
		}
	}
	want := []string{"tx-add-payee", "tx-add-category", "tx-add-transfer", "tx-add-memo", "tx-add-amount", "tx-add-transfer-amount", "button:Save"}
	if !slices.Equal(order, want) {
		t.Fatalf("Tab from the date goes through %q, want %q", order, want)
	}

	// Back to the payee the same way, and fill the row with keys alone.
	backTab := chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift))
	do(t, ctx, "Shift+Tab from Save to the payee", backTab, backTab, backTab, backTab, backTab, backTab)
	if got := eval[string](t, ctx, focused); got != "tx-add-payee" {
		t.Fatalf("six Shift+Tab from Save went to %s, want the payee", got)
	}
	do(t, ctx, "type the payee, Tab to the category", chromedp.KeyEvent("Bus fare"), tab)
	// Leaving the payee asks the server for the category last used with it, which redraws the
	// select; here the key comes after the answer, as a person's usually does (a key pressed
	// before it: TestBrowserLedgerCategoryKeptWhileSuggesting).
	waitJS(t, ctx, "the category suggestion", `() => window.__swapped.includes('tx-add-category')`)
	waitFocus(t, ctx, "after the category suggestion", "tx-add-category")
	do(t, ctx, "choose Transport: Public transport by typing", chromedp.KeyEvent("Tr"))
	if got := eval[string](t, ctx, `(s => s.options[s.selectedIndex].textContent.trim())(document.getElementById('tx-add-category'))`); got != "Transport: Public transport" {
		t.Fatalf("typing Tr on the category select chose %q, want Transport: Public transport", got)
	}
	do(t, ctx, "Tab past the transfer to the memo, type it, Tab to the amount, type it, Tab twice to Save",
		tab, tab, chromedp.KeyEvent("ticket"), tab, chromedp.KeyEvent("-2.80"), tab, tab)
	if got := eval[string](t, ctx, focused); got != "button:Save" {
		t.Fatalf("the focus is on %s, want Save", got)
	}
	do(t, ctx, "press Enter on Save", chromedp.KeyEvent(kb.Enter))
	r := waitRowWithPayee(t, ctx, "the row typed with the keyboard", "Bus fare")
	if r.Category != "Public transport" || r.Memo != "ticket" || r.Amount != "-2.80" || r.Balance != "47.20" {
		t.Errorf("the row typed with the keyboard shows %v, want Public transport, ticket, -2.80, balance 47.20", r)
	}
	waitFocus(t, ctx, "after the save", "tx-add-payee")
	assertNoCSPViolations(t, ctx, "register after keyboard entry")
}

// TestBrowserLedgerCategoryKeptWhileSuggesting: leaving the payee asks the server for the
// category last used with it, and the answer redraws the category select. A category chosen
// while that answer is on its way (a quick typist, a slow network) must survive it. The
// request is held inside the browser (DevTools Fetch domain) until the choice is made, so the
// order is certain, not a race.
func TestBrowserLedgerCategoryKeptWhileSuggesting(t *testing.T) {
	e, b := startLedger(t)
	acc := seedAccount(t, b, "Everyday", 5000)
	ctx := ledgerBrowser(t, e)
	openAccount(t, e, ctx, acc)
	waitFocus(t, ctx, "the register just opened", "tx-add-payee")
	const chosen = `(s => s.options[s.selectedIndex].textContent.trim())(document.getElementById('tx-add-category'))`

	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
		{URLPattern: e.url("/transactions/category*"), RequestStage: fetch.RequestStageRequest},
	}}); err != nil {
		t.Fatal(err)
	}
	// The payee is typed and left by script, not by key events: under a loaded machine the
	// keys' timing decided whether the change event came before the interception was waited for.
	held, err := chromedp.Run(ctx, chromedp.WaitEvent(fetch.RequestPaused, nil,
		chromedp.Evaluate[chromedp.Void](`(p => { p.value = 'Bus fare'; p.dispatchEvent(new Event('change', {bubbles: true}));
			document.getElementById('tx-add-category').focus(); })(document.getElementById('tx-add-payee'))`)))
	if err != nil {
		t.Fatalf("leaving the payee asked for no category: %v\n%s", err, pageState(ctx))
	}
	do(t, ctx, "choose Transport: Public transport by typing", chromedp.KeyEvent("Tr"))
	if got := eval[string](t, ctx, chosen); got != "Transport: Public transport" {
		t.Fatalf("typing Tr on the category select chose %q, want Transport: Public transport", got)
	}
	if _, err := chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: held.RequestID}); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the category suggestion answered", `() => window.__answered.some(p => p.startsWith('/transactions/category'))`)
	if got := eval[string](t, ctx, chosen); got != "Transport: Public transport" {
		t.Errorf("the category chosen while the suggestion was on its way became %q when it arrived: "+
			"the answer for a payee with no history replaced the user's choice", got)
	}
	if got := activeID(t, ctx); got != "tx-add-category" {
		t.Errorf("after the suggestion the focus is on #%s, want it still on #tx-add-category", got)
	}
	assertNoCSPViolations(t, ctx, "register after a category suggestion")
}
