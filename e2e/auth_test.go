package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"

	"tally/models"
)

var registerSubmit = chromedp.CSS(`#register-form button[type="submit"]`)

// openRegister loads /register and leaves a marker on window: a full page load would lose it,
// an htmx swap in place keeps it.
func openRegister(t *testing.T, e *env, ctx context.Context) {
	t.Helper()
	do(t, ctx, "open /register",
		chromedp.Navigate(e.url("/register")),
		chromedp.WaitVisible(chromedp.ID("register-form")),
		chromedp.Evaluate[chromedp.Void](`window.__marker = 1`),
	)
}

// assertSwappedInPlace checks that the browser did not leave /register or reload it.
func assertSwappedInPlace(t *testing.T, e *env, ctx context.Context) {
	t.Helper()
	if loc := location(t, ctx); loc != e.url("/register") {
		t.Errorf("browser at %s, want it still at /register (the form should swap in place)", loc)
	}
	if m := eval[int](t, ctx, `window.__marker || 0`); m != 1 {
		t.Error("window marker lost: the page was reloaded instead of swapped")
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#register-form").length`); n != 1 {
		t.Errorf("%d elements #register-form, want 1 (outerHTML swap, not nested)", n)
	}
}

func TestBrowserValidationSwap(t *testing.T) {
	e := startApp(t)
	ctx := newBrowser(t)
	openRegister(t, e, ctx)
	do(t, ctx, "submit mismatched passwords",
		fill("username", "grace", "email", "grace@example.com", "first_name", "Grace", "last_name", "Hopper",
			"password", goodPassword, "password_confirm", goodPassword+"!"),
		chromedp.Click(registerSubmit),
		chromedp.WaitVisible(chromedp.CSS(`#password_confirm[aria-invalid="true"]`)),
	)

	assertSwappedInPlace(t, e, ctx)
	invalid := eval[[]string](t, ctx, `[...document.querySelectorAll('[aria-invalid="true"]')].map(el => el.id)`)
	if !slices.Equal(invalid, []string{"password_confirm"}) {
		t.Errorf("invalid fields %q, want only password_confirm", invalid)
	}
	for id, want := range map[string]string{
		"username": "grace", "email": "grace@example.com", "first_name": "Grace", "last_name": "Hopper",
		"password": "", "password_confirm": "",
	} {
		got, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID(id)))
		if err != nil {
			t.Fatalf("value of #%s: %v", id, err)
		}
		if got != want {
			t.Errorf("#%s = %q after the swap, want %q", id, got, want)
		}
	}
	msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("password_confirm-error")))
	if err != nil || strings.TrimSpace(msg) == "" {
		t.Errorf("no error text in #password_confirm-error (%v)", err)
	}
	described, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("password_confirm"), "aria-describedby"))
	if err != nil || !slices.Contains(strings.Fields(described.Value), "password_confirm-error") {
		t.Errorf("#password_confirm aria-describedby = %q, want it to name password_confirm-error (%v)", described.Value, err)
	}

	// htmx moves focus to the [autofocus] field when the swap settles, a moment after the
	// swap itself: wait for it rather than reading it once.
	first := eval[string](t, ctx, `document.querySelector('[aria-invalid="true"]').id`)
	if _, err := chromedp.Run(ctx, chromedp.PollFunction[bool](
		`id => document.activeElement !== null && document.activeElement.id === id`,
		chromedp.WithPollingArgs(first), chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		active := eval[string](t, ctx, `document.activeElement ? document.activeElement.tagName + "#" + document.activeElement.id : "none"`)
		t.Errorf("focus on %s, want it on the first invalid field #%s (%v)", active, first, err)
	}
}

