package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/pquerna/otp/totp"
	"gorm.io/gorm"

	"tally/models"
	"tally/models/ledger"
)

func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// TestBrowserTwoFactor is issue 25's flow in a browser: enrol by reading the key from the page
// and typing the code an app computes from it (the QR code loads under the CSP), see the
// recovery codes, sign out, then sign in with the password and a code in place of the login
// form, a wrong code first; no CSP violation anywhere.
func TestBrowserTwoFactor(t *testing.T) {
	e := startApp(t)
	e.createUser("ada", "ada@example.com", "Ada", goodPassword)
	ctx := newBrowser(t)
	addPageScript(t, ctx, cspListener)
	addPageScript(t, ctx, htmxWatcher)
	logIn(t, e, ctx, "ada", "Ada")

	do(t, ctx, "open the enrolment", chromedp.Navigate(e.url("/account/2fa")), chromedp.WaitVisible(chromedp.ID("twofactor-key")))
	waitFor(t, ctx, "the QR code", `() => { const i = document.getElementById('twofactor-qr'); return i.complete && i.naturalWidth > 0; }`)
	key := eval[string](t, ctx, `document.getElementById('twofactor-key').textContent`)
	secret := strings.ReplaceAll(key, " ", "")
	if len(secret) != 32 {
		t.Fatalf("key %q", key)
	}
	if href := eval[string](t, ctx, `document.getElementById('twofactor-uri').getAttribute('href')`); !strings.HasPrefix(href, "otpauth://totp/Tally:ada?") || !strings.Contains(href, "secret="+secret) {
		t.Errorf("otpauth link %q", href)
	}
	do(t, ctx, "type the app's code",
		fill("code", totpCode(t, secret, time.Now())),
		chromedp.Click(chromedp.CSS(`#twofactor-enrol-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("recovery-codes")),
	)
	codes := eval[[]string](t, ctx, `[...document.querySelectorAll('#recovery-codes code')].map(c => c.textContent)`)
	if len(codes) != 10 {
		t.Fatalf("recovery codes %q", codes)
	}
	reauthNoCSPViolations(t, ctx, "the recovery codes")
	// Copy puts them on the clipboard, one per line.
	if _, err := chromedp.Call(ctx, browser.SetPermission, browser.SetPermissionParams{
		Permission: &browser.PermissionDescriptor{Name: "clipboard-read"}, Setting: browser.PermissionSettingGranted,
	}); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "copy the codes", chromedp.Click(chromedp.ID("recovery-copy")))
	waitFor(t, ctx, "the copy's confirmation", `() => document.getElementById('recovery-copied').textContent.startsWith('Copied')`)
	copied, err := chromedp.Run(ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
	if want := strings.Join(codes, "\n") + "\n"; err != nil || copied != want {
		t.Errorf("the clipboard holds %q (%v), want %q", copied, err, want)
	}

	do(t, ctx, "log out",
		chromedp.Click(chromedp.Search(`//nav//button[normalize-space()="Log out"]`)),
		chromedp.WaitVisible(chromedp.ID("login-form")),
	)
	do(t, ctx, "type the password", fill("login", "ada", "password", goodPassword))
	if status := swap(t, ctx, "log in", chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`))); status != 200 {
		t.Fatalf("the password step answered %d", status)
	}
	if loc := location(t, ctx); !strings.HasPrefix(loc, e.url("/login?")) {
		t.Errorf("the code step left the page for %s, want it in place", loc)
	}
	if got := eval[string](t, ctx, `document.activeElement.id`); got != "code" {
		t.Errorf("the focus is on #%s, want the code field", got)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#login-form').length`); n != 0 {
		t.Error("the password form is still there")
	}
	if status := swap(t, ctx, "type a wrong code", fill("code", "000000"), chromedp.Click(chromedp.CSS(`#login-code-form button[type="submit"]`))); status != 422 {
		t.Fatalf("a wrong code answered %d", status)
	}
	if msg := eval[string](t, ctx, `(document.getElementById('code-error') || {}).textContent || ''`); !strings.Contains(msg, "did not work") {
		t.Errorf("the wrong code's message is %q", msg)
	}
	// The swap brought an empty field. The enrolment spent this step's code; the next step's is
	// in the window and unused.
	do(t, ctx, "type the app's next code",
		fill("code", totpCode(t, secret, time.Now().Add(30*time.Second))),
		chromedp.Click(chromedp.CSS(`#login-code-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.Search(`//h1[normalize-space()="Hello, Ada"]`)),
	)
	if loc := location(t, ctx); loc != e.url("/dashboard") {
		t.Errorf("signed in at %s", loc)
	}
	reauthNoCSPViolations(t, ctx, "signed in with a code")
}

// TestBrowserTwoFactorReauth: the sign-in dialog of an ended session asks for the code as its
// second step, in place, and the held request is sent once it is typed.
func TestBrowserTwoFactorReauth(t *testing.T) {
	e := startApp(t)
	ada := e.createUser("ada", "ada@example.com", "Ada", goodPassword)
	k, err := models.NewTwoFactorKeys([]byte(strings.Repeat("s", 40))) // startApp's TALLY_SECRET
	if err != nil {
		t.Fatal(err)
	}
	secret, err := models.NewTOTPSecret()
	if err != nil {
		t.Fatal(err)
	}
	// Turned on a while ago: every code of the current window is unused.
	if err := models.Transaction(e.db, func(tx *gorm.DB) error {
		return models.EnableTwoFactor(tx, k, ada, secret, models.TOTPStep(time.Now())-10, models.NewRecoveryCodes(), time.Now())
	}); err != nil {
		t.Fatal(err)
	}
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
	do(t, ctx, "log in with a code",
		chromedp.Navigate(e.url("/login")),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		fill("login", "ada", "password", goodPassword),
		chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("login-code-form")),
		fill("code", totpCode(t, secret, time.Now().Add(-30*time.Second))),
		chromedp.Click(chromedp.CSS(`#login-code-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.Search(`//h1[normalize-space()="Hello, Ada"]`)),
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
	waitFor(t, ctx, "the sign-in dialog", `() => !!document.querySelector('#reauth dialog[open]')`)
	do(t, ctx, "type the password in the dialog", chromedp.SendKeys(chromedp.ID("reauth-password"), goodPassword+kb.Enter))
	waitFor(t, ctx, "the dialog's code step", `() => !!document.querySelector('#reauth dialog[open] #reauth-code') && document.activeElement.id === 'reauth-code'`)
	do(t, ctx, "type the code in the dialog", chromedp.SendKeys(chromedp.ID("reauth-code"), totpCode(t, secret, time.Now())+kb.Enter))
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
	if !slices.Contains(payees, "Corner shop") || len(payees) != 2 {
		t.Errorf("stored payees %q, want Corner shop once beside the opening balance", payees)
	}
	if loc := location(t, ctx); loc != e.url(path) {
		t.Errorf("the page went to %s", loc)
	}
	reauthNoCSPViolations(t, ctx, "the register after the dialog's code")
}
