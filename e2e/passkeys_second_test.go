package e2e

import (
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"gorm.io/gorm"

	"tally/models"
)

// TestBrowserPasskeyWithoutVerification: a security key that proves presence only (no PIN,
// no fingerprint) is refused alone on the login page, with a sentence and no session; after
// the right password it is the second step, next to the code of an account with two-factor
// on, and alone for an account whose only second factor it is. The security page's passkeys
// fit a phone's width.
func TestBrowserPasskeyWithoutVerification(t *testing.T) {
	e := startAppAtLocalhost(t)
	ada := e.createUser("ada", "ada@example.com", "Ada", goodPassword)
	ctx := newBrowser(t)
	addPageScript(t, ctx, cspListener)
	addPageScript(t, ctx, htmxWatcher)
	addPageScript(t, ctx, passkeyWatcher)
	// Set explicitly: a key without user verification, whose presence is simulated at once.
	addAuthenticator(t, ctx, &webauthn.VirtualAuthenticatorOptions{
		Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21, Transport: webauthn.AuthenticatorTransportInternal,
		HasResidentKey: true, HasUserVerification: false, IsUserVerified: false, AutomaticPresenceSimulation: true,
	})
	do(t, ctx, "open the site", chromedp.Navigate(e.url("/login")), chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.Evaluate[chromedp.Void](`window.name = 'noAutofill'`))
	logIn(t, e, ctx, "ada", "Ada")
	do(t, ctx, "add the key",
		chromedp.Navigate(e.url("/account/security")),
		chromedp.WaitVisible(chromedp.ID("passkey-add-form")),
		fill("passkey-name", "Blue key", "passkey-password", goodPassword),
		chromedp.Click(chromedp.CSS(`#passkey-add-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.Search(`//table[@id="passkeys"]//td[normalize-space()="Blue key"]`)),
	)
	var stored models.Passkey
	if err := e.db.Where("user_id = ?", ada.ID).Take(&stored).Error; err != nil || stored.UserVerified {
		t.Fatalf("stored passkey %+v, %v", stored, err)
	}

	// At phone width the list, the rename form and the opened removal form fit the screen.
	do(t, ctx, "emulate a 375x740 phone", chromedp.EmulateViewport(375, 740, chromedp.EmulateMobile))
	do(t, ctx, "open the removal form",
		chromedp.Navigate(e.url("/account/security")),
		chromedp.Click(chromedp.Search(`//table[@id="passkeys"]//summary[normalize-space()="Remove"]`)),
		chromedp.WaitVisible(chromedp.ID("passkey-remove-password-"+strconv.FormatUint(uint64(stored.ID), 10))),
	)
	if over := eval[[]string](t, ctx, `[...document.querySelectorAll('#passkeys, #passkeys input, #passkeys button, #passkeys summary, #passkey-add-form')]
		.filter(el => { const r = el.getBoundingClientRect(); return r.right > window.innerWidth + 0.5 || r.left < -0.5; })
		.map(el => el.tagName + '#' + el.id)`); len(over) != 0 || eval[bool](t, ctx, `document.documentElement.scrollWidth > window.innerWidth`) {
		t.Errorf("at 375 px wide the page scrolls sideways; past the edge: %q", over)
	}
	do(t, ctx, "back to a desktop", chromedp.EmulateViewport(1280, 900))

	// Two-factor on, straight in the database (its enrolment is TestBrowserTwoFactor's).
	keys, err := models.NewTwoFactorKeys([]byte(strings.Repeat("s", 40)))
	if err != nil {
		t.Fatal(err)
	}
	secret, err := models.NewTOTPSecret()
	if err != nil {
		t.Fatal(err)
	}
	if err := models.Transaction(e.db, func(tx *gorm.DB) error {
		return models.EnableTwoFactor(tx, keys, ada, secret, 0, models.NewRecoveryCodes(), time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	logOut(t, ctx)

	// Alone, it is refused with a sentence, and nobody is signed in. Chromium does not even
	// offer a key without verification to the button's request (no credential named): the
	// page shows the browser's refusal. Named in the request, the key answers, and Tally
	// refuses that answer.
	clickByScript(t, ctx, `#login-form button[data-passkey="signin"]`)
	if msg := passkeyError(t, ctx); msg == "" {
		t.Error("the button's refusal shows no sentence")
	}
	got := await[string](t, ctx, `(async () => {
		const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token'];
		const post = (url, body) => fetch(url, {method: 'POST', headers: {'Content-Type': 'application/json', 'X-CSRF-Token': token}, body});
		const opts = (await (await post('/passkeys/login/begin', '{"mode":"signin"}')).json()).publicKey;
		opts.allowCredentials = [{type: 'public-key', id: '`+base64.RawURLEncoding.EncodeToString(stored.CredentialID)+`'}];
		const cred = await navigator.credentials.get({publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(opts)});
		const r = await post('/passkeys/login/finish', JSON.stringify({credential: cred.toJSON()}));
		return r.status + ' ' + (await r.text());
	})()`)
	if !strings.HasPrefix(got, "403 ") || !strings.Contains(got, "cannot sign in alone") {
		t.Errorf("the key alone: %s", got)
	}
	do(t, ctx, "try the dashboard", chromedp.Navigate(e.url("/dashboard")), chromedp.WaitVisible(chromedp.ID("login-form")))
	if loc := location(t, ctx); !strings.HasPrefix(loc, e.url("/login")) {
		t.Errorf("after the refused key, /dashboard is at %s", loc)
	}

	// After the password, the code step offers it and it signs in.
	passwordStep := func() {
		t.Helper()
		do(t, ctx, "type the password",
			chromedp.Navigate(e.url("/login")),
			chromedp.WaitVisible(chromedp.ID("login-form")),
			fill("login", "ada", "password", goodPassword),
			chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.ID("login-code-form")),
		)
	}
	passwordStep()
	if eval[int](t, ctx, `document.querySelectorAll('#login-code-form input[name="code"]').length`) != 1 {
		t.Error("the code step of an account with an app asks for no code")
	}
	clickByScript(t, ctx, `#login-code-form button[data-passkey="second"]`)
	arriveAt(t, ctx, e, "/dashboard")

	// With the app off, the key is the account's second factor: the step asks for it alone.
	if err := models.Transaction(e.db, func(tx *gorm.DB) error { _, err := models.DisableTwoFactor(tx, ada.ID); return err }); err != nil {
		t.Fatal(err)
	}
	logOut(t, ctx)
	passwordStep()
	if eval[int](t, ctx, `document.querySelectorAll('#login-code-form input[name="code"]').length`) != 0 ||
		eval[int](t, ctx, `document.querySelectorAll('#passkey-step').length`) != 1 {
		t.Error("the second step of an account with a passkey only does not ask for the passkey alone")
	}
	clickByScript(t, ctx, `#login-code-form button[data-passkey="second"]`)
	arriveAt(t, ctx, e, "/dashboard")
	reauthNoCSPViolations(t, ctx, "signed in with a key as the second step")
}