func TestBrowserRegisterSuccessSwap(t *testing.T) {
	e := startApp(t)
	ctx := newBrowser(t)
	openRegister(t, e, ctx)
	do(t, ctx, "submit a valid registration",
		fill("username", "grace", "email", "Grace@Example.com", "first_name", "Grace", "last_name", "Hopper",
			"password", goodPassword, "password_confirm", goodPassword),
		chromedp.Click(registerSubmit),
		chromedp.WaitVisible(chromedp.CSS(`#register-form[role="status"]`)),
	)

	assertSwappedInPlace(t, e, ctx)
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("register-form")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "grace@example.com") {
		t.Errorf("confirmation %q does not name the (normalised) email", text)
	}
	u, err := models.FindUserByLogin(e.db, "grace")
	if err != nil {
		t.Fatalf("user not stored: %v", err)
	}
	if u.Email != "grace@example.com" || u.FirstName != "Grace" {
		t.Errorf("stored user %+v", u)
	}
}

func TestBrowserLoginDashboardLogout(t *testing.T) {
	e := startApp(t)
	e.createUser("ada", "ada@example.com", "Ada", goodPassword)
	ctx := newBrowser(t)
	dashboardH1 := chromedp.Search(`//h1[normalize-space()="Hello, Ada"]`)

	do(t, ctx, "visit /dashboard anonymously",
		chromedp.Navigate(e.url("/dashboard")),
		chromedp.WaitVisible(chromedp.ID("login-form")),
	)
	if loc := location(t, ctx); loc != e.url("/login?next=%2Fdashboard") {
		t.Fatalf("anonymous /dashboard ended at %s, want /login?next=%%2Fdashboard", loc)
	}

	do(t, ctx, "log in",
		fill("login", "ada", "password", goodPassword),
		chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)),
		chromedp.WaitVisible(dashboardH1),
	)
	if loc := location(t, ctx); loc != e.url("/dashboard") {
		t.Errorf("after login at %s, want /dashboard", loc)
	}

	do(t, ctx, "log out",
		chromedp.Click(chromedp.Search(`//nav//button[normalize-space()="Log out"]`)),
		chromedp.WaitVisible(chromedp.Search(`//form[@id="login-form"]//*[normalize-space()="You have been logged out."]`)),
	)
	if loc := location(t, ctx); loc != e.url("/login?logged_out=1") {
		t.Errorf("after logout at %s, want /login?logged_out=1", loc)
	}

	// Back to the dashboard's history entry: the page is no-store and the session is gone, so
	// the browser must ask the server again and be sent to the login page. NavigateBack waits
	// for a load event, which a page restored from the back/forward cache never fires: that
	// timeout, too, means a private page was shown.
	backCtx, cancel := context.WithTimeout(ctx, 8*time.Second)
	defer cancel()
	if err := chromedp.Do(backCtx, chromedp.NavigateBack()); err != nil {
		t.Fatalf("back after logout loaded no page (%v); restored from the back/forward cache?\n%s", err, pageState(ctx))
	}
	do(t, ctx, "the login page replaces the dashboard",
		chromedp.WaitReady(chromedp.CSS(`#login-form input[name="next"][value="/dashboard"]`)),
	)
	if loc := location(t, ctx); loc != e.url("/login?next=%2Fdashboard") {
		t.Errorf("back button after logout shows %s, want /login?next=%%2Fdashboard", loc)
	}
	if shown := eval[bool](t, ctx, `[...document.querySelectorAll("h1")].some(h => h.textContent.includes("Hello, Ada"))`); shown {
		t.Errorf("the dashboard is shown after logout and back:\n%s", pageState(ctx))
	}
}

