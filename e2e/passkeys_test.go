package e2e

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"tally/models"
)

// passkeyWatcher runs before the page's scripts: it keeps the body of the last passkey
// sign-in's finish (for the replay), and turns the autofill request off while the tab's
// window.name says so: a button's test must not be won by the autofill, which the virtual
// authenticator answers at once. (Logging out sends Clear-Site-Data, which empties the tab's
// storage but not its name.)
const passkeyWatcher = `(() => {
  if (window.name === 'noAutofill' && window.PublicKeyCredential) {
    PublicKeyCredential.isConditionalMediationAvailable = async () => false;
  }
  const f = window.fetch;
  window.fetch = function (url, opts) {
    if (String(url).endsWith('/passkeys/login/finish') && opts && opts.body) sessionStorage.setItem('lastFinish', opts.body);
    return f.apply(this, arguments);
  };
})();`

// virtualAuthenticator adds a platform authenticator with discoverable credentials that
// verifies its user. Both booleans are set explicitly: their Go zero values would be sent.
func virtualAuthenticator(t *testing.T, ctx context.Context) webauthn.AuthenticatorID {
	t.Helper()
	return addAuthenticator(t, ctx, &webauthn.VirtualAuthenticatorOptions{
		Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21, Transport: webauthn.AuthenticatorTransportInternal,
		HasResidentKey: true, HasUserVerification: true, AutomaticPresenceSimulation: true, IsUserVerified: true,
	})
}

func addAuthenticator(t *testing.T, ctx context.Context, opts *webauthn.VirtualAuthenticatorOptions) webauthn.AuthenticatorID {
	t.Helper()
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	return res.AuthenticatorID
}

// passkeyError is the sentence the sign-in's passkey area shows.
func passkeyError(t *testing.T, ctx context.Context) string {
	t.Helper()
	waitFor(t, ctx, "a passkey error", `() => { const e = document.querySelector('[data-passkey-error]'); return e && !e.hidden && e.textContent !== ''; }`)
	return eval[string](t, ctx, `document.querySelector('[data-passkey-error]').textContent`)
}

// await evaluates a JavaScript expression whose value is a promise, and returns what it resolves to.
func await[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v\n%s", expr, err, pageState(ctx))
	}
	return v
}

// arriveAt waits until the browser shows path: a passkey sign-in navigates from script, and a
// wait started in the page it leaves would never end.
func arriveAt(t *testing.T, ctx context.Context, e *env, path string) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if loc, err := chromedp.Run(ctx, chromedp.Location()); err == nil && loc == e.url(path) {
			do(t, ctx, "wait for "+path, chromedp.WaitReady(chromedp.CSS("main h1")))
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("never arrived at %s\n%s", path, pageState(ctx))
		case <-tick.C:
		}
	}
}

// clickByScript clicks from the page's side: a click that leads to a navigation from script
// would leave chromedp's click waiting on the page that is gone.
func clickByScript(t *testing.T, ctx context.Context, selector string) {
	t.Helper()
	waitFor(t, ctx, "the button "+selector, `s => { const b = document.querySelector(s); return !!b && b.offsetParent !== null; }`, selector)
	do(t, ctx, "click "+selector, chromedp.Evaluate[chromedp.Void](`setTimeout(() => document.querySelector(`+"`"+selector+"`"+`).click())`))
}

func logOut(t *testing.T, ctx context.Context) {
	t.Helper()
	do(t, ctx, "log out",
		chromedp.Click(chromedp.Search(`//nav//button[normalize-space()="Log out"]`)),
		chromedp.WaitVisible(chromedp.ID("login-form")),
	)
}

