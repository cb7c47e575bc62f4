package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"tally/models"
	"tally/models/ledger"
)

// TestBrowserReauth is issue 22's "typed data is never lost to an expired session": a row typed
// into the register while the session ends elsewhere is not lost when Enter is pressed. The
// sign-in dialog opens in place with the username filled in; Escape closes it and Enter asks
// again without sending anything; signing in saves the row once, in place. When someone else
// signs in from the dialog, the row is dropped and their dashboard loads.
func TestBrowserReauth(t *testing.T) {
	e := startApp(t)
	ada := e.createUser("ada", "ada@example.com", "Ada", goodPassword)
	bob := e.createUser("bob", "bob@example.com", "Bob", goodPassword)
	book, err := ledger.For(e.db, ada.ID)
	if err != nil {
		t.Fatal(err)
	}
	acc, err := book.CreateAccount(ledger.AccountInput{Name: "Everyday", Kind: "checking", Currency: "USD",
		OpeningBalance: 10000, OpeningDate: "2026-01-01"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := newBrowser(t)
	addPageScript(t, ctx, cspListener)
	addPageScript(t, ctx, htmxWatcher)
	logIn(t, e, ctx, "ada", "Ada")
	path := fmt.Sprintf("/accounts/%d", acc.ID)
	do(t, ctx, "open the register", chromedp.Navigate(e.url(path)), chromedp.WaitVisible(chromedp.ID("tx-add-payee")))
	stored := func() []string {
		p, err := book.Register(acc.ID, "", 50)
		if err != nil {
			t.Fatal(err)
		}
		var payees []string
		for _, r := range p.Rows {
			payees = append(payees, r.Payee)
		}
		return payees
	}
	// typeRowAndEnd types a row, lets the payee's suggestions settle, then ends ada's session
	// on the server, as revoking it from another device does.
	typeRowAndEnd := func(payee, amount string) {
		before := eval[int](t, ctx, `window.__settled`)
		do(t, ctx, "type a row", fill("tx-add-payee", payee, "tx-add-amount", amount))
		waitFor(t, ctx, "the payee's suggestions", settledAfterTyping, before)
		if _, err := models.EndUserSessions(e.db, ada.ID, ""); err != nil {
			t.Fatal(err)
		}
	}
	dialogOpen := `() => !!document.querySelector('#reauth dialog[open]')`

	typeRowAndEnd("Corner shop", "-12.34")
	do(t, ctx, "press Enter in the amount", chromedp.KeyEvent(kb.Enter))
	waitFor(t, ctx, "the sign-in dialog", dialogOpen)
	if got := eval[string](t, ctx, `document.getElementById('reauth-login').value`); got != "ada" {
		t.Errorf("the dialog's username holds %q, want ada", got)
	}
	if got := eval[string](t, ctx, `document.activeElement.id`); got != "reauth-password" {
		t.Errorf("the focus is on #%s, want the dialog's password", got)
	}
	if got := eval[[]string](t, ctx, `['tx-add-payee', 'tx-add-amount'].map(id => document.getElementById(id).value)`); !slices.Equal(got, []string{"Corner shop", "-12.34"}) {
		t.Errorf("the add row holds %q under the dialog, want what was typed", got)
	}
	if loc := location(t, ctx); loc != e.url(path) {
		t.Errorf("the page went to %s", loc)
	}

	// Closed with Escape, the dialog comes back at the next Enter, and nothing is sent.
	settled := eval[int](t, ctx, `window.__settled`)
	do(t, ctx, "press Escape in the dialog", chromedp.KeyEvent(kb.Escape))
	waitFor(t, ctx, "the dialog closed", `() => !document.querySelector('#reauth dialog[open]') && document.activeElement.id === 'tx-add-amount'`)
	do(t, ctx, "press Enter in the amount again", chromedp.KeyEvent(kb.Enter))
	waitFor(t, ctx, "the sign-in dialog again", dialogOpen)
	if got := eval[int](t, ctx, `window.__settled`); got != settled {
		t.Errorf("Enter with the dialog waiting swapped %d times", got-settled)
	}
	if got := stored(); slices.Contains(got, "Corner shop") {
		t.Fatalf("the row was stored without a session: %v", got)
	}

	do(t, ctx, "sign in from the dialog", chromedp.SendKeys(chromedp.ID("reauth-password"), goodPassword+kb.Enter))
	waitFor(t, ctx, "the row in the register",
		`() => [...document.querySelectorAll('#register-body .payee')].some(p => p.textContent === 'Corner shop') && !document.querySelector('#reauth dialog')`)
	if got := stored(); len(got) != 2 || got[0] != "Corner shop" {
		t.Errorf("stored payees %v, want Corner shop once above the opening balance", got)
	}
	if loc := location(t, ctx); loc != e.url(path) {
		t.Errorf("the page went to %s", loc)
	}
	waitFor(t, ctx, "the focus back in the new add row", `() => document.activeElement.id === 'tx-add-payee' && document.activeElement.value === ''`)
	reauthNoCSPViolations(t, ctx, "the register after signing in again")

	// Someone else signs in from the dialog: the row is not sent, their dashboard loads.
	typeRowAndEnd("Bakery", "-4.50")
	do(t, ctx, "press Enter in the amount", chromedp.KeyEvent(kb.Enter))
	waitFor(t, ctx, "the sign-in dialog", dialogOpen)
	do(t, ctx, "sign in as bob from the dialog",
		chromedp.SetValue(chromedp.ID("reauth-login"), "bob"),
		chromedp.SendKeys(chromedp.ID("reauth-password"), goodPassword+kb.Enter),
		chromedp.WaitVisible(chromedp.Search(`//h1[normalize-space()="Hello, Bob"]`)),
	)
	if loc := location(t, ctx); loc != e.url("/dashboard") {
		t.Errorf("after bob's sign-in the page is %s, want the dashboard", loc)
	}
	if got := stored(); slices.Contains(got, "Bakery") {
		t.Errorf("ada's register holds %v after bob signed in", got)
	}
	bobs, err := ledger.For(e.db, bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	if accounts, err := bobs.Accounts(true); err != nil || len(accounts) != 0 {
		t.Errorf("bob has accounts %v (%v)", accounts, err)
	}
	reauthNoCSPViolations(t, ctx, "bob's dashboard")
}

// TestBrowserReauthPasskey: the sign-in dialog's passkey button signs the same user in again in
// place (Chromium's virtual authenticator, verifying its user): the request held while the
// session was gone is sent once, and the page stays where it was.
func TestBrowserReauthPasskey(t *testing.T) {
	e := startAppAtLocalhost(t)
	ada := e.createUser("ada", "ada@example.com", "Ada", goodPassword)
	book, err := ledger.For(e.db, ada.ID)
	if err != nil {
		t.Fatal(err)
	}
	acc, err := book.CreateAccount(ledger.AccountInput{Name: "Everyday", Kind: "checking", Currency: "USD",
		OpeningBalance: 10000, OpeningDate: "2026-01-01"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := newBrowser(t)
	addPageScript(t, ctx, cspListener)
	addPageScript(t, ctx, htmxWatcher)
	addPageScript(t, ctx, passkeyWatcher)
	virtualAuthenticator(t, ctx)
	do(t, ctx, "open the site", chromedp.Navigate(e.url("/login")), chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.Evaluate[chromedp.Void](`window.name = 'noAutofill'`))
	logIn(t, e, ctx, "ada", "Ada")
	do(t, ctx, "add a passkey",
		chromedp.Navigate(e.url("/account/security")),
		chromedp.WaitVisible(chromedp.ID("passkey-add-form")),
		fill("passkey-name", "Laptop", "passkey-password", goodPassword),
		chromedp.Click(chromedp.CSS(`#passkey-add-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.Search(`//table[@id="passkeys"]//td[normalize-space()="Laptop"]`)),
	)

	path := fmt.Sprintf("/accounts/%d", acc.ID)
	do(t, ctx, "open the register", chromedp.Navigate(e.url(path)), chromedp.WaitVisible(chromedp.ID("tx-add-payee")))
	before := eval[int](t, ctx, `window.__settled`)
	do(t, ctx, "type a row", fill("tx-add-payee", "Corner shop", "tx-add-amount", "-12.34"))
	waitFor(t, ctx, "the payee's suggestions", settledAfterTyping, before)
	if _, err := models.EndUserSessions(e.db, ada.ID, ""); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "press Enter in the amount", chromedp.KeyEvent(kb.Enter))
	waitFor(t, ctx, "the sign-in dialog", `() => !!document.querySelector("#reauth dialog[open]")`)
	waitFor(t, ctx, "the sign-in dialog's passkey button",
		`() => { const b = document.querySelector('#reauth dialog[open] button[data-passkey="signin"][data-passkey-dialog]'); return !!b && b.offsetParent !== null; }`)
	do(t, ctx, "sign in with a passkey from the dialog",
		chromedp.Click(chromedp.CSS(`#reauth dialog[open] button[data-passkey="signin"]`)))
	waitFor(t, ctx, "the row in the register",
		`() => [...document.querySelectorAll('#register-body .payee')].some(p => p.textContent === 'Corner shop') && !document.querySelector('#reauth dialog')`)
	p, err := book.Register(acc.ID, "", 50)
	if err != nil {
		t.Fatal(err)
	}
	var payees []string
	for _, r := range p.Rows {
		payees = append(payees, r.Payee)
	}
	if len(payees) != 2 || payees[0] != "Corner shop" {
		t.Errorf("stored payees %v, want Corner shop once above the opening balance", payees)
	}
	if loc := location(t, ctx); loc != e.url(path) {
		t.Errorf("the page went to %s", loc)
	}
	if got := eval[string](t, ctx, `document.querySelector('nav').innerText`); !strings.Contains(got, "ada") && !strings.Contains(got, "Ada") {
		t.Errorf("the page's user is not ada: %q", got)
	}
	reauthNoCSPViolations(t, ctx, "the register after a passkey sign-in from the dialog")
}

// TestBrowserRegisterEscape: Escape in the add row empties what was typed (the date stays, for
// the next row of the same day), takes the errors of a refused row away, and leaves the focus
// where it was.
func TestBrowserRegisterEscape(t *testing.T) {
	e := startApp(t)
	ada := e.createUser("ada", "ada@example.com", "Ada", goodPassword)
	book, err := ledger.For(e.db, ada.ID)
	if err != nil {
		t.Fatal(err)
	}
	acc, err := book.CreateAccount(ledger.AccountInput{Name: "Everyday", Kind: "checking", Currency: "USD", OpeningDate: "2026-01-01"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := newBrowser(t)
	addPageScript(t, ctx, cspListener)
	addPageScript(t, ctx, htmxWatcher)
	logIn(t, e, ctx, "ada", "Ada")
	do(t, ctx, "open the register", chromedp.Navigate(e.url(fmt.Sprintf("/accounts/%d", acc.ID))),
		chromedp.WaitVisible(chromedp.ID("tx-add-payee")))
	date := eval[string](t, ctx, `document.getElementById('tx-add-date').value`)
	fields := `['tx-add-date', 'tx-add-payee', 'tx-add-memo', 'tx-add-amount'].map(id => document.getElementById(id).value)`

	before := eval[int](t, ctx, `window.__settled`)
	do(t, ctx, "type a row with a bad amount", fill("tx-add-payee", "Corner shop", "tx-add-memo", "milk", "tx-add-amount", "twelve"))
	waitFor(t, ctx, "the payee's suggestions", settledAfterTyping, before)
	if status := swap(t, ctx, "press Enter", chromedp.KeyEvent(kb.Enter)); status != 422 {
		t.Fatalf("a bad amount answered %d, want 422", status)
	}
	waitFor(t, ctx, "the error beside the row", `() => !!document.getElementById('tx-add-errors') && document.activeElement.id === 'tx-add-amount'`)
	do(t, ctx, "press Escape in the amount", chromedp.KeyEvent(kb.Escape))
	if got := eval[[]string](t, ctx, fields); !slices.Equal(got, []string{date, "", "", ""}) {
		t.Errorf("after Escape the add row holds %q, want only the date %s", got, date)
	}
	if eval[bool](t, ctx, `!!document.getElementById('tx-add-errors') || !!document.querySelector('#row-tx-add [aria-invalid]')`) {
		t.Error("the refused row's errors are still shown after Escape")
	}
	if got := eval[string](t, ctx, `document.activeElement.id`); got != "tx-add-amount" {
		t.Errorf("after Escape the focus is on #%s, want it still in the amount", got)
	}
	if p, err := book.Register(acc.ID, "", 50); err != nil || len(p.Rows) != 0 {
		t.Errorf("the register stores %v (%v), want nothing", p, err)
	}
	reauthNoCSPViolations(t, ctx, "the register after Escape")
}

// settledAfterTyping is true once the requests that typing a payee and leaving it make (the
// suggestions, the category last used) have settled, given the count of swaps before.
const settledAfterTyping = `n => window.__settled >= n + 2 && !document.querySelector('.htmx-request')`

// waitFor polls the page function fn (with args) until it returns true, for at most 5 s.
func waitFor(t *testing.T, ctx context.Context, what, fn string, args ...any) {
	t.Helper()
	waitCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := chromedp.Run(waitCtx, chromedp.PollFunction[bool](fn, chromedp.WithPollingArgs(args...))); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, pageState(ctx))
	}
}

// reauthNoCSPViolations fails the test for any violation the page has caused so far.
func reauthNoCSPViolations(t *testing.T, ctx context.Context, where string) {
	t.Helper()
	do(t, ctx, "let queued violation events run", chromedp.Evaluate[chromedp.Void](`new Promise(r => setTimeout(r))`, chromedp.EvalAwaitPromise))
	if !eval[bool](t, ctx, `window.__cspListening === true`) {
		t.Fatalf("%s: the violation listener is not installed", where)
	}
	if v := eval[[]string](t, ctx, `window.__csp || []`); len(v) > 0 {
		t.Errorf("%s: CSP violations: %q", where, v)
	}
}