// TestBrowserSpinnerDuringRequest holds the form's POST inside the browser (the DevTools Fetch
// domain), so the in-flight state is looked at for as long as needed, without timing guesses.
func TestBrowserSpinnerDuringRequest(t *testing.T) {
	e := startApp(t)
	ctx := newBrowser(t)
	openRegister(t, e, ctx)
	spinner := chromedp.CSS(`#register-form button[type="submit"] .spinner`)
	if display := eval[string](t, ctx, `getComputedStyle(document.querySelector('#register-form .spinner')).display`); display != "none" {
		t.Errorf("spinner display %q before any request, want none", display)
	}

	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
		{URLPattern: e.url("/register"), RequestStage: fetch.RequestStageRequest},
	}}); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "fill the form",
		fill("username", "grace", "email", "grace@example.com", "password", goodPassword, "password_confirm", goodPassword))
	held, err := chromedp.Run(ctx, chromedp.WaitEvent(fetch.RequestPaused,
		func(ev fetch.EventRequestPaused) bool { return ev.Request.Method == "POST" },
		chromedp.Click(registerSubmit)))
	if err != nil {
		t.Fatalf("the POST never started: %v\n%s", err, pageState(ctx))
	}

	do(t, ctx, "spinner shows while the request is in flight", chromedp.WaitVisible(spinner))
	if !eval[bool](t, ctx, `document.querySelector('#register-form button[type="submit"]').disabled`) {
		t.Error("submit button enabled during the request: a double click would post twice (hx-disabled-elt)")
	}

	if _, err := chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: held.RequestID}); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "the answer replaces the form",
		chromedp.WaitVisible(chromedp.CSS(`#register-form[role="status"]`)))
}

// TestBrowserRegisterVerifyDashboard is issue 4 end to end: the registration form in the
// browser, the mail the app hands to a real SMTP server, a login refused until the address is
// confirmed, and the mail's link opened in the same browser.
func TestBrowserRegisterVerifyDashboard(t *testing.T) {
	e := startApp(t)
	ctx := newBrowser(t)
	const email = "grace@example.com"
	openRegister(t, e, ctx)
	do(t, ctx, "register",
		fill("username", "grace", "email", email, "first_name", "Grace", "last_name", "Hopper",
			"password", goodPassword, "password_confirm", goodPassword),
		chromedp.Click(registerSubmit),
		chromedp.WaitVisible(chromedp.Search(`//*[@id="register-form"][@role="status"]//h2[normalize-space()="Check your inbox"]`)),
	)
	assertSwappedInPlace(t, e, ctx)

	m := e.mail.Next(t)
	if !slices.Equal(m.Rcpt, []string{email}) || !slices.Equal(m.ToHeader, []string{email}) {
		t.Errorf("mail sent to %q (To header %q), want only %s", m.Rcpt, m.ToHeader, email)
	}
	if want := "Confirm your email address for Tally"; m.Subject != want {
		t.Errorf("mail subject %q, want %q", m.Subject, want)
	}
	prefix := e.url("/verify?token=")
	link := m.Link(t, prefix)
	if link == prefix {
		t.Fatalf("the verification link has an empty token:\n%s", m.Text)
	}
	if !strings.Contains(m.HTML, `href="`+link+`"`) {
		t.Errorf("the HTML part does not link to %s:\n%s", link, m.HTML)
	}

	// The right password before the link is followed: refused, with a way to get a new link.
	do(t, ctx, "log in before confirming",
		chromedp.Navigate(e.url("/login")),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		fill("login", "grace", "password", goodPassword),
		chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("form-error")),
	)
	if msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("form-error"))); err != nil || !strings.Contains(msg, "not confirmed") {
		t.Errorf("login error %q, want it to say the address is not confirmed (%v)", msg, err)
	}
	do(t, ctx, "the resend button is offered",
		chromedp.WaitVisible(chromedp.Search(`//form[@id="login-form"]//button[normalize-space()="Send a new activation link"]`)))
	if loc := location(t, ctx); loc != e.url("/login") {
		t.Errorf("unconfirmed login ended at %s, want to stay at /login", loc)
	}

	do(t, ctx, "follow the verification link to the dashboard",
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.Search(`//h1[normalize-space()="Hello, Grace"]`)),
	)
	do(t, ctx, "the dashboard confirms the address",
		chromedp.WaitVisible(chromedp.Search(`//*[@id="alerts"]//*[contains(normalize-space(), "Your email address is confirmed")]`)))
	if loc := location(t, ctx); loc != e.url("/dashboard") {
		t.Errorf("after the verification link at %s, want /dashboard", loc)
	}
}
