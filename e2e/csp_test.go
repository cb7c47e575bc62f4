package e2e

import (
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// cspListener runs in every document before the page's own scripts (DevTools injects it, so
// the CSP does not apply to it) and records each violation the page causes. __cspListening
// proves it ran: without it an empty list would prove nothing.
const cspListener = `window.__cspListening = true;
document.addEventListener('securitypolicyviolation',
	e => (window.__csp = window.__csp || []).push(e.violatedDirective + ' ' + e.blockedURI));`

func TestBrowserNoCSPViolations(t *testing.T) {
	e := startApp(t)
	e.createUser("ada", "ada@example.com", "Ada", goodPassword)
	ctx := newBrowser(t)
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: cspListener}); err != nil {
		t.Fatal(err)
	}
	addPageScript(t, ctx, htmxWatcher)

	// One browser walks through the pages in order; each step is checked where it ends.
	for _, step := range []struct {
		name   string
		action chromedp.Action[chromedp.Void]
	}{
		{"register page", chromedp.Steps(
			chromedp.Navigate(e.url("/register")),
			chromedp.WaitVisible(chromedp.ID("register-form")),
		)},
		{"login page", chromedp.Steps(
			chromedp.Navigate(e.url("/login")),
			chromedp.WaitVisible(chromedp.ID("login-form")),
		)},
		{"failed login swapped in by htmx", chromedp.Steps(
			fill("login", "ada", "password", "not-"+goodPassword),
			chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.ID("form-error")),
			// The swapped form's [autofocus] takes the focus when the swap settles: typing
			// before that would lose keys to the login field.
			chromedp.Poll[chromedp.Void](`window.__settled > 0`),
		)},
		{"dashboard after login", chromedp.Steps(
			fill("password", goodPassword),
			chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.Search(`//h1[normalize-space()="Hello, Ada"]`)),
		)},
	} {
		do(t, ctx, step.name, step.action,
			// Violation events are dispatched as tasks: let those already queued run first.
			chromedp.Evaluate[chromedp.Void](`new Promise(resolve => setTimeout(resolve))`, chromedp.EvalAwaitPromise))
		if !eval[bool](t, ctx, `window.__cspListening === true`) {
			t.Fatalf("%s: the violation listener is not installed in this document", step.name)
		}
		if v := eval[[]string](t, ctx, `window.__csp || []`); len(v) > 0 {
			t.Errorf("%s: CSP violations: %q", step.name, v)
		}
		if !eval[bool](t, ctx, `typeof htmx === 'object'`) {
			t.Errorf("%s: htmx did not load", step.name)
		}
	}
}