// TestBrowserPasskeys is issue 26's flow with Chromium's virtual authenticator: add a passkey,
// sign out, sign in with it without a username, and through the username field's autofill; a
// replayed assertion, one made on another origin and one whose counter went backwards are
// refused; once deleted, it signs in no more. No CSP violation on the way.
func TestBrowserPasskeys(t *testing.T) {
	e := startAppAtLocalhost(t)
	ada := e.createUser("ada", "ada@example.com", "Ada", goodPassword)
	ctx := newBrowser(t)
	addPageScript(t, ctx, cspListener)
	addPageScript(t, ctx, htmxWatcher)
	addPageScript(t, ctx, passkeyWatcher)
	auth := virtualAuthenticator(t, ctx)
	noAutofill := func(on bool) {
		do(t, ctx, "set the autofill switch", chromedp.Evaluate[chromedp.Void](map[bool]string{
			true: `window.name = 'noAutofill'`, false: `window.name = ''`}[on]))
	}
	do(t, ctx, "open the site", chromedp.Navigate(e.url("/login")), chromedp.WaitVisible(chromedp.ID("login-form")))
	noAutofill(true)
	logIn(t, e, ctx, "ada", "Ada")

	// A wrong password: its message is on the password field, which takes the focus.
	do(t, ctx, "add a passkey with a wrong password",
		chromedp.Navigate(e.url("/account/security")),
		chromedp.WaitVisible(chromedp.ID("passkey-add-form")),
		fill("passkey-name", "Laptop", "passkey-password", "wrong-"+goodPassword),
		chromedp.Click(chromedp.CSS(`#passkey-add-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("passkey-password-error")),
	)
	if got := eval[string](t, ctx, `(() => { const f = document.getElementById('passkey-password');
		return [document.getElementById('passkey-password-error').textContent, document.activeElement.id, f.getAttribute('aria-invalid'),
			f.getAttribute('aria-describedby'), String(document.getElementById('passkey-add-error').hidden),
			String(document.getElementById('passkey-name').hasAttribute('aria-invalid'))].join('|'); })()`); got != "Your password is not correct.|passkey-password|true|passkey-password-error|true|false" {
		t.Errorf("a wrong password at add: %q", got)
	}

	// Add a passkey: name, password, then the authenticator.
	do(t, ctx, "add a passkey",
		chromedp.Evaluate[chromedp.Void](`document.getElementById('passkey-password').value = ''`),
		fill("passkey-password", goodPassword),
		chromedp.Click(chromedp.CSS(`#passkey-add-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.Search(`//table[@id="passkeys"]//td[normalize-space()="Laptop"]`)),
	)
	var stored models.Passkey
	if err := e.db.Where("user_id = ?", ada.ID).Take(&stored).Error; err != nil || !stored.UserVerified || len(stored.PublicKey) == 0 {
		t.Fatalf("stored passkey %+v, %v", stored, err)
	}
	if m := e.mail.Next(t); !strings.Contains(m.Subject, "passkey was added") {
		t.Errorf("mail %q", m.Subject)
	}
	reauthNoCSPViolations(t, ctx, "the security page")

	// Renaming in place: a blank name comes back from htmx with its error on the field, which
	// keeps the focus; Escape puts the name back; Enter saves a new one.
	nameField := "passkey-name-" + strconv.FormatUint(uint64(stored.ID), 10)
	do(t, ctx, "rename to blanks", chromedp.Evaluate[chromedp.Void](`document.getElementById('`+nameField+`').value = ''`), fill(nameField, "   "+kb.Enter),
		chromedp.WaitVisible(chromedp.ID(nameField+"-error")))
	if got := eval[string](t, ctx, `document.activeElement.id + '|' + document.activeElement.getAttribute('aria-invalid')`); got != nameField+"|true" {
		t.Errorf("after a refused rename the focus is %q", got)
	}
	do(t, ctx, "press Escape", chromedp.KeyEvent(kb.Escape))
	if got := eval[string](t, ctx, `(() => { const f = document.getElementById('`+nameField+`');
		return f.value + '|' + f.hasAttribute('aria-invalid') + '|' + !!document.getElementById('`+nameField+`-error'); })()`); got != "Laptop|false|false" {
		t.Errorf("after Escape the rename field is %q", got)
	}
	do(t, ctx, "rename", chromedp.Evaluate[chromedp.Void](`document.getElementById('`+nameField+`').value = ''`), fill(nameField, "Work laptop"+kb.Enter),
		chromedp.WaitVisible(chromedp.Search(`//table[@id="passkeys"]//input[@value="Work laptop"]`)))
	do(t, ctx, "rename back", chromedp.Evaluate[chromedp.Void](`document.getElementById('`+nameField+`').value = ''`), fill(nameField, "Laptop"+kb.Enter),
		chromedp.WaitVisible(chromedp.Search(`//table[@id="passkeys"]//input[@value="Laptop"]`)))

	// Sign in with the button, no username typed.
	logOut(t, ctx)
	clickByScript(t, ctx, `#login-form button[data-passkey="signin"]`)
	arriveAt(t, ctx, e, "/dashboard")

	// A replayed assertion is refused because its challenge was spent, not merely because the
	// sign-in renewed the session and cleared the ceremony's cookie: the replay carries that
	// cookie as it was before the finish, so only single use can refuse it.
	logOut(t, ctx)
	jsonPost := func(path, body string) string {
		return `fetch('` + path + `', {method: 'POST', headers: {'Content-Type': 'application/json',
			'X-CSRF-Token': JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token']}, body: ` + body + `})`
	}
	finish := await[string](t, ctx, jsonPost("/passkeys/login/begin", `'{"mode":"signin"}'`)+`.then(r => r.json())
		.then(o => navigator.credentials.get({publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(o.publicKey)}))
		.then(c => JSON.stringify({credential: c.toJSON()}))`)
	cookies, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{e.url("/")}})
	if err != nil {
		t.Fatal(err)
	}
	var ceremonyCookie *network.Cookie
	for _, ck := range cookies.Cookies {
		if ck.Name == "tally_passkey" {
			ceremonyCookie = ck
		}
	}
	if ceremonyCookie == nil || !ceremonyCookie.HTTPOnly || ceremonyCookie.SameSite != network.CookieSameSiteStrict {
		t.Fatalf("no HttpOnly, strict ceremony cookie after a begin: %+v", cookies.Cookies)
	}
	if got := await[int](t, ctx, jsonPost("/passkeys/login/finish", "`"+finish+"`")+`.then(r => r.status)`); got != http.StatusOK {
		t.Fatalf("the finish answered %d", got)
	}
	do(t, ctx, "open the dashboard", chromedp.Navigate(e.url("/dashboard")), chromedp.WaitReady(chromedp.CSS("main h1")))
	httpOnly := true
	if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: ceremonyCookie.Name, Value: ceremonyCookie.Value,
		URL: e.url("/"), Path: "/", HTTPOnly: &httpOnly, SameSite: network.CookieSameSiteStrict}); err != nil {
		t.Fatal(err)
	}
	replayed := await[string](t, ctx, jsonPost("/passkeys/login/finish", "`"+finish+"`")+`.then(async r => r.status + ' ' + (await r.json()).error)`)
	if !strings.HasPrefix(replayed, "400 ") || !strings.Contains(replayed, "already used") {
		t.Errorf("a replayed assertion with its ceremony's cookie answered %s", replayed)
	}

	// Sign in through the username field's autofill (conditional mediation).
	logOut(t, ctx)
	noAutofill(false)
	if ac := eval[string](t, ctx, `document.getElementById('login').autocomplete`); ac != "username webauthn" {
		t.Errorf("the username field's autocomplete is %q", ac)
	}
	// The virtual authenticator answers the field's request as soon as the page makes it, as a
	// person picking the offered passkey would: nothing is clicked or typed.
	do(t, ctx, "open the login page with autofill", chromedp.Navigate(e.url("/login")))
	arriveAt(t, ctx, e, "/dashboard")

	// An assertion made on another origin (another port of localhost, the same authenticator).
	noAutofill(true)
	logOut(t, ctx)
	other := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "<!DOCTYPE html><title>elsewhere</title>")
	})}
	oln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = other.Serve(oln) }()
	t.Cleanup(func() { _ = other.Close() })
	do(t, ctx, "reload the login page", chromedp.Navigate(e.url("/login")), chromedp.WaitVisible(chromedp.ID("login-form")))
	options := await[string](t, ctx, `fetch('/passkeys/login/begin', {method: 'POST', headers: {'Content-Type': 'application/json',
		'X-CSRF-Token': JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token']}, body: '{"mode":"signin"}'}).then(r => r.text())`)
	do(t, ctx, "open another origin", chromedp.Navigate("http://localhost:"+portOf(oln)+"/"), chromedp.WaitReady(chromedp.CSS("title")))
	assertion := await[string](t, ctx, `navigator.credentials.get({publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(`+options+`.publicKey)})
		.then(c => JSON.stringify({credential: c.toJSON()}))`)
	// Back to a page of the app without a username field, whose autofill would begin another
	// ceremony (the other origin did not keep the tab's name).
	do(t, ctx, "back", chromedp.Navigate(e.url("/register")), chromedp.WaitVisible(chromedp.ID("register-form")))
	got := await[string](t, ctx, `fetch('/passkeys/login/finish', {method: 'POST', headers: {'Content-Type': 'application/json',
		'X-CSRF-Token': JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token']}, body: `+"`"+assertion+"`"+`}).then(async r => r.status + ' ' + (await r.text()))`)
	if !strings.HasPrefix(got, "403 ") || !strings.Contains(got, "another site") {
		t.Errorf("an assertion from another origin: %s", got)
	}

	// A counter that goes backwards: the same key put back with a lower count.
	noAutofill(true)
	do(t, ctx, "open the login page", chromedp.Navigate(e.url("/login")), chromedp.WaitVisible(chromedp.ID("login-form")))
	creds, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: auth})
	if err != nil || len(creds.Credentials) != 1 {
		t.Fatalf("credentials %v, %v", creds, err)
	}
	cred := creds.Credentials[0]
	if err := e.db.Where("id = ?", stored.ID).Take(&stored).Error; err != nil || stored.SignCount < 2 {
		t.Fatalf("stored count %d, %v", stored.SignCount, err)
	}
	zero := 0.0
	if _, err := chromedp.Call(ctx, webauthn.SetCredentialProperties, webauthn.SetCredentialPropertiesParams{
		AuthenticatorID: auth, CredentialID: cred.CredentialID, SignCount: &zero}); err != nil {
		t.Fatal(err)
	}
	clickByScript(t, ctx, `#login-form button[data-passkey="signin"]`)
	if msg := passkeyError(t, ctx); !strings.Contains(msg, "counter went backwards") {
		t.Errorf("a counter gone backwards said %q", msg)
	}
	var cloned int64
	e.db.Model(&models.SecurityEvent{}).Where("user_id = ? AND kind = ?", ada.ID, models.EventPasskeyCloned).Count(&cloned)
	if cloned != 1 {
		t.Errorf("%d clone events recorded", cloned)
	}

	// Deleted, it signs in no more. The key is put back past the stored counter to sign in;
	// removing it asks for the password.
	ahead := float64(stored.SignCount + 10)
	if _, err := chromedp.Call(ctx, webauthn.SetCredentialProperties, webauthn.SetCredentialPropertiesParams{
		AuthenticatorID: auth, CredentialID: cred.CredentialID, SignCount: &ahead}); err != nil {
		t.Fatal(err)
	}
	clickByScript(t, ctx, `#login-form button[data-passkey="signin"]`)
	arriveAt(t, ctx, e, "/dashboard")
	do(t, ctx, "remove the passkey",
		chromedp.Navigate(e.url("/account/security")),
		chromedp.Click(chromedp.Search(`//table[@id="passkeys"]//summary[normalize-space()="Remove"]`)),
		fill("passkey-remove-password-"+strconv.FormatUint(uint64(stored.ID), 10), goodPassword),
		chromedp.Click(chromedp.Search(`//table[@id="passkeys"]//button[normalize-space()="Remove Laptop"]`)),
		chromedp.WaitVisible(chromedp.ID("passkeys-none")),
	)
	logOut(t, ctx)
	clickByScript(t, ctx, `#login-form button[data-passkey="signin"]`)
	if msg := passkeyError(t, ctx); !strings.Contains(msg, "not registered") {
		t.Errorf("a removed passkey said %q", msg)
	}
	reauthNoCSPViolations(t, ctx, "the login page")
}

func portOf(ln net.Listener) string {
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}
